"""Runtime announcements against a real FRR 8.4: `python -m minibgp announce | withdraw |
restore` change what a running minibgp announces, and FRR sees the prefix appear, its attributes
change and the prefix go, with nothing else disturbed."""

from __future__ import annotations

import signal
import time
from typing import Any

import pytest

from lab.frr import FrrRouter, wait_until
from tests.conftest import require_programs
from tests.minibgp.interop.pair import ANYCAST, Pair, frr_route, wait_established

pytestmark = pytest.mark.interop

RUNTIME = "169.254.0.9/32"


@pytest.fixture(autouse=True)
def _frr_installed() -> None:
    require_programs("/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh")


def path_of(router: FrrRouter, prefix: str) -> dict[str, Any] | None:
    paths = frr_route(router, prefix).get("paths") or []
    return paths[0] if paths else None


def updates_sent(pair: Pair) -> int:
    return int(pair.minibgp.neighbor().get("messages_sent", {}).get("UPDATE", 0))


def test_frr_sees_a_runtime_prefix_appear_change_and_go(pair: Pair) -> None:
    pair.write_minibgp_config()
    router = pair.start_frr()
    pair.minibgp.start()
    wait_established(router)
    wait_until(lambda: path_of(router, ANYCAST), timeout=10, what="FRR to hold 169.254.0.1/32")
    socket = ("--socket", str(pair.minibgp.socket))

    added = pair.minibgp.cli("announce", RUNTIME, *socket)
    assert added.returncode == 0, added.stderr
    assert added.stdout == f"{RUNTIME} (runtime): announced\n"
    wait_until(lambda: path_of(router, RUNTIME), timeout=5, what="the new prefix at FRR")
    assert path_of(router, RUNTIME)["aspath"]["string"] == "64520"  # type: ignore[index]

    before = updates_sent(pair)
    changed = pair.minibgp.cli(
        "announce", RUNTIME, "--prepend", "2", "--med", "50", "--community", "no-export",
        "--community", "65000:1", "--large-community", "4290001234:1:2", *socket,
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr

    def changed_at_frr() -> bool:
        path = path_of(router, RUNTIME)
        return bool(path) and path["aspath"]["string"] == "64520 64520 64520"  # type: ignore[index]

    wait_until(changed_at_frr, timeout=5, what="FRR to see the new attributes")
    path = path_of(router, RUNTIME)
    assert path is not None
    assert path["metric"] == 50
    assert set(path["community"]["string"].split()) == {"65000:1", "no-export"}
    assert path["largeCommunity"]["string"] == "4290001234:1:2"
    time.sleep(0.5)
    assert updates_sent(pair) == before + 1  # one UPDATE: the changed route alone

    gone = pair.minibgp.cli("withdraw", RUNTIME, *socket)
    assert gone.returncode == 0, gone.stderr
    wait_until(lambda: not path_of(router, RUNTIME), timeout=5, what="FRR to drop the prefix")
    assert path_of(router, ANYCAST)


def test_a_configured_prefix_withdrawn_at_runtime_stays_so_over_sighup_until_restored(
    pair: Pair,
) -> None:
    pair.write_minibgp_config()
    router = pair.start_frr()
    pair.minibgp.start()
    wait_established(router)
    wait_until(lambda: path_of(router, ANYCAST), timeout=10, what="FRR to hold 169.254.0.1/32")
    socket = ("--socket", str(pair.minibgp.socket))
    assert pair.minibgp.cli("withdraw", ANYCAST, *socket).returncode == 0
    wait_until(lambda: not path_of(router, ANYCAST), timeout=5, what="FRR to drop it")
    pair.minibgp.signal(signal.SIGHUP)
    wait_until(lambda: "SIGHUP: reloading" in pair.minibgp.log(), timeout=5, what="the reload")
    time.sleep(0.5)
    assert not path_of(router, ANYCAST)
    shown = pair.minibgp.cli("show", "announcements", *socket).stdout
    assert "config, withdrawn at runtime" in shown
    assert pair.minibgp.cli("restore", ANYCAST, *socket).returncode == 0
    wait_until(lambda: path_of(router, ANYCAST), timeout=5, what="FRR to hold it again")
