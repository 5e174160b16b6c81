"""A router that restarts again and again: FRR 8.4's bgpd stopped and started seven times in a
row, for longer and longer. Each time the anycast route is back at the router within 5 s of its
start: a deliberate Cease is not a flap, and minibgp's back-off tops out at 3 s. FRR is passive
here, so that the session comes back only by minibgp's own attempts."""

from __future__ import annotations

import signal
import time

import pytest

from lab.frr import FrrRouter, wait_until
from tests.conftest import require_programs
from tests.minibgp.interop.pair import ANYCAST, MINIBGP_ADDRESS, Pair, frr_route

pytestmark = pytest.mark.interop


@pytest.fixture(autouse=True)
def _frr_installed() -> None:
    require_programs("/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh")


def holds_anycast(router: FrrRouter) -> bool:
    return bool(frr_route(router, ANYCAST).get("paths"))


def restart_bgpd(router: FrrRouter, down: float) -> float:
    """Stop bgpd (SIGTERM), leave it down `down` seconds, start it; when it started."""
    process = router.processes["bgpd"]
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)
    (router.run_dir / "bgpd.vty").unlink(missing_ok=True)
    time.sleep(down)
    started = time.monotonic()
    router.spawn("bgpd")
    router.wait_ready("bgpd")
    return started


def test_the_route_is_back_within_5_s_of_each_of_7_router_restarts(pair: Pair) -> None:
    pair.write_minibgp_config()
    router = pair.start_frr(f" neighbor {MINIBGP_ADDRESS} passive")
    pair.minibgp.start()
    wait_until(lambda: holds_anycast(router), timeout=30, what="FRR to hold our route")
    back_after = []
    for down in (0.5, 1, 2, 3, 5, 8, 1):
        started = restart_bgpd(router, down)
        wait_until(lambda: holds_anycast(router), timeout=10, interval=0.05, what="our route")
        back_after.append(round(time.monotonic() - started, 2))
    print("seconds from bgpd's start to our route at the router:", back_after)
    assert max(back_after) <= 5.0, back_after
    log = pair.minibgp.log()
    assert log.count("received NOTIFICATION Cease") >= 7  # FRR says it stops, each time
