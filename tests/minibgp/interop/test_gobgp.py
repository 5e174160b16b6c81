"""minibgp against GoBGP (Debian's gobgpd) as the router."""

from __future__ import annotations

import json
import signal
import subprocess
from typing import Any

import pytest

from lab.frr import wait_until
from tests.conftest import require_programs
from tests.minibgp.interop.pair import ANYCAST, MINIBGP_ADDRESS, ROUTER_ADDRESS, Pair

pytestmark = pytest.mark.interop

API = "127.0.0.1"  # gRPC API on the router namespace's own loopback
API_PORT = "50051"

GOBGP_CONFIG = f"""\
[global.config]
  as = 4290001234
  router-id = "{ROUTER_ADDRESS}"

[[neighbors]]
  [neighbors.config]
    neighbor-address = "{MINIBGP_ADDRESS}"
    peer-as = 64520
  [neighbors.timers.config]
    connect-retry = 1
    hold-time = 9
    keepalive-interval = 3
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
"""


class GoBgp:
    """`gobgpd` in the router namespace, asked through the `gobgp` client."""

    def __init__(self, pair: Pair) -> None:
        self.pair = pair
        config = pair.run_dir / "gobgpd.toml"
        config.write_text(GOBGP_CONFIG)
        pair.router_host.popen(
            ["gobgpd", "-f", str(config), "-t", "toml", f"--api-hosts={API}:{API_PORT}"],
            stdout=(pair.run_dir / "gobgpd.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: self.run("neighbor").returncode == 0, timeout=10, what="gobgpd's API")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = ["gobgp", "-u", API, "-p", API_PORT, *args]
        return self.pair.router_host.run(argv, check=False)

    def json(self, *args: str) -> Any:
        out = self.run(*args, "-j").stdout.strip()
        return json.loads(out) if out else None

    def state(self) -> str:
        neighbor = self.json("neighbor", MINIBGP_ADDRESS) or {}
        return str(neighbor.get("state", {}).get("session_state", ""))

    def rib(self) -> dict[str, Any]:
        return self.json("global", "rib", "-a", "ipv4") or {}


@pytest.fixture
def gobgp(pair: Pair) -> GoBgp:
    require_programs("gobgpd", "gobgp")
    return GoBgp(pair)


def test_gobgp_establishes_and_routes_go_both_ways(pair: Pair, gobgp: GoBgp) -> None:
    assert gobgp.run("global", "rib", "add", "10.57.3.0/24", "-a", "ipv4").returncode == 0
    pair.write_minibgp_config(announce_extra='large_communities = ["4290001234:1:2"]')
    pair.minibgp.start()
    wait_until(lambda: gobgp.state() in ("6", "established"), timeout=30, what="Established")
    wait_until(lambda: ANYCAST in gobgp.rib(), timeout=10, what="GoBGP to hold 169.254.0.1/32")
    (path,) = gobgp.rib()[ANYCAST]
    assert path["source-id"] == MINIBGP_ADDRESS
    attributes = {a["type"]: a for a in path["attrs"]}
    assert attributes[2]["as_paths"][0]["asns"] == [64520]  # AS_PATH
    assert attributes[3]["nexthop"] == MINIBGP_ADDRESS  # NEXT_HOP
    assert attributes[32]["value"][0] == {"ASN": 4290001234, "LocalData1": 1, "LocalData2": 2}

    wait_until(lambda: "10.57.3.0/24" in pair.minibgp.received(), timeout=10, what="GoBGP's")
    assert pair.minibgp.received()["10.57.3.0/24"]["as_path"] == [4290001234]

    pair.minibgp.signal(signal.SIGTERM)
    assert pair.minibgp.wait(timeout=2) == 0
    wait_until(lambda: ANYCAST not in gobgp.rib(), timeout=2, what="GoBGP to drop the route")
