"""`python -m lab te SITE ACTION`: one traffic-engineering action, with the catchment measured
before and after it and the time the clients took to settle.

    before     the catchment by both methods (DNS and Verfploeter) and every router's path
    t0         the action is carried out (`lab.te.change`)
    settling   DNS snapshots every 20 ms from t0 until no client has moved for `quiet` seconds
               (`lab.catchment.settle`): every change on the way, and the last one's time
    after      the catchment by both methods again
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from ..catchment import Catchment, SelectedPath, measure
from ..catchment.settle import Settled, snapshot, wait_until_settled
from ..lab import Lab
from .action import SiteAnnouncement, TeAction
from .change import change

QUIET = 1.0  # seconds without a client moving before the catchment counts as settled
TIMEOUT = 60.0  # seconds to wait for that at most


@dataclass(frozen=True)
class TeResult:
    """One action on one site and what it did to the catchment."""

    site: str
    action: TeAction
    announced_before: SiteAnnouncement
    announced_after: SiteAnnouncement
    changed_in: float  # seconds the speaker took to accept the change
    before: Catchment
    after: Catchment
    settled: Settled
    quiet: float  # seconds without a move that made the catchment count as settled

    @property
    def ok(self) -> bool:
        """The catchment settled, and both methods agree on every client afterwards."""
        return self.settled.settled and self.after.agree

    def paths_changed(self) -> list[tuple[str, int]]:
        """(router, family) of every router whose selected path changed."""
        return [
            key
            for key, path in self.after.paths.items()
            if _path_text(path) != _path_text(self.before.paths.get(key))
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "action": str(self.action),
            "announced_before": _announced_json(self.announced_before),
            "announced_after": _announced_json(self.announced_after),
            "changed_in_s": round(self.changed_in, 3),
            "settled": self.settled.settled,
            "settle_time_s": round(self.settled.settle_time, 3),
            "quiet_s": self.quiet,
            "snapshots": self.settled.snapshots,
            "changes": [
                {
                    "at_s": round(change.at, 3),
                    "client": change.client,
                    "family": f"ipv{change.family}",
                    "before": change.before,
                    "after": change.after,
                }
                for change in self.settled.changes
            ],
            "moved": [
                {"client": client, "family": f"ipv{family}", "before": first, "after": last}
                for (client, family), (first, last) in self.settled.moved().items()
            ],
            "paths_changed": [f"{router} ipv{family}" for router, family in self.paths_changed()],
            "before": self.before.to_json(),
            "after": self.after.to_json(),
        }


def _announced_json(announced: SiteAnnouncement) -> dict[str, Any]:
    a = announced.announcement
    return {**asdict(a), "communities": list(a.all_communities()), "withdrawn": announced.withdrawn}


def _path_text(path: SelectedPath | None) -> str | None:
    return None if path is None else f"{path.as_path} ({path.site})"


def run_te(
    lab: Lab, site: str, action: TeAction, *, quiet: float = QUIET, timeout: float = TIMEOUT
) -> TeResult:
    """Measure the catchment, carry out `action` on `site`, wait until the clients settle,
    measure again."""
    before = measure(lab)
    t0 = time.monotonic()
    announced_before, announced_after = change(lab, site, action)
    changed_in = time.monotonic() - t0
    settled = wait_until_settled(lab, snapshot(before), since=t0, quiet=quiet, timeout=timeout)
    after = measure(lab)
    return TeResult(
        site, action, announced_before, announced_after, changed_in, before, after, settled, quiet
    )
