"""How long a catchment takes to settle after a change (a prepend, a withdrawal, a failure).

`Settling` follows a sequence of snapshots — client and family → the site that answered, None
for no answer — taken every few milliseconds from a moment `since` (when the change was made):
it records every change, and counts the catchment as settled once no client has moved for
`quiet` seconds. The settle time is the moment of the last change, after `since`; a client that
moved back and forth on the way shows in `changes` (BGP's path hunting, seen from the clients).

`wait_until_settled` takes the snapshots from a running lab: DNS alone, one query per client
and family, all at once (milliseconds a snapshot). A change is dated by the snapshot that saw
it: the settle time is known to within the interval between snapshots.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from ..lab import Lab
from ..topology import Family
from .measure import measure
from .model import Catchment

Snapshot = Mapping[tuple[str, Family], str | None]  # (client, family) -> site


@dataclass(frozen=True)
class Change:
    """A client served by another site (None: unanswered) from `at` seconds after `since`."""

    at: float
    client: str
    family: Family
    before: str | None
    after: str | None


@dataclass(frozen=True)
class Settled:
    """What happened from `since` until the catchment settled (or the wait ended)."""

    settled: bool  # False: still changing when the wait ended
    settle_time: float  # seconds from `since` to the last change (0: nothing changed)
    changes: tuple[Change, ...]
    final: Mapping[tuple[str, Family], str | None]
    snapshots: int

    def moved(self) -> dict[tuple[str, Family], tuple[str | None, str | None]]:
        """Each client that ended at another site than it started at: (first, last)."""
        first: dict[tuple[str, Family], str | None] = {}
        for change in self.changes:
            first.setdefault((change.client, change.family), change.before)
        return {
            key: (before, self.final.get(key))
            for key, before in first.items()
            if before != self.final.get(key)
        }


class Settling:
    """Snapshots in, changes and the settle time out (no I/O, no clock of its own)."""

    def __init__(self, start: Snapshot, *, since: float, quiet: float) -> None:
        self.since = since
        self.quiet = quiet
        self._current = dict(start)
        self._changes: list[Change] = []
        self._last_change = since
        self._snapshots = 0

    def observe(self, snapshot: Snapshot, *, now: float) -> None:
        """A snapshot taken at `now`; a client missing from it is unchanged."""
        self._snapshots += 1
        for key, site in snapshot.items():
            known, before = key in self._current, self._current.get(key)
            self._current[key] = site
            if known and before != site:
                client, family = key
                self._changes.append(Change(now - self.since, client, family, before, site))
                self._last_change = now

    def settled(self, *, now: float) -> bool:
        """Whether no client has moved for `quiet` seconds."""
        return now - self._last_change >= self.quiet

    def result(self, *, now: float) -> Settled:
        return Settled(
            settled=self.settled(now=now),
            settle_time=self._last_change - self.since,
            changes=tuple(self._changes),
            final=dict(self._current),
            snapshots=self._snapshots,
        )


def snapshot(catchment: Catchment) -> dict[tuple[str, Family], str | None]:
    """(client, family) → site of a measured catchment."""
    return {(entry.client, entry.family): entry.site for entry in catchment.clients}


def wait_until_settled(
    lab: Lab,
    start: Snapshot,
    *,
    since: float,
    quiet: float = 1.0,
    timeout: float = 30.0,
    interval: float = 0.02,
    query_timeout: float = 0.2,
) -> Settled:
    """Take DNS snapshots of `lab` every `interval` seconds until no client has moved for
    `quiet` seconds (or `timeout` seconds after `since` have passed). `since` is a
    `time.monotonic()` moment, `start` the catchment before it (`snapshot(measure(lab))`)."""
    settling = Settling(start, since=since, quiet=quiet)
    while True:
        taken = time.monotonic()
        quick = measure(
            lab, verfploeter=False, paths=False, rounds=1, timeout=query_timeout, spacing=0.0
        )
        settling.observe(snapshot(quick), now=taken)
        now = time.monotonic()
        if settling.settled(now=now) or now - since >= timeout:
            return settling.result(now=now)
        time.sleep(max(0.0, taken + interval - now))
