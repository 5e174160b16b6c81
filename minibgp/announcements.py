"""What the speaker announces to each peer, and why a prefix is or is not announced.

The `[[announce]]` tables of the config are the announcements. A prefix with health checks is
announced only while all of them pass; drains (minibgp.drain) mark routes with
GRACEFUL_SHUTDOWN or withdraw them. `Announcements.routes_for(peer, drains)` puts it together
into the `Route`s a peer is to be sent; the peer's Adj-RIB-Out sends only the difference.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from minibgp.adj_rib_out import Route
from minibgp.config import AnnounceConfig, PeerConfig
from minibgp.drain import Drains
from minibgp.wire.nlri import Prefix


def route_to(peer: PeerConfig, announcement: AnnounceConfig) -> Route:
    """`announcement` as a route to `peer`, with the next hop it gets there.

    The announcement's own next hop wins; else the peer's `next_hop` if it fits the prefix's
    family (an IPv4 next hop also serves IPv6 prefixes, as ::ffff:a.b.c.d); else next-hop self.
    """
    next_hop = announcement.next_hop
    peer_hop = peer.next_hop
    if (
        next_hop is None
        and peer_hop is not None
        and peer_hop.version <= announcement.prefix.version
    ):
        next_hop = peer_hop
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
    """The speaker's announcements and the health of their checks."""

    def __init__(self, configured: Sequence[AnnounceConfig]) -> None:
        self.configured = tuple(configured)
        self.healthy: set[Prefix] = set()  # prefixes whose checks all pass

    def reconfigure(self, configured: Sequence[AnnounceConfig]) -> None:
        """The config was reloaded; health already known is kept."""
        self.configured = tuple(configured)

    def set_health(self, prefix: Prefix, up: bool) -> None:
        """Every check of `prefix` passes (`up`), or one fails."""
        if up:
            self.healthy.add(prefix)
        else:
            self.healthy.discard(prefix)

    def live(self) -> list[AnnounceConfig]:
        """The announcements to make now: those without checks, or whose checks pass."""
        return [a for a in self.configured if not a.checks or a.prefix in self.healthy]

    def routes_for(self, peer: PeerConfig, drains: Drains) -> list[Route]:
        """What `peer` is to be sent now: the live announcements, as the drains leave them."""
        return drains.apply(peer.address, routes_for(peer, self.live()))

    def announced(self, prefix: Prefix) -> bool:
        """Whether `prefix` is one of the announcements (live or held back)."""
        return any(a.prefix == prefix for a in self.configured)
