"""Routes and the UPDATEs the Adj-RIB-Out builds from them."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import pytest

from minibgp.adj_rib_out import AdjRibOut, Advertising, Route, end_of_rib, path_attributes
from minibgp.wire.attributes.as_path import AsPath
from minibgp.wire.attributes.local_pref import LocalPref
from minibgp.wire.attributes.multiprotocol import MpReachNlri, MpUnreachNlri
from minibgp.wire.attributes.next_hop import NextHop
from minibgp.wire.context import CodecContext
from minibgp.wire.header import MAX_MESSAGE_LENGTH
from minibgp.wire.messages import Update, encode_message
from minibgp.wire.nlri import IPV4_UNICAST, IPV6_UNICAST

CTX = CodecContext(four_octet_as=True)
EBGP = Advertising(
    local_as=64520,
    ibgp=False,
    local_address=IPv4Address("192.168.57.100"),
    families=frozenset({IPV4_UNICAST, IPV6_UNICAST}),
    codec=CTX,
)


def session(**changes: object) -> Advertising:
    values = {
        "local_as": EBGP.local_as,
        "ibgp": EBGP.ibgp,
        "local_address": EBGP.local_address,
        "families": EBGP.families,
        "codec": CTX,
    }
    values.update(changes)
    return Advertising(**values)  # type: ignore[arg-type]


def announced(updates: list[Update]) -> list[str]:
    return [str(prefix) for update in updates for (_, _, prefix) in update.announced()]


def withdrawn(updates: list[Update]) -> list[str]:
    return [str(prefix) for update in updates for (_, _, prefix) in update.withdrawn_prefixes()]


def test_route_checks_its_fields() -> None:
    assert Route("169.254.0.1/32").prefix == ip_network("169.254.0.1/32")
    with pytest.raises(ValueError):
        Route("169.254.0.1/24")  # host bits set
    with pytest.raises(ValueError, match="IPv4 next hop"):
        Route("169.254.0.1/32", next_hop="2001:db8::1")
    with pytest.raises(ValueError, match="prepend"):
        Route("169.254.0.1/32", as_path_prepend=-1)
    with pytest.raises(ValueError, match="MED"):
        Route("169.254.0.1/32", med=2**32)


def test_ebgp_path_is_our_as_prepended_and_next_hop_self() -> None:
    attributes = path_attributes(Route("169.254.0.1/32", as_path_prepend=2), EBGP)
    assert attributes is not None
    assert AsPath.sequence([64520, 64520, 64520]) in attributes
    assert NextHop(IPv4Address("192.168.57.100")) in attributes
    assert not any(isinstance(a, LocalPref) for a in attributes)


def test_ibgp_path_is_empty_and_carries_local_pref() -> None:
    attributes = path_attributes(Route("169.254.0.1/32", local_pref=200), session(ibgp=True))
    assert attributes is not None
    assert AsPath.sequence([]) in attributes
    assert LocalPref(200) in attributes
    default = path_attributes(Route("169.254.0.1/32"), session(ibgp=True))
    assert default is not None and LocalPref(100) in default


@pytest.mark.parametrize(
    ("local_address", "next_hop", "expected"),
    [
        ("192.168.57.100", None, "::ffff:192.168.57.100"),  # IPv6 over an IPv4 session
        ("2001:db8:57::100", None, "2001:db8:57::100"),  # over an IPv6 session
        ("192.168.57.100", "2001:db8::53", "2001:db8::53"),  # configured
        ("192.168.57.100", "192.168.57.200", "::ffff:192.168.57.200"),  # configured IPv4
    ],
)
def test_ipv6_next_hop(local_address: str, next_hop: str | None, expected: str) -> None:
    route = Route("2001:db8:53::1/128", next_hop=next_hop)
    attributes = path_attributes(route, session(local_address=ip_address(local_address)))
    assert attributes is not None
    [reach] = [a for a in attributes if isinstance(a, MpReachNlri)]
    assert reach.next_hops == (IPv6Address(expected),)


def test_an_ipv4_route_without_an_ipv4_next_hop_is_not_sent() -> None:
    rib = AdjRibOut()
    rib.set(Route("169.254.0.1/32"))
    assert rib.pending_updates(session(local_address=IPv6Address("2001:db8::100"))) == []
    assert rib.pending_updates(session(local_address=None)) == []


def test_routes_with_equal_attributes_share_an_update() -> None:
    rib = AdjRibOut()
    rib.replace(
        [
            Route("169.254.0.1/32"),
            Route("169.254.0.2/32"),
            Route("169.254.0.3/32", med=5),
            Route("2001:db8::1/128"),
            Route("2001:db8::2/128"),
        ]
    )
    updates = rib.pending_updates(EBGP)
    assert [announced([u]) for u in updates] == [
        ["169.254.0.1/32", "169.254.0.2/32"],
        ["169.254.0.3/32"],
        ["2001:db8::1/128", "2001:db8::2/128"],
    ]
    # IPv4 in the NLRI field with NEXT_HOP, IPv6 in MP_REACH_NLRI (RFC 4760).
    assert updates[0].nlri and any(isinstance(a, NextHop) for a in updates[0].attributes)
    assert not updates[2].nlri and updates[2].mp_reach is not None


def test_attributes_are_in_type_code_order() -> None:
    rib = AdjRibOut()
    rib.set(Route("2001:db8::1/128", med=1, communities=(1,), large_communities=((1, 2, 3),)))
    [update] = rib.pending_updates(EBGP)
    codes = [a.attribute_type() for a in update.attributes]
    assert codes == sorted(codes)  # RFC 4271 §5


def test_nothing_is_sent_when_nothing_changed() -> None:
    rib = AdjRibOut()
    rib.set(Route("169.254.0.1/32"))
    assert len(rib.pending_updates(EBGP)) == 1
    assert rib.pending_updates(EBGP) == []
    rib.set(Route("169.254.0.1/32"))
    assert rib.pending_updates(EBGP) == []


def test_changes_become_announcements_and_withdrawals() -> None:
    rib = AdjRibOut()
    rib.replace([Route("169.254.0.1/32"), Route("2001:db8::1/128")])
    rib.pending_updates(EBGP)
    rib.replace([Route("169.254.0.1/32", med=7), Route("169.254.0.9/32")])
    updates = rib.pending_updates(EBGP)
    assert withdrawn(updates) == ["2001:db8::1/128"]
    assert sorted(announced(updates)) == ["169.254.0.1/32", "169.254.0.9/32"]
    [unreach] = [a for u in updates for a in u.attributes if isinstance(a, MpUnreachNlri)]
    assert unreach.family == IPV6_UNICAST
    assert set(rib.advertised) == {ip_network("169.254.0.1/32"), ip_network("169.254.0.9/32")}


def test_families_not_negotiated_are_held_back() -> None:
    rib = AdjRibOut()
    rib.replace([Route("169.254.0.1/32"), Route("2001:db8::1/128")])
    updates = rib.pending_updates(session(families=frozenset({IPV4_UNICAST})))
    assert announced(updates) == ["169.254.0.1/32"]


def test_forget_advertised_resends_one_family() -> None:
    rib = AdjRibOut()
    rib.replace([Route("169.254.0.1/32"), Route("2001:db8::1/128")])
    rib.pending_updates(EBGP)
    rib.forget_advertised(IPV6_UNICAST)
    assert announced(rib.pending_updates(EBGP)) == ["2001:db8::1/128"]


def test_withdraw_all_keeps_the_routes_for_the_next_session() -> None:
    rib = AdjRibOut()
    rib.replace([Route("169.254.0.1/32"), Route("2001:db8::1/128")])
    rib.pending_updates(EBGP)
    assert sorted(withdrawn(rib.withdraw_all(CTX))) == ["169.254.0.1/32", "2001:db8::1/128"]
    assert rib.advertised == {}
    assert len(rib.routes) == 2
    assert len(announced(rib.pending_updates(EBGP))) == 2


@pytest.mark.parametrize("family_prefix", ["10.{}.{}.0/24", "2001:db8:{:x}:{:x}::/64"])
def test_many_routes_are_split_into_updates_of_at_most_4096_octets(family_prefix: str) -> None:
    rib = AdjRibOut()
    prefixes = [family_prefix.format(i // 256, i % 256) for i in range(2000)]
    rib.replace(Route(p, communities=tuple(range(40))) for p in prefixes)
    updates = rib.pending_updates(EBGP)
    assert len(updates) > 1
    assert all(len(encode_message(u, CTX)) <= MAX_MESSAGE_LENGTH for u in updates)
    assert announced(updates) == [str(ip_network(p)) for p in prefixes]
    rib.replace([])
    withdrawals = rib.pending_updates(EBGP)
    assert all(len(encode_message(u, CTX)) <= MAX_MESSAGE_LENGTH for u in withdrawals)
    assert withdrawn(withdrawals) == [str(ip_network(p)) for p in prefixes]


def test_end_of_rib_markers() -> None:
    # RFC 4724 §2: an empty UPDATE for IPv4 unicast; an empty MP_UNREACH_NLRI otherwise.
    assert encode_message(end_of_rib(IPV4_UNICAST), CTX) == b"\xff" * 16 + bytes.fromhex(
        "00170200000000"
    )
    assert end_of_rib(IPV6_UNICAST).is_end_of_rib() == IPV6_UNICAST


def test_updates_fit_on_a_2_octet_session_with_as4_path() -> None:
    # A 4-octet AS towards an old peer: AS_TRANS in AS_PATH and the real path in AS4_PATH
    # (RFC 6793 §4.2.2), which the UPDATE must have room for.
    old_peer = CodecContext(four_octet_as=False)
    rib = AdjRibOut()
    rib.replace(Route(f"10.0.{i // 256}.{i % 256}/32", as_path_prepend=20) for i in range(2000))
    updates = rib.pending_updates(session(local_as=4290001234, codec=old_peer))
    assert all(len(encode_message(u, old_peer)) <= MAX_MESSAGE_LENGTH for u in updates)
    assert len(announced(updates)) == 2000
