"""minibgp against a real FRR 8.4 (zebra + bgpd), as router1 of the seed sees server1."""

from __future__ import annotations

import signal
import time

import pytest

from lab.frr import FrrRouter, wait_until
from tests.conftest import require_programs
from tests.minibgp.interop.pair import (
    ANYCAST,
    ANYCAST6,
    MINIBGP_ADDRESS,
    ROUTER_ADDRESS,
    Pair,
    frr_neighbor,
    frr_route,
    gone_within,
    wait_established,
)

pytestmark = pytest.mark.interop


@pytest.fixture(autouse=True)
def _frr_installed() -> None:
    require_programs("/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh")


def start(pair: Pair, peer_extra: str = "", announce_extra: str = "", more: str = "",
          neighbor_extra: str = "") -> FrrRouter:  # fmt: skip
    pair.write_minibgp_config(peer_extra, announce_extra, more)
    router = pair.start_frr(neighbor_extra)
    pair.minibgp.start()
    wait_established(router)
    return router


def holds_anycast(router: FrrRouter) -> bool:
    return bool(frr_route(router, ANYCAST).get("paths"))


def test_session_reaches_established_with_the_4_octet_router_as(pair: Pair) -> None:
    router = start(pair)
    neighbor = frr_neighbor(router)
    assert neighbor["remoteAs"] == 64520 and neighbor["localAs"] == 4290001234
    assert neighbor["neighborCapabilities"]["4byteAs"] == "advertisedAndReceived"
    ours = pair.minibgp.neighbor()
    assert ours["state"] == "Established" and ours["asn"] == 4290001234
    assert ours["peer_router_id"] == ROUTER_ADDRESS and ours["hold_time"] == 9


def test_frr_holds_our_route_with_our_as_path_and_next_hop(pair: Pair) -> None:
    router = start(pair)
    wait_until(lambda: holds_anycast(router), timeout=10, what="FRR to hold 169.254.0.1/32")
    (path,) = frr_route(router, ANYCAST)["paths"]
    assert path["aspath"]["string"] == "64520"
    assert path["nexthops"][0]["ip"] == MINIBGP_ADDRESS
    assert path["origin"] == "IGP" and path["valid"]


def test_minibgp_holds_the_routes_frr_originates(pair: Pair) -> None:
    start(pair)
    wanted = {"192.168.57.0/24", "10.57.1.0/24", "fd00:57::/64"}
    wait_until(lambda: wanted <= set(pair.minibgp.received()), timeout=10, what="FRR's routes")
    received = pair.minibgp.received()
    route = received["10.57.1.0/24"]
    assert route["as_path"] == [4290001234] and route["next_hop"] == ROUTER_ADDRESS
    assert received["fd00:57::/64"]["next_hop"] == "fd00:57::10"
    # the same through the command line, as a user would ask
    socket = str(pair.minibgp.socket)
    text = pair.minibgp.cli("show", "routes", "--socket", socket).stdout
    assert "10.57.1.0/24" in text and "4290001234 i" in text
    summary = pair.minibgp.cli("show", "neighbors", "--socket", socket).stdout
    assert ROUTER_ADDRESS in summary and "4290001234" in summary


def test_an_ipv6_128_over_the_ipv4_session_is_seen_by_frr(pair: Pair) -> None:
    router = start(pair, more=f'\n[[announce]]\nprefix = "{ANYCAST6}"\n')
    wait_until(lambda: frr_route(router, ANYCAST6).get("paths"), timeout=10, what="the /128")
    (path,) = frr_route(router, ANYCAST6)["paths"]
    assert path["aspath"]["string"] == "64520"
    assert path["nexthops"][0]["ip"] in ("::ffff:192.168.57.100", "::ffff:c0a8:3964")


def test_communities_large_communities_med_and_prepend_arrive_as_configured(pair: Pair) -> None:
    router = start(
        pair,
        announce_extra='communities = ["65000:1", "no-export", "graceful-shutdown"]\n'
        'large_communities = ["4290001234:1:2"]\nmed = 50\nas_path_prepend = 2\n',
    )
    wait_until(lambda: holds_anycast(router), timeout=10, what="FRR to hold 169.254.0.1/32")
    (path,) = frr_route(router, ANYCAST)["paths"]
    assert path["aspath"]["string"] == "64520 64520 64520"
    assert path["metric"] == 50
    assert set(path["community"]["string"].split()) == {"65000:1", "no-export", "graceful-shutdown"}
    assert path["largeCommunity"]["string"] == "4290001234:1:2"


def test_sigterm_withdraws_within_one_second_with_administrative_shutdown(pair: Pair) -> None:
    router = start(pair)
    wait_until(lambda: holds_anycast(router), timeout=10, what="FRR to hold 169.254.0.1/32")
    pair.minibgp.signal(signal.SIGTERM)
    seconds = gone_within(lambda: not holds_anycast(router), timeout=5)
    assert seconds < 1.0
    assert pair.minibgp.wait(timeout=2) == 0
    neighbor = frr_neighbor(router)
    assert neighbor["lastNotificationReason"] == "Cease/Administrative Shutdown"
    assert neighbor["lastResetDueTo"] == "BGP Notification received"
    assert "sent NOTIFICATION Cease / Administrative Shutdown" in pair.minibgp.log()


def test_sigkill_route_disappears_when_frr_sees_the_tcp_close(pair: Pair) -> None:
    router = start(pair)
    wait_until(lambda: holds_anycast(router), timeout=10, what="FRR to hold 169.254.0.1/32")
    pair.minibgp.signal(signal.SIGKILL)
    seconds = gone_within(lambda: not holds_anycast(router), timeout=5)
    assert seconds < 1.0  # the kernel closes the socket at once; no hold timer involved
    assert frr_neighbor(router)["bgpState"] != "Established"


def test_a_restart_re_establishes_and_announces_again(pair: Pair) -> None:
    router = start(pair)
    wait_until(lambda: holds_anycast(router), timeout=10, what="the route")
    pair.minibgp.signal(signal.SIGTERM)
    assert pair.minibgp.wait(timeout=2) == 0
    wait_until(lambda: not holds_anycast(router), timeout=5, what="the withdraw")
    pair.minibgp.start()
    wait_established(router)
    wait_until(lambda: holds_anycast(router), timeout=10, what="the route again")


def test_tcp_md5_with_the_right_password_establishes(pair: Pair) -> None:
    router = start(
        pair,
        peer_extra='password = "s3cret-anycast"',
        neighbor_extra=f" neighbor {MINIBGP_ADDRESS} password s3cret-anycast",
    )
    wait_until(lambda: holds_anycast(router), timeout=10, what="the route")
    assert pair.minibgp.neighbor()["password"] is True


def test_tcp_md5_with_a_wrong_password_never_establishes(pair: Pair) -> None:
    pair.write_minibgp_config(peer_extra='password = "wrong"')
    router = pair.start_frr(f" neighbor {MINIBGP_ADDRESS} password s3cret-anycast")
    pair.minibgp.start()
    deadline = time.monotonic() + 6  # several connect attempts from both sides (1 s timers)
    while time.monotonic() < deadline:
        assert frr_neighbor(router).get("bgpState") != "Established"
        assert pair.minibgp.neighbor().get("state") != "Established"
        time.sleep(0.2)
    assert pair.minibgp.neighbor().get("messages_received", {}) == {}


def test_gtsm_with_ttl_security_on_both_sides_establishes(pair: Pair) -> None:
    router = start(
        pair,
        peer_extra="ttl_security = 1",
        neighbor_extra=f" neighbor {MINIBGP_ADDRESS} ttl-security hops 1",
    )
    wait_until(lambda: holds_anycast(router), timeout=10, what="the route")


def test_passive_minibgp_waits_for_frr_to_connect(pair: Pair) -> None:
    router = start(pair, peer_extra="passive = true")
    wait_until(lambda: holds_anycast(router), timeout=10, what="the route")
    assert "passive (waiting for the peer to connect)" in pair.minibgp.log()
    assert "TCP connection accepted" in pair.minibgp.log()


def test_sighup_announces_and_withdraws_only_the_difference(pair: Pair) -> None:
    router = start(pair)
    wait_until(lambda: holds_anycast(router), timeout=10, what="the route")
    pair.write_minibgp_config(more='\n[[announce]]\nprefix = "169.254.0.2/32"\n')
    pair.minibgp.signal(signal.SIGHUP)
    wait_until(lambda: frr_route(router, "169.254.0.2/32").get("paths"), timeout=5, what="new")
    assert holds_anycast(router)
    # the added prefix is on no interface: the classic anycast mistake is called out
    assert "169.254.0.2/32: announced, but no local interface" in pair.minibgp.log()

    # a bad config is refused and the running one stays
    pair.minibgp.config_path.write_text(pair.minibgp.config_path.read_text() + "\nbogus = 1\n")
    pair.minibgp.signal(signal.SIGHUP)
    wait_until(lambda: "config not reloaded" in pair.minibgp.log(), timeout=5, what="refusal")
    assert f"{pair.minibgp.config_path}:20: announce[1].bogus: unknown key" in pair.minibgp.log()
    assert holds_anycast(router) and frr_route(router, "169.254.0.2/32").get("paths")

    pair.write_minibgp_config()  # back to the anycast prefix alone
    pair.minibgp.signal(signal.SIGHUP)
    wait_until(lambda: not frr_route(router, "169.254.0.2/32").get("paths"), timeout=5, what="-")
    assert holds_anycast(router)
    assert frr_neighbor(router)["bgpState"] == "Established"  # no session reset


def test_trace_logs_every_message_decoded_field_by_field(pair: Pair) -> None:
    pair.minibgp.extra_args = ["--trace"]
    router = start(pair)
    wait_until(lambda: holds_anycast(router), timeout=10, what="the route")
    log = pair.minibgp.log()
    assert "sent\nOPEN message" in log and "received\nOPEN message" in log
    assert "RFC 6793" in log  # the 4-octet AS capability, with the RFC that defines it
    assert "UPDATE message" in log and "169.254.0.1/32" in log


FRR_IPV6_SESSION = """\
frr defaults traditional
hostname router1
router bgp 4290001234
 bgp router-id 192.168.57.10
 no bgp ebgp-requires-policy
 neighbor fd00:57::100 remote-as 64520
 neighbor fd00:57::100 timers 3 9
 neighbor fd00:57::100 timers connect 1
 address-family ipv6 unicast
  neighbor fd00:57::100 activate
 exit-address-family
"""


def test_an_ipv6_session_carries_the_ipv6_anycast_prefix(pair: Pair) -> None:
    pair.minibgp.config_path.write_text(
        "[speaker]\nasn = 64520\n"
        f'router_id = "{MINIBGP_ADDRESS}"\ncontrol_socket = "{pair.minibgp.socket}"\n\n'
        '[[peer]]\naddress = "fd00:57::10"\nasn = 4290001234\nhold_time = 9\nconnect_retry = 1\n\n'
        f'[[announce]]\nprefix = "{ANYCAST6}"\n'
    )
    router = FrrRouter(pair.router_host, pair.run_dir / "frr", FRR_IPV6_SESSION)
    router.start()
    pair.minibgp.start()
    wait_until(
        lambda: frr_neighbor(router, "fd00:57::100").get("bgpState") == "Established",
        timeout=30,
        what="the IPv6 session",
    )
    wait_until(lambda: frr_route(router, ANYCAST6).get("paths"), timeout=10, what="the /128")
    (path,) = frr_route(router, ANYCAST6)["paths"]
    assert path["aspath"]["string"] == "64520"
    assert path["nexthops"][0]["ip"] == "fd00:57::100"  # next-hop self on the IPv6 session
