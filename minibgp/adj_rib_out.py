"""What we advertise to one peer: routes, and the UPDATEs that carry them (Adj-RIB-Out).

A `Route` is a prefix with the attributes we attach to it. `AdjRibOut` (RFC 4271 §3.2) keeps
the routes we want the peer to have and the ones it has been sent, and turns the difference
into UPDATE messages: routes with the same attributes share one UPDATE, nothing is sent when
nothing changed. IPv4 goes in the classic NLRI field with NEXT_HOP; IPv6 in MP_REACH_NLRI /
MP_UNREACH_NLRI (RFC 4760). `end_of_rib()` builds the End-of-RIB marker (RFC 4724 §2).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from minibgp.wire.attributes.as_path import AsPath
from minibgp.wire.attributes.base import PathAttribute
from minibgp.wire.attributes.communities import Communities
from minibgp.wire.attributes.large_community import LargeCommunity, LargeCommunityValue
from minibgp.wire.attributes.local_pref import LocalPref
from minibgp.wire.attributes.multi_exit_disc import MultiExitDisc
from minibgp.wire.attributes.multiprotocol import MpReachNlri, MpUnreachNlri
from minibgp.wire.attributes.next_hop import NextHop
from minibgp.wire.attributes.origin import Origin, OriginType
from minibgp.wire.context import CodecContext
from minibgp.wire.header import MAX_MESSAGE_LENGTH
from minibgp.wire.messages import Update
from minibgp.wire.nlri import AFI, IPV4_UNICAST, SAFI, Family, IPAddress, Prefix

# Our AS at most this many extra times: enough to move any catchment, short enough that no
# router's maximum AS path length filter drops the route.
MAX_AS_PATH_PREPEND = 32


@dataclass(frozen=True)
class Route:
    """One prefix we announce and the attributes it carries.

    `next_hop` None means next-hop self: our address on the session. `as_path_prepend` adds our
    AS that many extra times (eBGP only). `local_pref` is sent to internal peers only
    (RFC 4271 §5.1.5).
    """

    prefix: Prefix
    next_hop: IPAddress | None = None
    communities: tuple[int, ...] = ()
    large_communities: tuple[LargeCommunityValue, ...] = ()
    med: int | None = None
    as_path_prepend: int = 0
    local_pref: int | None = None
    origin: OriginType = OriginType.IGP

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", ip_network(self.prefix))
        if self.next_hop is not None:
            object.__setattr__(self, "next_hop", ip_address(self.next_hop))
        object.__setattr__(self, "communities", tuple(self.communities))
        object.__setattr__(self, "large_communities", tuple(self.large_communities))
        object.__setattr__(self, "origin", OriginType(self.origin))
        if not 0 <= self.as_path_prepend <= MAX_AS_PATH_PREPEND:
            raise ValueError(
                f"AS path prepend {self.as_path_prepend} is not in 0..{MAX_AS_PATH_PREPEND}"
            )
        if self.med is not None and not 0 <= self.med <= 0xFFFFFFFF:
            raise ValueError(f"MED {self.med} does not fit in 4 octets")
        if self.local_pref is not None and not 0 <= self.local_pref <= 0xFFFFFFFF:
            raise ValueError(f"LOCAL_PREF {self.local_pref} does not fit in 4 octets")
        if self.prefix.version == 4 and isinstance(self.next_hop, IPv6Address):
            raise ValueError(f"{self.prefix}: an IPv4 route needs an IPv4 next hop")

    @property
    def family(self) -> Family:
        """(AFI, SAFI) of the prefix: IPv4 or IPv6 unicast."""
        return (AFI.IPV4 if self.prefix.version == 4 else AFI.IPV6, SAFI.UNICAST)


@dataclass(frozen=True)
class Advertising:
    """What building UPDATEs for one session depends on."""

    local_as: int
    ibgp: bool
    local_address: IPAddress | None
    families: frozenset[Family]
    codec: CodecContext = field(default_factory=CodecContext)


def next_hop_for(route: Route, session: Advertising) -> IPAddress | None:
    """The next hop to send for `route`, or None when there is none we could send.

    Next-hop self is our address on the session. An IPv6 route over an IPv4 session gets the
    IPv4-mapped IPv6 address `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2), which FRR and GoBGP accept
    (BIRD 2 treats it as a withdraw: give such routes an IPv6 next hop); an IPv4 next hop
    configured for an IPv6 route is mapped the same way.
    """
    address = route.next_hop if route.next_hop is not None else session.local_address
    if address is None:
        return None
    if route.prefix.version == 4:
        return address if isinstance(address, IPv4Address) else None
    if isinstance(address, IPv4Address):
        return IPv6Address(b"\x00" * 10 + b"\xff\xff" + address.packed)
    return address


def path_attributes(route: Route, session: Advertising) -> tuple[PathAttribute, ...] | None:
    """The path attributes of `route` on this session, in type code order (RFC 4271 §5).

    For IPv6 they include an MP_REACH_NLRI holding the next hop and no prefixes yet. None when
    the route cannot be sent (no usable next hop).
    """
    next_hop = next_hop_for(route, session)
    if next_hop is None:
        return None
    # RFC 4271 §5.1.2: to an external peer we prepend our AS; to an internal one the path we
    # originate is empty.
    if session.ibgp:
        as_path = AsPath.sequence(())
    else:
        as_path = AsPath.sequence([session.local_as] * (1 + route.as_path_prepend))
    attributes: list[PathAttribute] = [Origin(route.origin), as_path]
    if isinstance(next_hop, IPv4Address):
        attributes.append(NextHop(next_hop))
    else:
        # Carried inside MP_REACH_NLRI; kept here so routes group by it.
        attributes.append(MpReachNlri(AFI.IPV6, SAFI.UNICAST, (next_hop,)))
    if route.med is not None:
        attributes.append(MultiExitDisc(route.med))
    if session.ibgp:
        # RFC 4271 §5.1.5: LOCAL_PREF goes to internal peers only; 100 is the usual default.
        attributes.append(LocalPref(100 if route.local_pref is None else route.local_pref))
    if route.communities:
        attributes.append(Communities(route.communities))
    if route.large_communities:
        attributes.append(LargeCommunity(route.large_communities))
    return _in_type_order(attributes)


def _nlri_octets(prefix: Prefix) -> int:
    return 1 + (prefix.prefixlen + 7) // 8  # RFC 4271 §4.3: length octet and the prefix


def _chunks(prefixes: list[Prefix], room: int) -> Iterator[list[Prefix]]:
    """Split `prefixes` into runs whose NLRI encoding fits in `room` octets."""
    chunk: list[Prefix] = []
    used = 0
    for prefix in prefixes:
        size = _nlri_octets(prefix)
        if chunk and used + size > room:
            yield chunk
            chunk, used = [], 0
        chunk.append(prefix)
        used += size
    if chunk:
        yield chunk


def _room_for_nlri(template: Update, codec: CodecContext) -> int:
    """Octets left for prefixes in an UPDATE like `template` (RFC 4271 §4.1: 4096 at most).

    One octet is kept back: an attribute whose value grows past 255 octets takes a 2-octet
    length (RFC 4271 §4.3, Extended Length).
    """
    return MAX_MESSAGE_LENGTH - template.encoded_length(codec) - 1


def announcement_updates(
    attributes: tuple[PathAttribute, ...], prefixes: list[Prefix], codec: CodecContext
) -> Iterator[Update]:
    """UPDATEs announcing `prefixes` with `attributes`, each within the 4096-octet limit."""
    room = _room_for_nlri(Update(attributes=attributes), codec)
    mp_reach = next((a for a in attributes if isinstance(a, MpReachNlri)), None)
    for chunk in _chunks(prefixes, room):
        if mp_reach is None:
            yield Update(attributes=attributes, nlri=chunk)
        else:
            reach = MpReachNlri(mp_reach.afi, mp_reach.safi, mp_reach.next_hops, chunk)
            yield Update(attributes=tuple(reach if a is mp_reach else a for a in attributes))


def withdrawal_updates(
    family: Family, prefixes: list[Prefix], codec: CodecContext
) -> Iterator[Update]:
    """UPDATEs withdrawing `prefixes` of one family."""
    if family == IPV4_UNICAST:
        for chunk in _chunks(prefixes, _room_for_nlri(Update(), codec)):
            yield Update(withdrawn=chunk)
        return
    afi, safi = family
    room = _room_for_nlri(Update(attributes=(MpUnreachNlri(afi, safi),)), codec)
    for chunk in _chunks(prefixes, room):
        yield Update(attributes=(MpUnreachNlri(afi, safi, chunk),))


def end_of_rib(family: Family) -> Update:
    """The End-of-RIB marker of a family (RFC 4724 §2).

    IPv4 unicast: an UPDATE with nothing in it; others: an UPDATE whose only attribute is an
    empty MP_UNREACH_NLRI of that family.
    """
    return Update.end_of_rib(*family)


def _in_type_order(attributes: Iterable[PathAttribute]) -> tuple[PathAttribute, ...]:
    # RFC 4271 §5: "the sender ... SHOULD order path attributes by their type code".
    return tuple(sorted(attributes, key=lambda a: a.attribute_type()))


class AdjRibOut:
    """The routes we advertise to one peer (RFC 4271 §3.2 Adj-RIB-Out).

    `routes` are the routes we want the peer to have; `advertised` what it has been sent on the
    current session, as the attributes sent with each prefix. `pending_updates()` sends the
    difference and records it as advertised.
    """

    def __init__(self) -> None:
        self._routes: dict[Prefix, Route] = {}
        self._advertised: dict[Prefix, tuple[PathAttribute, ...]] = {}

    @property
    def routes(self) -> dict[Prefix, Route]:
        """The routes to advertise, by prefix (read only)."""
        return dict(self._routes)

    @property
    def advertised(self) -> dict[Prefix, tuple[PathAttribute, ...]]:
        """What the peer has been sent on this session, by prefix (read only)."""
        return dict(self._advertised)

    def set(self, route: Route) -> None:
        """Advertise `route`, replacing any route of the same prefix."""
        self._routes[route.prefix] = route

    def remove(self, prefix: Prefix) -> None:
        """Stop advertising `prefix` (nothing happens if it was not advertised)."""
        self._routes.pop(ip_network(prefix), None)

    def replace(self, routes: Iterable[Route]) -> None:
        """Advertise exactly `routes`."""
        self._routes = {route.prefix: route for route in routes}

    def forget_advertised(self, family: Family | None = None) -> None:
        """The peer no longer has our routes (of one family, or all): a new session or a
        ROUTE-REFRESH (RFC 2918 §4) makes the next `pending_updates()` send them again."""
        if family is None:
            self._advertised.clear()
            return
        for prefix in [p for p in self._advertised if _family(p) == family]:
            del self._advertised[prefix]

    def pending_updates(self, session: Advertising) -> list[Update]:
        """The UPDATEs that bring the peer from `advertised` to `routes`, withdrawals first."""
        wanted: dict[Prefix, tuple[PathAttribute, ...]] = {}
        for prefix, route in self._routes.items():
            if route.family not in session.families:
                continue
            attributes = path_attributes(route, session)
            if attributes is not None:
                wanted[prefix] = attributes

        withdrawn: dict[Family, list[Prefix]] = {}
        for prefix in self._advertised:
            if prefix not in wanted:
                withdrawn.setdefault(_family(prefix), []).append(prefix)
        announced: dict[tuple[PathAttribute, ...], list[Prefix]] = {}
        for prefix, attributes in wanted.items():
            if self._advertised.get(prefix) != attributes:
                announced.setdefault(attributes, []).append(prefix)

        updates: list[Update] = []
        for family, prefixes in withdrawn.items():
            updates.extend(withdrawal_updates(family, prefixes, session.codec))
            for prefix in prefixes:
                del self._advertised[prefix]
        for attributes, prefixes in announced.items():
            updates.extend(announcement_updates(attributes, prefixes, session.codec))
            for prefix in prefixes:
                self._advertised[prefix] = attributes
        return updates

    def withdraw_all(self, codec: CodecContext) -> list[Update]:
        """UPDATEs withdrawing everything advertised, keeping `routes` for a later session."""
        withdrawn: dict[Family, list[Prefix]] = {}
        for prefix in self._advertised:
            withdrawn.setdefault(_family(prefix), []).append(prefix)
        self._advertised.clear()
        return [
            update
            for family, prefixes in withdrawn.items()
            for update in withdrawal_updates(family, prefixes, codec)
        ]


def _family(prefix: Prefix) -> Family:
    return (AFI.IPV4 if prefix.version == 4 else AFI.IPV6, SAFI.UNICAST)
