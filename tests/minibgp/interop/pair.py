"""Helpers of the interop tests: minibgp in one network namespace, a real peer (FRR, BIRD,
GoBGP) in another, a veth between.

Addresses as in the seed: minibgp (server1) 192.168.57.100 AS 64520, the router 192.168.57.10
AS 4290001234; IPv6 fd00:57::100 / fd00:57::10 on the same link.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.frr import FrrRouter, wait_until
from lab.netns import Netns, Network
from minibgp.control import ControlError, request, show_routes

REPO = Path(__file__).resolve().parents[3]
MINIBGP_ADDRESS = "192.168.57.100"
MINIBGP_ASN = 64520
ROUTER_ADDRESS = "192.168.57.10"
ROUTER_ASN = 4290001234
MINIBGP_ADDRESS6 = "fd00:57::100"
ROUTER_ADDRESS6 = "fd00:57::10"
ANYCAST = "169.254.0.1/32"
ANYCAST6 = "2001:db8:53::1/128"

MINIBGP_CONFIG = f"""\
[speaker]
asn = {MINIBGP_ASN}
router_id = "{MINIBGP_ADDRESS}"
control_socket = "{{socket}}"

[[peer]]
address = "{ROUTER_ADDRESS}"
asn = {ROUTER_ASN}
hold_time = 9
connect_retry = 1
{{peer_extra}}

[[announce]]
prefix = "{ANYCAST}"
{{announce_extra}}
"""

FRR_CONFIG = f"""\
frr defaults traditional
hostname router1
router bgp {ROUTER_ASN}
 bgp router-id {ROUTER_ADDRESS}
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor {MINIBGP_ADDRESS} remote-as {MINIBGP_ASN}
 neighbor {MINIBGP_ADDRESS} timers 3 9
 neighbor {MINIBGP_ADDRESS} timers connect 1
{{neighbor_extra}}
 address-family ipv4 unicast
  network 192.168.57.0/24
  network 10.57.1.0/24
 exit-address-family
 address-family ipv6 unicast
  neighbor {MINIBGP_ADDRESS} activate
  network fd00:57::/64
 exit-address-family
"""


@dataclass
class Minibgp:
    """A `python -m minibgp` process in a namespace, and its control socket."""

    host: Netns
    config_path: Path
    socket: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    extra_args: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.process = self.host.popen(
            [sys.executable, "-m", "minibgp", "--config", str(self.config_path), *self.extra_args],
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )

    def signal(self, signum: int) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signum)

    def wait(self, timeout: float = 5.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def ask(self, command: str, **arguments: Any) -> dict[str, Any]:
        return request(self.socket, command, timeout=5.0, **arguments)

    def neighbor(self) -> dict[str, Any]:
        try:
            return dict(self.ask("show neighbors")["neighbors"][0])
        except (ControlError, OSError, IndexError):
            return {}

    def received(self) -> dict[str, dict[str, Any]]:
        peers = show_routes(self.socket, timeout=5.0)["peers"]
        return {route["prefix"]: route for route in peers[0]["received"]}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "minibgp", *args],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=REPO,
        )


@dataclass
class Pair:
    """minibgp and a peer across a veth."""

    network: Network
    minibgp_host: Netns
    router_host: Netns
    run_dir: Path
    minibgp: Minibgp

    def write_minibgp_config(
        self, peer_extra: str = "", announce_extra: str = "", more: str = ""
    ) -> None:
        self.minibgp.config_path.write_text(
            MINIBGP_CONFIG.format(
                socket=self.minibgp.socket, peer_extra=peer_extra, announce_extra=announce_extra
            )
            + more
        )

    def start_frr(self, neighbor_extra: str = "") -> FrrRouter:
        router = FrrRouter(
            self.router_host,
            self.run_dir / "frr",
            FRR_CONFIG.format(neighbor_extra=neighbor_extra),
        )
        router.start()
        return router


def frr_route(router: FrrRouter, prefix: str) -> dict[str, Any]:
    family = "ipv6" if ":" in prefix else "ipv4"
    return router.vtysh_json(f"show bgp {family} unicast {prefix} json")  # type: ignore[no-any-return]


def frr_neighbor(router: FrrRouter, address: str = MINIBGP_ADDRESS) -> dict[str, Any]:
    return router.vtysh_json(f"show bgp neighbors {address} json").get(address, {})  # type: ignore[no-any-return]


def wait_established(router: FrrRouter, timeout: float = 30) -> None:
    wait_until(
        lambda: frr_neighbor(router).get("bgpState") == "Established",
        timeout=timeout,
        what="FRR to reach Established with minibgp",
    )


def gone_within(check: Callable[[], bool], timeout: float) -> float:
    """Seconds until `check()` is true, polling fast; raises TimeoutError past `timeout`."""
    started = time.monotonic()
    wait_until(check, timeout=timeout, interval=0.01)
    return time.monotonic() - started
