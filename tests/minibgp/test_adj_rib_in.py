"""Adj-RIB-In: routes as received, attribute sets shared between prefixes."""

from __future__ import annotations

import weakref
from ipaddress import IPv4Address, IPv6Address, ip_network

from minibgp.adj_rib_in import AdjRibIn
from minibgp.wire import (
    AsPath,
    CodecContext,
    MultiExitDisc,
    Origin,
    Update,
    decode_message,
    encode_message,
)

CTX = CodecContext()
NEXT_HOP = IPv4Address("192.0.2.1")


def received(update: Update, ctx: CodecContext = CTX) -> Update:
    """The Update as the peer's side decodes it off the wire."""
    decoded = decode_message(2, encode_message(update, ctx)[19:], ctx)
    assert isinstance(decoded, Update)
    return decoded


def announce(prefixes: list[str], med: int = 0) -> Update:
    return received(
        Update.build(
            announce=[ip_network(p) for p in prefixes],
            attributes=[Origin(), AsPath.sequence([64520]), MultiExitDisc(med)],
            next_hop=NEXT_HOP,
        )
    )


def test_announce_and_get() -> None:
    rib = AdjRibIn()
    assert rib.apply(announce(["10.0.0.0/8", "192.0.2.0/24"])) == (2, 0)
    assert len(rib) == 2
    attributes = rib.get(ip_network("10.0.0.0/8"))
    assert attributes is not None
    assert attributes.next_hop == NEXT_HOP and attributes.as_path.asns == [64520]
    assert rib.get(ip_network("10.0.0.0/16")) is None
    assert sorted(str(p) for p, _ in rib.routes()) == ["10.0.0.0/8", "192.0.2.0/24"]


def test_same_attributes_are_one_object() -> None:
    rib = AdjRibIn()
    rib.apply(announce(["10.0.0.0/8"]))
    rib.apply(announce(["11.0.0.0/8"]))  # another UPDATE with the same attributes
    rib.apply(announce(["12.0.0.0/8"], med=7))
    first, second, third = (
        rib.get(ip_network(p)) for p in ("10.0.0.0/8", "11.0.0.0/8", "12.0.0.0/8")
    )
    assert first is second
    assert third is not first and third is not None and third.med == 7
    assert rib.attribute_sets() == 2


def test_sets_are_shared_across_sessions_decodes_too() -> None:
    """Two decodes on fresh contexts still end up as one object in the RIB."""
    rib = AdjRibIn()
    for prefix in ("10.0.0.0/8", "11.0.0.0/8"):
        update = Update.build(
            announce=[ip_network(prefix)], attributes=[Origin(), AsPath()], next_hop=NEXT_HOP
        )
        rib.apply(received(update, CodecContext()))
    assert rib.get(ip_network("10.0.0.0/8")) is rib.get(ip_network("11.0.0.0/8"))


def test_withdraw() -> None:
    rib = AdjRibIn()
    rib.apply(announce(["10.0.0.0/8", "192.0.2.0/24"]))
    assert rib.apply(received(Update.build(withdraw=[ip_network("10.0.0.0/8")]))) == (0, 1)
    assert rib.get(ip_network("10.0.0.0/8")) is None
    assert len(rib) == 1
    # Withdrawing what is not there is harmless (RFC 4271 §9.1.4 does not forbid it).
    rib.apply(received(Update.build(withdraw=[ip_network("10.0.0.0/8")])))
    assert len(rib) == 1


def test_replace() -> None:
    """A new announcement of a prefix replaces the old route (RFC 4271 §3.1)."""
    rib = AdjRibIn()
    rib.apply(announce(["10.0.0.0/8"], med=1))
    rib.apply(announce(["10.0.0.0/8"], med=2))
    attributes = rib.get(ip_network("10.0.0.0/8"))
    assert len(rib) == 1 and attributes is not None and attributes.med == 2


def test_treat_as_withdraw_removes_instead_of_storing() -> None:
    rib = AdjRibIn()
    rib.apply(announce(["10.0.0.0/8", "192.0.2.0/24"]))
    bad_origin = bytes.fromhex(
        "0000 0014 40010103 400206020100 00fc08 400304c0000201 080a".replace(" ", "")
    )
    update = decode_message(2, bad_origin, CTX)
    assert isinstance(update, Update) and update.treat_as_withdraw
    assert rib.apply(update) == (0, 1)
    assert rib.get(ip_network("10.0.0.0/8")) is None
    assert len(rib) == 1


def test_ipv6_routes_keep_their_next_hop() -> None:
    rib = AdjRibIn()
    for prefix, hop in (("2001:db8:1::/48", "2001:db8::1"), ("2001:db8:2::/48", "2001:db8::2")):
        update = Update.build(
            announce=[ip_network(prefix)],
            attributes=[Origin(), AsPath()],
            next_hop=[IPv6Address(hop)],
        )
        rib.apply(received(update))
    first = rib.get(ip_network("2001:db8:1::/48"))
    second = rib.get(ip_network("2001:db8:2::/48"))
    assert first is not None and second is not None
    assert (first.next_hop, second.next_hop) == (
        IPv6Address("2001:db8::1"),
        IPv6Address("2001:db8::2"),
    )
    assert rib.count((2, 1)) == 2 and rib.count((1, 1)) == 0
    rib.apply(received(Update.build(withdraw=[ip_network("2001:db8:1::/48")])))
    assert [str(p) for p, _ in rib.routes((2, 1))] == ["2001:db8:2::/48"]


def test_hand_built_updates_are_interned_too() -> None:
    rib = AdjRibIn()
    for prefix in ("10.0.0.0/8", "11.0.0.0/8"):
        rib.apply(
            Update.build(announce=[ip_network(prefix)], attributes=[Origin()], next_hop=NEXT_HOP)
        )
    assert rib.get(ip_network("10.0.0.0/8")) is rib.get(ip_network("11.0.0.0/8"))


def test_clear() -> None:
    rib = AdjRibIn()
    rib.apply(announce(["10.0.0.0/8"]))
    rib.clear()
    assert len(rib) == 0 and list(rib.routes()) == []


def test_sets_no_route_uses_are_freed() -> None:
    rib = AdjRibIn()
    rib.apply(announce(["10.0.0.0/8"], med=1))
    first_set = rib.get(ip_network("10.0.0.0/8"))
    assert first_set is not None
    old_set = weakref.ref(first_set)
    del first_set
    rib.apply(announce(["10.0.0.0/8"], med=2))  # the med=1 set is no longer used
    CTX.attribute_sets.clear()  # nor remembered by the codec
    assert old_set() is None


def test_prefix_withdrawn_and_announced_in_one_update_stays() -> None:
    """RFC 4271 §4.3: treated as though the Withdrawn Routes did not contain it."""
    rib = AdjRibIn()
    both = received(
        Update.build(
            announce=[ip_network("10.0.0.0/8")],
            withdraw=[ip_network("10.0.0.0/8")],
            attributes=[Origin(), AsPath()],
            next_hop=NEXT_HOP,
        )
    )
    rib.apply(both)
    assert rib.get(ip_network("10.0.0.0/8")) is not None
