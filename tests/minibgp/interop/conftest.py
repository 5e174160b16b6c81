"""The `pair` fixture: two namespaces joined by a veth, with the seed's addresses (see pair.py).

Every namespace is named ``abdt-bgp-<random>-…`` and removed, with every process in it, when the
test ends; minibgp's log is printed when a test fails.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.netns import Network
from tests.conftest import require_root, tagged
from tests.minibgp.interop.pair import (
    ANYCAST,
    ANYCAST6,
    MINIBGP_ADDRESS,
    MINIBGP_ADDRESS6,
    ROUTER_ADDRESS,
    ROUTER_ADDRESS6,
    Minibgp,
    Pair,
)


@pytest.fixture
def pair(request: pytest.FixtureRequest) -> Iterator[Pair]:
    """Two namespaces joined by a veth, with the seed's addresses; nothing started yet."""
    require_root()
    prefix = tagged(f"abdt-bgp-{secrets.token_hex(3)}-")
    with tempfile.TemporaryDirectory(prefix="abdt-bgp-") as tmp, Network(prefix) as network:
        run_dir = Path(tmp)
        run_dir.chmod(0o755)  # FRR runs as the frr user
        server = network.add_host("srv")
        router = network.add_host("rtr")
        network.link(server, "eth0", router, "eth0")
        server.add_address("eth0", f"{MINIBGP_ADDRESS}/24")
        router.add_address("eth0", f"{ROUTER_ADDRESS}/24")
        server.ip("-6", "addr", "add", f"{MINIBGP_ADDRESS6}/64", "dev", "eth0", "nodad")
        router.ip("-6", "addr", "add", f"{ROUTER_ADDRESS6}/64", "dev", "eth0", "nodad")
        server.add_address("lo", ANYCAST)
        server.ip("-6", "addr", "add", ANYCAST6, "dev", "lo")
        minibgp = Minibgp(
            server, run_dir / "minibgp.toml", run_dir / "minibgp.sock", run_dir / "minibgp.log"
        )
        yield Pair(network, server, router, run_dir, minibgp)
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            print("---- minibgp log ----\n" + minibgp.log()[-20000:])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
