"""What a client saw during one failure, computed from its probe's records (pure functions).

The failure is made at `t0` (wall clock). A query sent less than one probe timeout before `t0`
may have been lost to it, so the window starts there. In the window:

- **lost**: the queries no server answered (within the probe's timeout);
- **outage**: from the first lost query's send time to the send time of the first answered
  query after the last lost one — every loss of the window is inside it; 0 when none was lost;
  when no answer came after the last loss the client had not recovered by the end of the window,
  and the outage is at least the time from the first loss to the last query;
- **moved**: the first answer from a server other than the client's usual one, after `t0`;
- **site after**: the server of the last answer in the window: where the client ended up.

The routers' convergence is read from `ip -timestamp monitor route` in the router's namespace:
the first change of its kernel route to the anycast address after `t0` (zebra installs the route
once bgpd's best path changed, so this is when the router forwards elsewhere).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from .probe import ProbeRecord


@dataclass(frozen=True)
class ClientOutcome:
    """One client's view of one failure (times in ms since the failure was made)."""

    client: str
    queries: int
    lost: int
    outage_ms: float  # 0: nothing lost; a lower bound when not recovered
    recovered: bool
    first_lost_ms: float | None
    moved_ms: float | None  # first answer from another server than `home`
    home: str | None = None  # the server that answered it before the failure
    site_after: str | None = None  # the server of the last answer (None: not recovered)

    def to_json(self) -> dict[str, object]:
        return {
            "client": self.client,
            "home": self.home,
            "site_after": self.site_after,
            "queries": self.queries,
            "lost": self.lost,
            "outage_ms": round(self.outage_ms, 1),
            "recovered": self.recovered,
            "first_lost_ms": _ms(self.first_lost_ms),
            "moved_ms": _ms(self.moved_ms),
        }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def client_outcome(
    client: str, records: Sequence[ProbeRecord], t0: float, home: str, timeout: float
) -> ClientOutcome:
    """What `client`, normally served by `home`, saw of a failure made at `t0`."""
    window = sorted((r for r in records if r.sent >= t0 - timeout), key=lambda r: r.seq)
    lost = [r for r in window if not r.answered]
    moved = next((r for r in window if r.sent >= t0 and r.answered and r.server != home), None)
    moved_ms = None if moved is None else (moved.sent - t0) * 1000
    answered = [r for r in window if r.answered]
    site_after = answered[-1].server if answered else None
    if not lost:
        return ClientOutcome(client, len(window), 0, 0.0, True, None, moved_ms, home, site_after)
    first, last = lost[0], lost[-1]
    answer = next((r for r in window if r.answered and r.seq > last.seq), None)
    end = answer.sent if answer is not None else window[-1].sent
    return ClientOutcome(
        client=client,
        queries=len(window),
        lost=len(lost),
        outage_ms=(end - first.sent) * 1000,
        recovered=answer is not None,
        first_lost_ms=(first.sent - t0) * 1000,
        moved_ms=moved_ms,
        home=home,
        site_after=site_after if answer is not None else None,
    )


def route_changes(monitor_output: str, address: str) -> list[float]:
    """Wall-clock times of the changes to the route to `address` in `ip -ts monitor route`
    output (lines like `[2026-11-27T15:47:08.266957] 169.254.0.1 nhid 19 via ...`; a removal
    reads `... Deleted 169.254.0.1 ...`)."""
    times = []
    for line in monitor_output.splitlines():
        if not line.startswith("["):
            continue
        stamp, _, rest = line[1:].partition("] ")
        words = rest.split()
        if words[:1] == ["Deleted"]:
            words = words[1:]
        if words[:1] not in ([address], [f"{address}/32"]):
            continue
        try:
            times.append(datetime.fromisoformat(stamp).timestamp())  # local time, as ip prints
        except ValueError:
            continue
    return times


def first_change_ms(changes: Iterable[float], t0: float) -> float | None:
    """Milliseconds from `t0` to the first change at or after it (None: no change)."""
    after = [change for change in changes if change >= t0]
    return (min(after) - t0) * 1000 if after else None
