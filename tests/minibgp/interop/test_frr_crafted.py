"""FRR 8.4 given the crafted messages of tests/minibgp/crafted.py, byte for byte as minibgp gets
them in tests/minibgp/test_crafted.py: what FRR answers, stores and logs, so that
docs/minibgp.md's comparison stays true.

A scripted peer in server1's namespace (192.168.57.100, AS 64520) speaks to FRR as router1
(192.168.57.10, AS 4290001234): raw OPENs first, then one session that negotiates IPv4 unicast
only and sends every crafted UPDATE.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lab.frr import FrrRouter, wait_until
from tests.conftest import require_programs
from tests.minibgp import crafted
from tests.minibgp.crafted import KEEPALIVE, UPDATES
from tests.minibgp.interop.pair import Pair

pytestmark = pytest.mark.interop

FRR_CONFIG = f"""\
frr defaults traditional
hostname router1
router bgp {crafted.RECEIVER_AS}
 bgp router-id {crafted.RECEIVER}
 no bgp ebgp-requires-policy
 neighbor {crafted.SENDER} remote-as {crafted.SENDER_AS}
 neighbor {crafted.SENDER} passive
 address-family ipv4 unicast
  neighbor {crafted.SENDER} soft-reconfiguration inbound
 exit-address-family
"""
NOTIFICATION, KEEPALIVE_TYPE = 3, 4


class ScriptedPeer:
    """A TCP connection from server1's namespace to FRR, and the raw messages on it."""

    def __init__(self, pair: Pair) -> None:
        self.sock = pair.minibgp_host.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect((crafted.RECEIVER, 179))

    def read(self) -> tuple[int, bytes]:
        """The next message: (type, body)."""
        header = self._exactly(19)
        length, kind = int.from_bytes(header[16:18], "big"), header[18]
        return kind, self._exactly(length - 19)

    def _exactly(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("FRR closed the connection")
            data += chunk
        return data

    def answer_to(self, message: bytes) -> tuple[int, bytes]:
        """Send `message` (an OPEN); FRR's NOTIFICATION or KEEPALIVE after its own OPEN."""
        self.sock.sendall(message)
        while True:
            kind, body = self.read()
            if kind in (NOTIFICATION, KEEPALIVE_TYPE):
                return kind, body

    def close(self) -> None:
        self.sock.close()


def answer(pair: Pair, message: bytes) -> tuple[int, bytes]:
    """FRR's answer to an OPEN, once FRR is ready to talk (it resets the first connections while
    zebra has not told bgpd its interfaces yet, and waits a moment after each refusal)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            peer = ScriptedPeer(pair)
            try:
                kind, body = peer.answer_to(message)
            finally:
                peer.close()
            if kind != NOTIFICATION or body[0] not in (5, 6):  # not an FSM error or Cease
                return kind, body
        except OSError:
            pass
        assert time.monotonic() < deadline, "FRR never answered the OPEN"
        time.sleep(0.5)


@pytest.fixture
def frr(pair: Pair) -> Iterator[FrrRouter]:
    require_programs("/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh")
    router = FrrRouter(pair.router_host, pair.run_dir / "frr", FRR_CONFIG)
    router.start()
    yield router


def session(pair: Pair, frr: FrrRouter) -> ScriptedPeer:
    """An Established session with FRR, IPv4 unicast alone negotiated."""
    deadline = time.monotonic() + 30
    while True:
        try:
            peer = ScriptedPeer(pair)
            if peer.answer_to(crafted.OPEN + KEEPALIVE)[0] == KEEPALIVE_TYPE:
                break
            peer.close()
        except OSError:
            pass
        assert time.monotonic() < deadline, "no session with FRR"
        time.sleep(0.5)
    wait_until(lambda: neighbor(frr).get("bgpState") == "Established", 10, what="Established")
    return peer


def neighbor(frr: FrrRouter) -> dict[str, Any]:
    return frr.vtysh_json(f"show bgp neighbors {crafted.SENDER} json").get(crafted.SENDER, {})  # type: ignore[no-any-return]


def route(frr: FrrRouter, prefix: str) -> dict[str, Any]:
    family = "ipv6" if ":" in prefix else "ipv4"
    return frr.vtysh_json(f"show bgp {family} unicast {prefix} json")  # type: ignore[no-any-return]


def received(frr: FrrRouter) -> dict[str, Any]:
    """FRR's Adj-RIB-In from the peer, before its checks (soft-reconfiguration inbound)."""
    answer = frr.vtysh_json(
        f"show bgp ipv4 unicast neighbors {crafted.SENDER} received-routes json"
    )
    return answer.get("receivedRoutes", {})  # type: ignore[no-any-return]


def test_frr_answers_opens_with_as_0_bad_peer_as(pair: Pair, frr: FrrRouter) -> None:
    # RFC 7607 §2: 2/2, no data (My AS is checked before the capability)
    assert answer(pair, crafted.OPEN_MY_AS_0) == (NOTIFICATION, bytes.fromhex("0202"))
    assert "bad OPEN, got AS set to 0" in frr.log()
    # the capability's AS 0: 2/2 with the capability's AS as data
    assert answer(pair, crafted.OPEN_CAPABILITY_AS_0) == (
        NOTIFICATION,
        bytes.fromhex("020200000000"),
    )
    # My AS neither AS_TRANS nor the capability's AS: FRR refuses it (minibgp does not)
    assert answer(pair, crafted.OPEN_MY_AS_MISMATCH) == (
        NOTIFICATION,
        bytes.fromhex("02020000fc08"),
    )


def test_frr_given_the_crafted_updates(pair: Pair, frr: FrrRouter) -> None:
    peer = session(pair, frr)
    # first a usable route for the prefix that then comes with FRR's own address as next hop
    prefix, unusable = crafted.NEXT_HOP_IS_RECEIVER
    peer.sock.sendall(unusable.replace(bytes.fromhex("c0a8390a"), bytes.fromhex("c0a83964")))
    wait_until(lambda: route(frr, prefix).get("paths"), 10, what="the usable route")
    for _prefix, message in UPDATES.values():
        peer.sock.sendall(message)
    well_formed, _ = crafted.WELL_FORMED
    wait_until(lambda: route(frr, well_formed).get("paths"), 10, what="the well-formed route")
    assert neighbor(frr)["bgpState"] == "Established"  # no NOTIFICATION for any of them

    # AS 0 in AS_PATH, confederation segments from an external peer: treat-as-withdraw
    for prefix, _ in (crafted.AS_0_IN_AS_PATH, crafted.CONFED_SEQUENCE, crafted.CONFED_SET):
        assert not route(frr, prefix).get("paths") and prefix not in received(frr)
    log = frr.log()
    assert "Malformed AS path, AS number is 0 in the path from 192.168.57.100" in log
    assert log.count("Malformed AS path from 192.168.57.100") == 2
    # AS 0 in AGGREGATOR: the attribute is dropped, the route used
    prefix, _ = crafted.AS_0_IN_AGGREGATOR
    (path,) = route(frr, prefix)["paths"]
    assert "aggregatorAs" not in path
    assert "AGGREGATOR AS number is 0" in log
    # our own address as NEXT_HOP: received (Adj-RIB-In) but not used (the earlier path gone)
    # and not logged
    prefix, _ = crafted.NEXT_HOP_IS_RECEIVER
    assert prefix in received(frr) and not route(frr, prefix).get("paths")
    assert "10.0.5.0" not in log and "martian" not in log.lower()
    # IPv6 not negotiated, nor activated for the neighbor: ignored
    prefix, message = crafted.IPV6_NOT_NEGOTIATED
    assert not route(frr, prefix).get("paths")
    assert "UPDATE for non-enabled AFI/SAFI 2/1" in log

    # IPv6 activated for the neighbor (the session restarts) but still not negotiated: stored
    peer.close()
    frr.vtysh("configure terminal", f"router bgp {crafted.RECEIVER_AS}",
              "address-family ipv6 unicast", f"neighbor {crafted.SENDER} activate")  # fmt: skip
    wait_until(lambda: neighbor(frr).get("bgpState") != "Established", 10, what="session down")
    peer = session(pair, frr)
    assert (
        neighbor(frr)["neighborCapabilities"]["multiprotocolExtensions"]
        .get("ipv6Unicast", {})
        .get("received")
        is None
    )  # not negotiated
    peer.sock.sendall(message)
    wait_until(lambda: route(frr, prefix).get("paths"), 10, what="FRR to store the IPv6 route")
    peer.close()
