"""minibgp's failover features against a real FRR 8.4 router: graceful drain (RFC 8326), BFD
(RFC 5880/5881) in the speaker, and health checks on a real DNS server.

The router (zebra, bgpd, bfdd) is router1 of the seed; server1 (minibgp, 192.168.57.100,
AS 64520) and, for the drain, a second speaker on the same link (192.168.57.101, AS 64530,
announcing the same /32 with a longer AS path) play the two anycast servers. Times are taken
from where a client would feel them, the router's kernel route to 169.254.0.1, and are printed
(run with -s) and recorded as test properties; the bounds asserted are loose (about 3x what is
measured here) so that a loaded machine does not make them flake.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from datetime import datetime
from typing import Any

import pytest

from lab.frr import FrrRouter, wait_until
from minibgp.control import request, request_steps
from tests.conftest import require_programs
from tests.minibgp.interop.pair import (
    ANYCAST,
    MINIBGP_ADDRESS,
    REPO,
    ROUTER_ADDRESS,
    Minibgp,
    Pair,
    frr_neighbor,
    frr_route,
)

pytestmark = pytest.mark.interop

SECOND_ADDRESS = "192.168.57.101"  # the second anycast server, for the drain
ZONE = """\
$ORIGIN example.com.
$TTL 3600
@    IN SOA ns1.example.com. hostmaster.example.com. 1 3600 600 604800 3600
@    IN NS  ns1.example.com.
@    IN MX  25 mail.example.com.
www  IN A   192.0.2.1
"""

ROUTER_CONFIG = f"""\
frr defaults traditional
hostname router1
log file {{log}}
log timestamp precision 6
debug bfd peer
bgp community-list standard GSHUT seq 5 permit graceful-shutdown
route-map FROM-SERVERS permit 10
 match community GSHUT
 set local-preference 0
!
route-map FROM-SERVERS permit 20
!
bfd
 profile fast
  receive-interval 100
  transmit-interval 100
  detect-multiplier 3
 !
!
router bgp 4290001234
 bgp router-id {ROUTER_ADDRESS}
 no bgp ebgp-requires-policy
 neighbor {MINIBGP_ADDRESS} remote-as 64520
 neighbor {MINIBGP_ADDRESS} timers 3 9
 neighbor {MINIBGP_ADDRESS} timers connect 1
 neighbor {SECOND_ADDRESS} remote-as 64530
 neighbor {SECOND_ADDRESS} timers 3 9
 neighbor {SECOND_ADDRESS} timers connect 1
{{neighbor_extra}}
 address-family ipv4 unicast
{{family_extra}}
 exit-address-family
!
"""
# RFC 8326 §4.1: the router's import policy gives paths marked GRACEFUL_SHUTDOWN a low LOCAL_PREF.
HONOUR_GSHUT = (
    f"  neighbor {MINIBGP_ADDRESS} route-map FROM-SERVERS in\n"
    f"  neighbor {SECOND_ADDRESS} route-map FROM-SERVERS in\n"
)
BFD_PROFILE = f" neighbor {MINIBGP_ADDRESS} bfd profile fast\n"

SPEAKER_CONFIG = """\
[speaker]
asn = {asn}
router_id = "{address}"
control_socket = "{socket}"
listen = "{address}"
{speaker_extra}

[[peer]]
address = "{router}"
asn = 4290001234
local_address = "{address}"
hold_time = 9
connect_retry = 1
{peer_extra}

[[announce]]
prefix = "{anycast}"
{announce_extra}
"""


@pytest.fixture(autouse=True)
def _frr_installed() -> None:
    require_programs("/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "/usr/lib/frr/bfdd", "vtysh", "tc")


def write_speaker(
    speaker: Minibgp, asn: int, address: str, speaker_extra: str = "", peer_extra: str = "",
    announce_extra: str = "", more: str = "",
) -> None:  # fmt: skip
    speaker.config_path.write_text(
        SPEAKER_CONFIG.format(
            asn=asn, address=address, socket=speaker.socket, router=ROUTER_ADDRESS,
            anycast=ANYCAST, speaker_extra=speaker_extra, peer_extra=peer_extra,
            announce_extra=announce_extra,
        )
        + more
    )  # fmt: skip


def start_router(pair: Pair, neighbor_extra: str = "", family_extra: str = "") -> FrrRouter:
    run_dir = pair.run_dir / "frr"
    config = ROUTER_CONFIG.format(
        log=run_dir / "frr.log", neighbor_extra=neighbor_extra, family_extra=family_extra
    )
    router = FrrRouter(pair.router_host, run_dir, config, daemons=("zebra", "bfdd", "bgpd"))
    router.start()
    return router


def second_speaker(pair: Pair) -> Minibgp:
    """A second anycast server on the same link, announcing the same /32 one AS hop longer."""
    pair.minibgp_host.add_address("eth0", f"{SECOND_ADDRESS}/24")
    d = pair.run_dir
    speaker = Minibgp(pair.minibgp_host, d / "second.toml", d / "second.sock", d / "second.log")
    write_speaker(speaker, 64530, SECOND_ADDRESS, announce_extra="as_path_prepend = 1")
    return speaker


def kernel_next_hop(router: FrrRouter) -> str | None:
    """The next hop of the router's kernel route to the anycast address, None without one."""
    routes = json.loads(router.host.ip("-j", "route", "show", ANYCAST) or "[]")
    return str(routes[0].get("gateway")) if routes else None


def wait_next_hop(router: FrrRouter, wanted: str | None, timeout: float) -> float:
    """Seconds until the router's kernel route goes via `wanted` (None: no route), polled fast."""
    started = time.monotonic()
    wait_until(lambda: kernel_next_hop(router) == wanted, timeout=timeout, interval=0.005,
               what=f"the kernel route via {wanted}")  # fmt: skip
    return time.monotonic() - started


def paths_by_peer(router: FrrRouter) -> dict[str, dict[str, Any]]:
    """FRR's paths to the anycast /32, by the peer each came from."""
    return {p["peer"]["peerId"]: p for p in frr_route(router, ANYCAST).get("paths", [])}


def best_peer(router: FrrRouter) -> str | None:
    best = [peer for peer, p in paths_by_peer(router).items() if p.get("bestpath")]
    return best[0] if best else None


def report(record_property: Any, name: str, seconds: float) -> None:
    record_property(name, round(seconds * 1000, 1))
    print(f"\n{name}: {seconds * 1000:.0f} ms")


def log_time(log: str, text: str) -> float:
    """The (wall clock) time of the first minibgp log line containing `text`."""
    line = next(line for line in log.splitlines() if text in line)
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def frr_log_time(router: FrrRouter, text: str) -> float:
    """The time of the first line of FRR's log (microsecond timestamps) containing `text`."""
    log = (router.run_dir / "frr.log").read_text(errors="replace")
    line = next(line for line in log.splitlines() if text in line)
    return datetime.strptime(line[:26], "%Y/%m/%d %H:%M:%S.%f").timestamp()


# -- graceful drain (RFC 8326) -------------------------------------------------------------------


def two_servers(pair: Pair, family_extra: str, speaker_extra: str) -> FrrRouter:
    """Both speakers up, FRR's best path (and kernel route) via server1."""
    write_speaker(pair.minibgp, 64520, MINIBGP_ADDRESS, speaker_extra=speaker_extra)
    second = second_speaker(pair)
    router = start_router(pair, family_extra=family_extra)
    pair.minibgp.start()
    second.start()
    wait_until(lambda: len(paths_by_peer(router)) == 2, timeout=30, what="both paths in FRR")
    wait_until(lambda: best_peer(router) == MINIBGP_ADDRESS, timeout=5, what="server1 best")
    wait_next_hop(router, MINIBGP_ADDRESS, timeout=5)
    return router


def test_drain_moves_the_routers_best_path_before_withdrawing(
    pair: Pair, record_property: Any
) -> None:
    """RFC 8326 with a router that honours GRACEFUL_SHUTDOWN: traffic moves to the other server
    at once while our path is still there; our path goes after drain_time."""
    router = two_servers(pair, HONOUR_GSHUT, "drain_time = 1.5")
    steps: list[dict[str, Any]] = []

    def drain() -> None:
        steps.extend(request_steps(pair.minibgp.socket, "drain", None))

    command_at = time.monotonic()
    thread = threading.Thread(target=drain)
    thread.start()
    moved = wait_next_hop(router, SECOND_ADDRESS, timeout=5)
    report(record_property, "drain_command_to_router_kernel_route_moved_ms", moved)
    assert moved < 0.6  # target 200 ms; measured well below (see docs/failover.md)

    # ours is still there, marked, and no longer the best
    ours = paths_by_peer(router)[MINIBGP_ADDRESS]
    assert "graceful-shutdown" in ours["community"]["string"].split()
    assert ours["locPrf"] == 0 and not ours.get("bestpath")
    assert best_peer(router) == SECOND_ADDRESS
    assert thread.is_alive()  # `drain` answers when the withdraw is done

    wait_until(lambda: MINIBGP_ADDRESS not in paths_by_peer(router), timeout=5,
               what="our path withdrawn")  # fmt: skip
    gone = time.monotonic() - command_at
    report(record_property, "drain_command_to_withdraw_seen_by_frr_ms", gone)
    assert 1.5 <= gone < 3.0
    thread.join(timeout=5)
    assert [s["step"] for s in steps] == ["graceful-shutdown", "withdrawn"]
    assert frr_neighbor(router)["bgpState"] == "Established"  # the session stays

    # undrain: our path is back, unmarked, and best again
    request(pair.minibgp.socket, "undrain")
    wait_until(lambda: best_peer(router) == MINIBGP_ADDRESS, timeout=5, what="back")
    assert "community" not in paths_by_peer(router)[MINIBGP_ADDRESS]


def test_frr_honours_a_received_gshut_even_without_a_policy(pair: Pair) -> None:
    """FRR 8.4 itself gives an eBGP path marked 65535:0 LOCAL_PREF 0 (RFC 8326 §4.1's policy,
    built in): the drain works against a router with no route-map at all."""
    router = two_servers(pair, family_extra="", speaker_extra="drain_time = 3")
    request(pair.minibgp.socket, "drain", wait=False)
    wait_until(lambda: best_peer(router) == SECOND_ADDRESS, timeout=5, what="second best")
    ours = paths_by_peer(router)[MINIBGP_ADDRESS]
    assert ours["community"]["string"] == "graceful-shutdown"
    assert ours["locPrf"] == 0
    assert paths_by_peer(router)[SECOND_ADDRESS]["bestpath"]["selectionReason"] == "Local Pref"


def test_sigterm_with_drain_on_sigterm_drains_then_ceases(pair: Pair, record_property: Any) -> None:
    """drain_on_sigterm: SIGTERM moves traffic first (graceful shutdown), then withdraws and
    closes with Cease / Administrative Shutdown."""
    router = two_servers(pair, HONOUR_GSHUT, "drain_time = 1.0\ndrain_on_sigterm = true")
    signalled_at = time.monotonic()
    pair.minibgp.signal(signal.SIGTERM)
    moved = wait_next_hop(router, SECOND_ADDRESS, timeout=5)
    report(record_property, "sigterm_to_router_kernel_route_moved_ms", moved)
    assert moved < 0.6
    assert MINIBGP_ADDRESS in paths_by_peer(router)  # still there, marked
    assert pair.minibgp.wait(timeout=5) == 0
    stopped = time.monotonic() - signalled_at
    assert 1.0 <= stopped < 3.0
    wait_until(lambda: frr_neighbor(router)["bgpState"] != "Established", timeout=5,
               what="the session closed")  # fmt: skip
    assert frr_neighbor(router)["lastNotificationReason"] == "Cease/Administrative Shutdown"


def test_a_second_sigterm_cuts_the_drain_short(pair: Pair) -> None:
    write_speaker(pair.minibgp, 64520, MINIBGP_ADDRESS,
                  speaker_extra="drain_time = 60\ndrain_on_sigterm = true")  # fmt: skip
    router = start_router(pair, family_extra=HONOUR_GSHUT)
    pair.minibgp.start()
    wait_until(lambda: MINIBGP_ADDRESS in paths_by_peer(router), timeout=30, what="our path")
    pair.minibgp.signal(signal.SIGTERM)
    wait_until(
        lambda: (
            "graceful-shutdown"
            in paths_by_peer(router).get(MINIBGP_ADDRESS, {}).get("community", {}).get("string", "")
        ),
        timeout=5,
        what="the community",
    )
    pair.minibgp.signal(signal.SIGTERM)
    assert pair.minibgp.wait(timeout=3) == 0  # not 60 s
    assert "withdrawing without waiting any longer" in pair.minibgp.log()


def test_the_drain_command_line_prints_each_step(pair: Pair) -> None:
    write_speaker(pair.minibgp, 64520, MINIBGP_ADDRESS)
    router = start_router(pair, family_extra=HONOUR_GSHUT)
    pair.minibgp.start()
    wait_until(lambda: MINIBGP_ADDRESS in paths_by_peer(router), timeout=30, what="our path")
    socket = str(pair.minibgp.socket)
    out = pair.minibgp.cli("drain", "--socket", socket, "--time", "0.3").stdout
    lines = out.splitlines()
    assert lines[0].startswith("graceful shutdown: announced with GRACEFUL_SHUTDOWN (65535:0)")
    assert lines[1].startswith("withdrawn after 0.3")
    assert "Drained: every route to every peer: withdrawn" in out
    # `drain` returns once the withdraw is sent; FRR takes a moment to drop the path.
    wait_until(lambda: MINIBGP_ADDRESS not in paths_by_peer(router), timeout=2, what="withdraw")
    out = pair.minibgp.cli("undrain", "--socket", socket).stdout
    assert "Drained" not in out
    wait_until(lambda: MINIBGP_ADDRESS in paths_by_peer(router), timeout=5, what="back")


IBGP_ROUTER_CONFIG = f"""\
frr defaults traditional
hostname router1
router bgp 64520
 bgp router-id {ROUTER_ADDRESS}
 neighbor {MINIBGP_ADDRESS} remote-as 64520
 neighbor {MINIBGP_ADDRESS} timers 3 9
 neighbor {MINIBGP_ADDRESS} timers connect 1
!
"""


def test_an_ibgp_peer_gets_local_pref_0_with_the_community(pair: Pair) -> None:
    """RFC 8326 §4: to an internal peer the drained route also carries LOCAL_PREF 0."""
    pair.minibgp.config_path.write_text(
        SPEAKER_CONFIG.format(
            asn=64520, address=MINIBGP_ADDRESS, socket=pair.minibgp.socket,
            router=ROUTER_ADDRESS, anycast=ANYCAST, speaker_extra="", peer_extra="",
            announce_extra="",
        ).replace("asn = 4290001234", "asn = 64520")
    )  # fmt: skip
    router = FrrRouter(pair.router_host, pair.run_dir / "frr", IBGP_ROUTER_CONFIG)
    router.start()
    pair.minibgp.start()
    wait_until(lambda: MINIBGP_ADDRESS in paths_by_peer(router), timeout=30, what="our path")
    assert paths_by_peer(router)[MINIBGP_ADDRESS]["locPrf"] == 100
    request(pair.minibgp.socket, "drain", wait=False)
    wait_until(lambda: paths_by_peer(router)[MINIBGP_ADDRESS].get("locPrf") == 0, timeout=5,
               what="LOCAL_PREF 0")  # fmt: skip
    ours = paths_by_peer(router)[MINIBGP_ADDRESS]
    assert ours["community"]["string"] == "graceful-shutdown"
    assert ours["aspath"]["length"] == 0  # internal: we originate an empty AS path


# -- BFD in the speaker, against FRR's bfdd -----------------------------------------------------

BFD_PEER = "bfd = { min_tx = 100, min_rx = 100, multiplier = 3 }"


def start_with_bfd(pair: Pair) -> FrrRouter:
    write_speaker(pair.minibgp, 64520, MINIBGP_ADDRESS, peer_extra=BFD_PEER)
    router = start_router(pair, neighbor_extra=BFD_PROFILE)
    pair.minibgp.start()
    wait_until(lambda: kernel_next_hop(router) == MINIBGP_ADDRESS, timeout=30, what="our route")
    wait_until(lambda: frr_bfd_peer(router).get("status") == "up", timeout=10, what="BFD up")
    return router


def frr_bfd_peer(router: FrrRouter) -> dict[str, Any]:
    peers = router.vtysh_json("show bfd peers json")
    return next((p for p in peers if p["peer"] == MINIBGP_ADDRESS), {})


def test_bfd_comes_up_with_frr_and_the_timers_are_negotiated(pair: Pair) -> None:
    router = start_with_bfd(pair)
    peer = frr_bfd_peer(router)
    assert peer["status"] == "up" and peer["diagnostic"] == "ok"
    assert peer["remote-receive-interval"] == 100 and peer["remote-transmit-interval"] == 100
    assert peer["remote-detect-multiplier"] == 3
    assert frr_neighbor(router)["bgpState"] == "Established"
    assert "BFD session Up" in pair.minibgp.log()
    # our side of the negotiation (RFC 5880 §6.8.2, §6.8.4), once its Poll Sequence is over
    wait_until(
        lambda: pair.minibgp.neighbor()["bfd"]
        == {"state": "UP", "diagnostic": "NO_DIAGNOSTIC", "transmit_interval_ms": 100,
            "detection_time_ms": 300},
        timeout=5,
        what="our BFD timers",
    )  # fmt: skip


def test_frr_drops_a_frozen_servers_route_within_the_bfd_detection_time(
    pair: Pair, record_property: Any
) -> None:
    router = start_with_bfd(pair)
    assert pair.minibgp.process is not None
    frozen_at = time.time()
    started = time.monotonic()
    os.kill(pair.minibgp.process.pid, signal.SIGSTOP)
    try:
        wait_next_hop(router, None, timeout=5)
        gone = time.monotonic() - started
    finally:
        os.kill(pair.minibgp.process.pid, signal.SIGCONT)
    bfd_down = frr_log_time(router, "up -> down") - frozen_at
    report(record_property, "frr_bfd_detects_frozen_minibgp_ms", bfd_down)
    report(record_property, "frozen_minibgp_to_router_kernel_route_gone_ms", gone)
    assert gone < 1.0  # 300 ms detection + FRR's reaction; the hold timer would take 9 s
    # after SIGCONT, BFD and BGP come back
    wait_until(lambda: kernel_next_hop(router) == MINIBGP_ADDRESS, timeout=30, what="back")


def test_minibgp_drops_the_session_with_bfd_down_when_frr_goes_silent(
    pair: Pair, record_property: Any
) -> None:
    router = start_with_bfd(pair)
    silent_at = time.time()
    pair.router_host.run(["tc", "qdisc", "add", "dev", "eth0", "root", "blackhole"])
    try:
        wait_until(lambda: "sent NOTIFICATION Cease / BFD Down" in pair.minibgp.log(),
                   timeout=5, interval=0.01, what="Cease / BFD Down")  # fmt: skip
        # FRR still hears us (only its own packets are dropped): it got the NOTIFICATION. Read
        # before FRR may speak again: once Established anew, FRR no longer shows the reason.
        wait_until(
            lambda: frr_neighbor(router).get("lastNotificationReason", "").startswith("Cease/BFD"),
            timeout=5,
            what="FRR to record Cease / BFD Down",
        )
    finally:
        pair.router_host.run(["tc", "qdisc", "del", "dev", "eth0", "root"])
    log = pair.minibgp.log()
    detected = log_time(log, "BFD session Down") - silent_at
    ceased = log_time(log, "sent NOTIFICATION Cease / BFD Down") - silent_at
    report(record_property, "minibgp_bfd_detects_silent_frr_ms", detected)
    report(record_property, "silent_frr_to_cease_bfd_down_ms", ceased)
    assert ceased < 1.0
    assert "BFD session Down (CONTROL_DETECTION_TIME_EXPIRED)" in log
    wait_until(lambda: kernel_next_hop(router) == MINIBGP_ADDRESS, timeout=30, what="back")


# -- health checks on a real DNS server ---------------------------------------------------------

DNS_CHECK = f"""
[[check]]
name = "dns"
kind = "dns"
target = "{ANYCAST.split("/")[0]}:53"
query = "example.com. SOA"
keep_open = {{keep_open}}
interval = 0.2
timeout = 0.2
rise = 2
fall = 2
"""
PROCESS_CHECK = """
[[check]]
name = "process"
kind = "process"
pidfile = "{pidfile}"
"""


def start_minidns(pair: Pair) -> Any:
    """minidns on the anycast address inside the server's namespace; its PID in a pidfile."""
    zone = pair.run_dir / "example.com.zone"
    zone.write_text(ZONE)
    process = pair.minibgp_host.popen(
        [sys.executable, "-m", "minidns", "--zone", f"example.com={zone}",
         "--listen", f"{ANYCAST.split('/')[0]}:53", "--identity", "server1"],
        stdout=(pair.run_dir / "minidns.log").open("ab"), stderr=-2, cwd=REPO,
    )  # fmt: skip
    (pair.run_dir / "minidns.pid").write_text(f"{process.pid}\n")  # `ip netns exec` execs it
    return process


@pytest.mark.parametrize("watch", ["keep_open", "process"])
def test_the_route_follows_the_dns_server(pair: Pair, record_property: Any, watch: str) -> None:
    """Announced only while the local DNS server answers; a killed server is withdrawn at once
    — seen by the held-open TCP connection (`keep_open`) or by the pidfd of its process
    (`process`) —, a restarted one is announced after `rise` probes."""
    if watch == "keep_open":
        checks, more = '["dns"]', DNS_CHECK.format(keep_open="true")
    else:  # the periodic query alone would take fall x interval: the process watch is first
        pidfile = pair.run_dir / "minidns.pid"
        checks = '["dns", "process"]'
        more = DNS_CHECK.format(keep_open="false") + PROCESS_CHECK.format(pidfile=pidfile)
    write_speaker(pair.minibgp, 64520, MINIBGP_ADDRESS, announce_extra=f"checks = {checks}",
                  more=more)  # fmt: skip
    router = start_router(pair)
    pair.minibgp.start()
    wait_until(lambda: frr_neighbor(router).get("bgpState") == "Established", timeout=30,
               what="the session")  # fmt: skip
    time.sleep(1.0)  # the checks fail while no DNS server runs: nothing is announced
    assert kernel_next_hop(router) is None and not paths_by_peer(router)

    dns = start_minidns(pair)
    wait_until(lambda: kernel_next_hop(router) == MINIBGP_ADDRESS, timeout=10, what="announced")

    killed_at = time.monotonic()
    dns.kill()
    gone = wait_next_hop(router, None, timeout=5)
    dns.wait(timeout=5)
    report(record_property, f"dns_killed_to_router_kernel_route_gone_ms[{watch}]", gone)
    assert gone < 0.45  # target 150 ms
    assert "fails a check: withdrawing" in pair.minibgp.log()
    assert time.monotonic() - killed_at < 1.0

    restarted_at = time.monotonic()
    dns = start_minidns(pair)
    back = wait_next_hop(router, MINIBGP_ADDRESS, timeout=10)
    report(record_property, f"dns_restarted_to_router_kernel_route_back_ms[{watch}]", back)
    assert back >= 0.2  # `rise` = 2 passing probes, 0.2 s apart
    assert time.monotonic() - restarted_at < 5.0
    dns.kill()
    dns.wait(timeout=5)
