"""Graceful drain (RFC 8326): move traffic away from a server before its routes go.

A drain takes the routes it covers through two phases:

1. **graceful shutdown** — each route is announced again with the GRACEFUL_SHUTDOWN community
   65535:0 (RFC 8326 §3) added, and to internal peers with LOCAL_PREF 0 (RFC 8326 §4). A router
   that honours the community (an import policy lowering LOCAL_PREF for it, RFC 8326 §4.1)
   prefers another server's path while ours still works: traffic moves with nothing lost.
2. **withdrawn** — after `drain_time` seconds (or at once, when told to stop waiting) the routes
   are withdrawn.

`Drains` is a sans-I/O core like the protocol ones: it is given the current time and says when
its next timer is due (`get_timer()`, `handle_timer(now=)`); the speaker asks it what each peer
should be sent (`apply(peer, routes)`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from minibgp.adj_rib_out import Route
from minibgp.wire.nlri import IPAddress, Prefix

GRACEFUL_SHUTDOWN = 0xFFFF0000  # RFC 8326 §3: the well-known community 65535:0
GRACEFUL_SHUTDOWN_LOCAL_PREF = 0  # RFC 8326 §4: the lowest preference, for internal peers


class DrainPhase(enum.Enum):
    GRACEFUL_SHUTDOWN = "graceful-shutdown"  # announced with 65535:0, waiting for traffic to move
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class DrainScope:
    """Which routes a drain covers: some prefixes and/or some peers; None means all."""

    prefixes: frozenset[Prefix] | None = None
    peers: frozenset[IPAddress] | None = None

    def covers(self, peer: IPAddress, prefix: Prefix) -> bool:
        return (self.prefixes is None or prefix in self.prefixes) and (
            self.peers is None or peer in self.peers
        )

    def to_json(self) -> dict[str, list[str] | None]:
        return {
            "prefixes": None if self.prefixes is None else sorted(map(str, self.prefixes)),
            "peers": None if self.peers is None else sorted(map(str, self.peers)),
        }


def graceful_shutdown_route(route: Route) -> Route:
    """`route` as a drain announces it: with 65535:0 added and LOCAL_PREF 0 (sent to internal
    peers only, RFC 4271 §5.1.5)."""
    communities = route.communities
    if GRACEFUL_SHUTDOWN not in communities:
        communities = (*communities, GRACEFUL_SHUTDOWN)
    return replace(route, communities=communities, local_pref=GRACEFUL_SHUTDOWN_LOCAL_PREF)


class Drain:
    """One drain: its scope, and when it moves from graceful shutdown to withdrawn."""

    def __init__(self, scope: DrainScope, drain_time: float, *, now: float) -> None:
        self.scope = scope
        self.started = now
        self.deadline = now + drain_time
        self.phase = DrainPhase.GRACEFUL_SHUTDOWN
        self.withdrawn_at: float | None = None

    def withdraw(self, *, now: float) -> None:
        if self.phase is DrainPhase.GRACEFUL_SHUTDOWN:
            self.phase = DrainPhase.WITHDRAWN
            self.withdrawn_at = now

    def to_json(self, *, now: float) -> dict[str, Any]:
        return {
            **self.scope.to_json(),
            "phase": self.phase.value,
            "drain_time": round(self.deadline - self.started, 3),
            "seconds_since_start": round(now - self.started, 3),
            "withdraw_in": (
                round(max(0.0, self.deadline - now), 3)
                if self.phase is DrainPhase.GRACEFUL_SHUTDOWN
                else None
            ),
        }


class Drains:
    """The drains in force, and what each peer is sent because of them."""

    def __init__(self) -> None:
        self.drains: list[Drain] = []

    def __bool__(self) -> bool:
        return bool(self.drains)

    def start(self, scope: DrainScope, drain_time: float, *, now: float) -> Drain:
        """Begin a drain; with `drain_time` 0 its routes are withdrawn at once."""
        drain = Drain(scope, drain_time, now=now)
        if drain_time <= 0:
            drain.withdraw(now=now)
        self.drains.append(drain)
        return drain

    def clear(self) -> None:
        """End every drain (undrain): the routes are announced normally again."""
        self.drains.clear()

    def get_timer(self) -> float | None:
        """When the next drain in graceful shutdown is due to withdraw, if any."""
        return min(
            (d.deadline for d in self.drains if d.phase is DrainPhase.GRACEFUL_SHUTDOWN),
            default=None,
        )

    def handle_timer(self, *, now: float) -> bool:
        """Withdraw the drains whose time is up; True if any did."""
        due = [
            d for d in self.drains if d.phase is DrainPhase.GRACEFUL_SHUTDOWN and now >= d.deadline
        ]
        for drain in due:
            drain.withdraw(now=now)
        return bool(due)

    def skip_wait(self, *, now: float) -> bool:
        """Withdraw every drain now, without waiting for its time; True if any changed."""
        waiting = [d for d in self.drains if d.phase is DrainPhase.GRACEFUL_SHUTDOWN]
        for drain in waiting:
            drain.withdraw(now=now)
        return bool(waiting)

    def phase(self, peer: IPAddress, prefix: Prefix) -> DrainPhase | None:
        """The furthest phase of the drains covering `prefix` to `peer` (None: not drained)."""
        phases = {d.phase for d in self.drains if d.scope.covers(peer, prefix)}
        if DrainPhase.WITHDRAWN in phases:
            return DrainPhase.WITHDRAWN
        return DrainPhase.GRACEFUL_SHUTDOWN if phases else None

    def apply(self, peer: IPAddress, routes: Iterable[Route]) -> list[Route]:
        """`routes` as `peer` should have them: drained ones marked or left out."""
        result = []
        for route in routes:
            phase = self.phase(peer, route.prefix)
            if phase is None:
                result.append(route)
            elif phase is DrainPhase.GRACEFUL_SHUTDOWN:
                result.append(graceful_shutdown_route(route))
        return result

    def to_json(self, *, now: float) -> list[dict[str, Any]]:
        return [d.to_json(now=now) for d in self.drains]
