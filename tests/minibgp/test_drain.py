"""Graceful drain (RFC 8326) as a sans-I/O core, on a fake clock, and the UPDATEs it leads to."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

from minibgp.adj_rib_out import AdjRibOut, Advertising, Route
from minibgp.drain import (
    GRACEFUL_SHUTDOWN,
    DrainPhase,
    Drains,
    DrainScope,
    graceful_shutdown_route,
)
from minibgp.wire.attributes.communities import Communities
from minibgp.wire.attributes.local_pref import LocalPref
from minibgp.wire.messages import Update
from minibgp.wire.nlri import IPV4_UNICAST

ROUTER1, ROUTER2 = ip_address("192.168.57.10"), ip_address("192.168.58.10")
ANYCAST, OTHER = ip_network("169.254.0.1/32"), ip_network("169.254.0.2/32")
ROUTES = [Route(ANYCAST, communities=(65000 << 16 | 1,)), Route(OTHER)]


def test_graceful_shutdown_adds_65535_0_and_local_pref_0_once() -> None:
    route = graceful_shutdown_route(ROUTES[0])
    assert route.communities == (65000 << 16 | 1, 0xFFFF0000)
    assert route.local_pref == 0
    assert graceful_shutdown_route(route) == route  # not added twice


def test_a_drain_announces_with_the_community_then_withdraws_at_its_time() -> None:
    drains = Drains()
    drains.start(DrainScope(), drain_time=2.0, now=100.0)
    assert drains.apply(ROUTER1, ROUTES) == [graceful_shutdown_route(r) for r in ROUTES]
    assert drains.get_timer() == 102.0
    assert drains.handle_timer(now=101.9) is False  # not yet
    assert drains.apply(ROUTER1, ROUTES)[0].communities[-1] == GRACEFUL_SHUTDOWN
    assert drains.handle_timer(now=102.0) is True
    assert drains.apply(ROUTER1, ROUTES) == []
    assert drains.get_timer() is None
    assert drains.to_json(now=103.0) == [
        {"prefixes": None, "peers": None, "phase": "withdrawn", "drain_time": 2.0,
         "seconds_since_start": 3.0, "withdraw_in": None}
    ]  # fmt: skip


def test_undrain_announces_normally_again() -> None:
    drains = Drains()
    drains.start(DrainScope(), drain_time=1.0, now=0.0)
    drains.handle_timer(now=1.0)
    drains.clear()
    assert drains.apply(ROUTER1, ROUTES) == ROUTES
    assert not drains


def test_a_drain_covers_only_its_prefixes_and_peers() -> None:
    drains = Drains()
    drains.start(
        DrainScope(prefixes=frozenset({ANYCAST}), peers=frozenset({ROUTER1})), 1.0, now=0.0
    )
    assert drains.apply(ROUTER1, ROUTES) == [graceful_shutdown_route(ROUTES[0]), ROUTES[1]]
    assert drains.apply(ROUTER2, ROUTES) == ROUTES
    drains.handle_timer(now=1.0)
    assert drains.apply(ROUTER1, ROUTES) == [ROUTES[1]]
    assert drains.apply(ROUTER2, ROUTES) == ROUTES


def test_overlapping_drains_the_furthest_phase_wins() -> None:
    drains = Drains()
    drains.start(DrainScope(prefixes=frozenset({ANYCAST})), 1.0, now=0.0)
    drains.start(DrainScope(), 5.0, now=0.5)
    assert drains.get_timer() == 1.0
    drains.handle_timer(now=1.0)
    assert drains.phase(ROUTER1, ANYCAST) is DrainPhase.WITHDRAWN
    assert drains.phase(ROUTER1, OTHER) is DrainPhase.GRACEFUL_SHUTDOWN
    assert drains.get_timer() == 5.5


def test_skip_wait_withdraws_at_once_and_zero_time_never_announces_the_community() -> None:
    drains = Drains()
    drains.start(DrainScope(), 60.0, now=0.0)
    assert drains.skip_wait(now=0.1) is True
    assert drains.apply(ROUTER1, ROUTES) == []
    assert drains.skip_wait(now=0.2) is False  # nothing left to cut short
    immediate = Drains()
    assert immediate.start(DrainScope(), 0.0, now=0.0).phase is DrainPhase.WITHDRAWN
    assert immediate.get_timer() is None


def updates_for(routes: list[Route], ibgp: bool) -> list[Update]:
    rib = AdjRibOut()
    rib.replace(routes)
    session = Advertising(64520, ibgp, ip_address("192.168.57.100"), frozenset({IPV4_UNICAST}))
    return list(rib.pending_updates(session))


def test_on_the_wire_ebgp_gets_the_community_ibgp_also_local_pref_0() -> None:
    """RFC 8326 §4: internal peers get LOCAL_PREF 0; LOCAL_PREF never goes to external ones."""
    route = graceful_shutdown_route(Route(ANYCAST))
    (ebgp,) = updates_for([route], ibgp=False)
    attributes = {type(a): a for a in ebgp.attributes}
    assert attributes[Communities] == Communities((GRACEFUL_SHUTDOWN,))
    assert LocalPref not in attributes
    (ibgp,) = updates_for([route], ibgp=True)
    attributes = {type(a): a for a in ibgp.attributes}
    assert attributes[LocalPref] == LocalPref(0)


def test_the_drain_is_one_update_then_one_withdraw() -> None:
    """Entering graceful shutdown re-announces (an UPDATE); the end withdraws; no other UPDATE."""
    rib = AdjRibOut()
    session = Advertising(64520, False, ip_address("192.168.57.100"), frozenset({IPV4_UNICAST}))
    routes = [Route(ANYCAST), Route(OTHER)]  # same attributes: one UPDATE carries both
    rib.replace(routes)
    rib.pending_updates(session)
    drains = Drains()
    drains.start(DrainScope(), 2.0, now=0.0)
    rib.replace(drains.apply(ROUTER1, routes))
    (reannounce,) = rib.pending_updates(session)
    assert sorted(map(str, reannounce.nlri)) == ["169.254.0.1/32", "169.254.0.2/32"]
    rib.replace(drains.apply(ROUTER1, routes))
    assert rib.pending_updates(session) == []  # nothing changed: nothing sent
    drains.handle_timer(now=2.0)
    rib.replace(drains.apply(ROUTER1, routes))
    (withdraw,) = rib.pending_updates(session)
    assert sorted(map(str, withdraw.withdrawn)) == ["169.254.0.1/32", "169.254.0.2/32"]
