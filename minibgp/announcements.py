"""What the speaker announces to each peer, and why a prefix is or is not announced.

The `[[announce]]` tables of the config are the announcements; the control socket changes them
while the speaker runs (`python -m minibgp announce|withdraw|restore`): a runtime change adds a
prefix, changes a prefix's attributes, or withdraws it. Runtime changes last until the speaker
stops or `restore` undoes them, and a SIGHUP keeps them: the config says what the speaker
announces when it starts, the runtime changes what an operator (or a traffic-engineering script)
decided since. A prefix with health checks — in the config — is announced only while all of them
pass, whatever a runtime change says; drains (minibgp.drain) mark routes with GRACEFUL_SHUTDOWN
or withdraw them, runtime ones too.

`Announcements.routes_for(peer, drains)` puts it together into the `Route`s a peer is to be
sent; the peer's Adj-RIB-Out sends only the difference.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final

from minibgp.adj_rib_out import MAX_AS_PATH_PREPEND, Route
from minibgp.config import AnnounceConfig, PeerConfig
from minibgp.drain import DrainPhase, Drains
from minibgp.wire.nlri import IPAddress, Prefix


class _Keep(Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP  # an attribute a change leaves as it is


@dataclass(frozen=True)
class Change:
    """What a runtime `announce` changes; the rest stays as it is (KEEP)."""

    as_path_prepend: int | _Keep = KEEP
    med: int | _Keep | None = KEEP  # None: no MED
    communities: tuple[int, ...] | _Keep = KEEP
    large_communities: tuple[tuple[int, int, int], ...] | _Keep = KEEP
    next_hop: IPAddress | _Keep | None = KEEP  # None: next-hop self (or the peer's next_hop)
    peers: tuple[IPAddress, ...] | _Keep | None = KEEP  # None: every peer

    def apply(self, announcement: AnnounceConfig) -> AnnounceConfig:
        changes = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not KEEP
        }
        return dataclasses.replace(announcement, **changes)


class PrefixState(Enum):
    """Whether a prefix is announced, and if not, what keeps it back."""

    ANNOUNCED = "announced"
    GRACEFUL_SHUTDOWN = "graceful_shutdown"  # drained: announced with 65535:0 (RFC 8326)
    DRAINED = "drained"  # drained: withdrawn
    HELD_BACK = "held_back"  # a health check fails
    WITHDRAWN = "withdrawn"  # withdrawn at runtime
    NOT_ANNOUNCED = "not_announced"  # no announcement of it at all


class Source(Enum):
    """Where an announcement comes from."""

    CONFIG = "config"  # as the config says
    CHANGED = "config, changed at runtime"
    RUNTIME = "runtime"  # added at runtime
    WITHDRAWN = "config, withdrawn at runtime"


def route_to(peer: PeerConfig, announcement: AnnounceConfig) -> Route:
    """`announcement` as a route to `peer`, with the next hop it gets there.

    The announcement's own next hop wins; else the peer's `next_hop` if it fits the prefix's
    family (an IPv4 next hop also serves IPv6 prefixes, as ::ffff:a.b.c.d); else next-hop self.
    """
    next_hop, prefix = announcement.next_hop, announcement.prefix
    if next_hop is None and peer.next_hop is not None and peer.next_hop.version <= prefix.version:
        next_hop = peer.next_hop
    return Route(
        prefix=announcement.prefix,
        next_hop=next_hop,
        communities=announcement.communities,
        large_communities=announcement.large_communities,
        med=announcement.med,
        as_path_prepend=announcement.as_path_prepend,
    )


def routes_for(peer: PeerConfig, announcements: Iterable[AnnounceConfig]) -> list[Route]:
    """The routes of `announcements` that go to `peer`."""
    return [route_to(peer, a) for a in announcements if a.applies_to(peer.address)]


class Announcements:
    """The speaker's announcements: the config's, the runtime changes, the health of checks."""

    def __init__(self, configured: Sequence[AnnounceConfig], peers: Iterable[IPAddress] = ()):
        self.configured = {a.prefix: a for a in configured}
        self.peers = frozenset(peers)  # the configured peers
        # Runtime changes by prefix: the announcement to make instead of the config's, or None
        # for a configured prefix withdrawn at runtime.
        self.runtime: dict[Prefix, AnnounceConfig | None] = {}
        self.healthy: set[Prefix] = set()  # prefixes whose checks all pass

    def reconfigure(self, configured: Sequence[AnnounceConfig], peers: Iterable[IPAddress]) -> None:
        """The config was reloaded: runtime changes and the health already known are kept."""
        self.configured = {a.prefix: a for a in configured}
        self.peers = frozenset(peers)
        for prefix, announcement in list(self.runtime.items()):
            if announcement is None and prefix not in self.configured:
                del self.runtime[prefix]  # withdrawn at runtime, and now gone from the config

    # -- runtime changes (python -m minibgp announce | withdraw | restore) -----------------------

    def announce(self, prefix: Prefix, change: Change) -> AnnounceConfig:
        """Announce `prefix`, with `change` made to what it is announced with now (or, new or
        withdrawn, to what the config says, or to no attributes at all); ValueError if the
        result cannot be announced."""
        base = self.runtime.get(prefix) or self.configured.get(prefix) or AnnounceConfig(prefix)
        announcement = dataclasses.replace(change.apply(base), checks=())
        _check(announcement, self.peers)
        self.runtime[prefix] = announcement
        return announcement

    def withdraw(self, prefix: Prefix) -> None:
        """Stop announcing `prefix` (until `announce` or `restore`); ValueError if it is not."""
        if self.source(prefix) in (None, Source.WITHDRAWN):
            raise ValueError(f"{prefix} is not announced")
        if prefix in self.configured:
            self.runtime[prefix] = None
        else:
            del self.runtime[prefix]

    def restore(self, prefix: Prefix) -> None:
        """Undo the runtime changes of `prefix`: as the config says (or, not in the config,
        withdrawn); ValueError if there are none."""
        if prefix not in self.runtime:
            raise ValueError(f"{prefix} has no runtime change to undo")
        del self.runtime[prefix]

    # -- health checks ---------------------------------------------------------------------------

    def set_health(self, prefix: Prefix, up: bool) -> None:
        """Every check of `prefix` passes (`up`), or one fails."""
        if up:
            self.healthy.add(prefix)
        else:
            self.healthy.discard(prefix)

    # -- what is announced -----------------------------------------------------------------------

    def source(self, prefix: Prefix) -> Source | None:
        """Where the announcement of `prefix` comes from; None: there is none."""
        if prefix in self.runtime:
            if self.runtime[prefix] is None:
                return Source.WITHDRAWN
            return Source.CHANGED if prefix in self.configured else Source.RUNTIME
        return Source.CONFIG if prefix in self.configured else None

    def announcements(self) -> list[AnnounceConfig]:
        """Every announcement in force (health and drains aside), the config's checks kept."""
        result = []
        for prefix in {**self.configured, **self.runtime}:
            announcement = self.runtime.get(prefix, self.configured.get(prefix))
            if announcement is not None:
                checks = self.configured[prefix].checks if prefix in self.configured else ()
                result.append(dataclasses.replace(announcement, checks=checks))
        return result

    def announced(self, prefix: Prefix) -> bool:
        """Whether `prefix` is one of the announcements in force (live or held back)."""
        return self.source(prefix) not in (None, Source.WITHDRAWN)

    def live(self) -> list[AnnounceConfig]:
        """The announcements to make now: those without checks, or whose checks pass."""
        return [a for a in self.announcements() if not a.checks or a.prefix in self.healthy]

    def routes_for(self, peer: PeerConfig, drains: Drains) -> list[Route]:
        """What `peer` is to be sent now: the live announcements, as the drains leave them."""
        return drains.apply(peer.address, routes_for(peer, self.live()))

    def prefix_state(self, prefix: Prefix, drains: Drains) -> PrefixState:
        """Whether `prefix` is announced, or what keeps it back (a drain of it to any peer
        counts)."""
        if prefix in self.runtime:
            if self.runtime[prefix] is None:
                return PrefixState.WITHDRAWN
        elif prefix not in self.configured:
            return PrefixState.NOT_ANNOUNCED
        configured = self.configured.get(prefix)
        if configured is not None and configured.checks and prefix not in self.healthy:
            return PrefixState.HELD_BACK
        if drains:
            phases = {drains.phase(peer, prefix) for peer in self.peers}
            if DrainPhase.WITHDRAWN in phases:
                return PrefixState.DRAINED
            if DrainPhase.GRACEFUL_SHUTDOWN in phases:
                return PrefixState.GRACEFUL_SHUTDOWN
        return PrefixState.ANNOUNCED

    def state(self, prefix: Prefix, drains: Drains, failing: str = "") -> str:
        """Why `prefix` is or is not announced, in a few words; `failing` says which of its
        checks fail, and why."""
        state = self.prefix_state(prefix, drains)
        if state is PrefixState.HELD_BACK:
            return f"held back: {failing or 'its checks have not passed yet'}"
        return _STATE_TEXT[state]


_STATE_TEXT = {
    PrefixState.ANNOUNCED: "announced",
    PrefixState.GRACEFUL_SHUTDOWN: "drained: announced with GRACEFUL_SHUTDOWN",
    PrefixState.DRAINED: "drained: withdrawn",
    PrefixState.WITHDRAWN: "withdrawn (restore announces it again)",
    PrefixState.NOT_ANNOUNCED: "not announced",
}


def _check(announcement: AnnounceConfig, peers: frozenset[IPAddress]) -> None:
    """ValueError saying why `announcement` cannot be announced."""
    prefix, next_hop = announcement.prefix, announcement.next_hop
    if prefix.version == 4 and next_hop is not None and next_hop.version == 6:
        raise ValueError(f"{prefix}: an IPv4 prefix needs an IPv4 next hop")
    if not 0 <= announcement.as_path_prepend <= MAX_AS_PATH_PREPEND:
        raise ValueError(f"as_path_prepend must be 0..{MAX_AS_PATH_PREPEND}")
    if announcement.med is not None and not 0 <= announcement.med <= 0xFFFFFFFF:
        raise ValueError("med must be 0..4294967295")
    for peer in announcement.peers or ():
        if peer not in peers:
            raise ValueError(f"{peer} is not a configured peer")
