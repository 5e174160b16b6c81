"""minibgp against BIRD 2 (Debian's bird2) as the router."""

from __future__ import annotations

import signal
import subprocess

import pytest

from lab.frr import wait_until
from tests.conftest import require_programs
from tests.minibgp.interop.pair import (
    ANYCAST,
    MINIBGP_ADDRESS,
    ROUTER_ADDRESS,
    Pair,
)

pytestmark = pytest.mark.interop

BIRD_CONFIG = f"""\
router id {ROUTER_ADDRESS};
log "LOG" all;

protocol device {{ }}

protocol static {{
  ipv4;
  route 10.57.2.0/24 blackhole;
}}

protocol bgp server1 {{
  local {ROUTER_ADDRESS} as 4290001234;
  neighbor {MINIBGP_ADDRESS} as 64520;
  hold time 9;
  connect retry time 1;
  ipv4 {{ import all; export all; }};
}}
"""


class Bird:
    """`bird -f` in the router namespace, asked through `birdc -s SOCKET`."""

    def __init__(self, pair: Pair) -> None:
        self.pair = pair
        self.dir = pair.run_dir / "bird"
        self.dir.mkdir()
        self.socket = self.dir / "bird.ctl"
        config = self.dir / "bird.conf"
        config.write_text(BIRD_CONFIG.replace("LOG", str(self.dir / "bird.log")))
        pair.router_host.popen(
            ["bird", "-c", str(config), "-s", str(self.socket), "-P", str(self.dir / "bird.pid"),
             "-f"],
            stdout=(self.dir / "bird.out").open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until(self.socket.exists, timeout=10, what="BIRD's control socket")

    def birdc(self, *command: str) -> str:
        argv = ["birdc", "-s", str(self.socket), *command]
        return self.pair.router_host.run(argv, check=False).stdout


@pytest.fixture
def bird(pair: Pair) -> Bird:
    require_programs("bird", "birdc")
    return Bird(pair)


def test_bird_establishes_and_routes_go_both_ways(pair: Pair, bird: Bird) -> None:
    pair.write_minibgp_config(announce_extra='communities = ["65000:1"]\nmed = 50')
    pair.minibgp.start()
    wait_until(
        lambda: "Established" in bird.birdc("show", "protocols", "server1"),
        timeout=30,
        what="BIRD to establish with minibgp",
    )
    wait_until(
        lambda: ANYCAST in bird.birdc("show", "route", "protocol", "server1"),
        timeout=10,
        what="BIRD to hold 169.254.0.1/32",
    )
    detail = bird.birdc("show", "route", ANYCAST, "all")
    assert f"via {MINIBGP_ADDRESS}" in detail
    assert "BGP.as_path: 64520" in detail
    assert "BGP.med: 50" in detail and "(65000,1)" in detail

    wait_until(lambda: "10.57.2.0/24" in pair.minibgp.received(), timeout=10, what="BIRD's route")
    route = pair.minibgp.received()["10.57.2.0/24"]
    assert route["as_path"] == [4290001234] and route["next_hop"] == ROUTER_ADDRESS
    assert pair.minibgp.neighbor()["state"] == "Established"

    pair.minibgp.signal(signal.SIGTERM)
    assert pair.minibgp.wait(timeout=2) == 0
    wait_until(
        lambda: ANYCAST not in bird.birdc("show", "route", "protocol", "server1"),
        timeout=2,
        what="BIRD to drop the route",
    )
    assert "Administrative shutdown" in bird.birdc("show", "protocols", "all", "server1")
