"""minidns on port 53 and minibgp on port 179 as `nobody`, with CAP_NET_BIND_SERVICE as the
only privilege (setpriv, as docs/deploy.md shows), in a network namespace: they serve, and the
same without the capability is refused with a clear message."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.frr import FrrRouter, wait_until
from lab.netns import Netns, Network
from tests.conftest import require_programs, require_root, tagged
from tests.minibgp.interop.pair import (
    ANYCAST,
    FRR_CONFIG,
    MINIBGP_ADDRESS,
    MINIBGP_CONFIG,
    ROUTER_ADDRESS,
    frr_neighbor,
    frr_route,
)
from tests.wheel import Installed

pytestmark = pytest.mark.interop

NOBODY = 65534
CAP_NET_BIND_SERVICE = 1 << 10  # <linux/capability.h>
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--no-new-privs"]
BIND_SERVICE_ONLY = [
    "--inh-caps=-all,+net_bind_service",
    "--ambient-caps=-all,+net_bind_service",
    "--bounding-set=-all,+net_bind_service",
]
NO_CAPABILITY = ["--inh-caps=-all", "--bounding-set=-all"]
ZONE = """$ORIGIN example.com.
@    300 IN SOA ns1 hostmaster 1 3600 600 86400 300
@    300 IN NS  ns1
@    300 IN MX  25 mail
ns1  300 IN A   192.0.2.53
"""


@pytest.fixture
def hosts() -> Iterator[tuple[Netns, Netns, Path]]:
    """server (192.168.57.100, 169.254.0.1 on lo) and router namespaces, a run directory
    that nobody may write."""
    require_root()
    require_programs("setpriv", "dig", "vtysh", "/usr/lib/frr/zebra", "/usr/lib/frr/bgpd")
    with (
        tempfile.TemporaryDirectory(prefix="abdt-noroot-") as tmp,
        Network(tagged(f"abdt-noroot-{secrets.token_hex(3)}-")) as network,
    ):
        run_dir = Path(tmp)
        run_dir.chmod(0o777)
        server = network.add_host("srv")
        router = network.add_host("rtr")
        network.link(server, "eth0", router, "eth0")
        server.add_address("eth0", f"{MINIBGP_ADDRESS}/24")
        router.add_address("eth0", f"{ROUTER_ADDRESS}/24")
        server.add_address("lo", ANYCAST)
        yield server, router, run_dir


def start(
    host: Netns, privileges: list[str], argv: list[str], log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return host.popen([*AS_NOBODY, *privileges, *argv], stdout=out, stderr=subprocess.STDOUT)


def assert_nobody_with_bind_service_only(pid: int) -> None:
    status = dict(
        line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    assert [int(uid) for uid in status["Uid"].split()] == [NOBODY] * 4
    assert int(status["CapEff"], 16) == CAP_NET_BIND_SERVICE
    assert int(status["CapBnd"], 16) == CAP_NET_BIND_SERVICE
    assert status["NoNewPrivs"].strip() == "1"


def stop(process: subprocess.Popen[bytes]) -> int:
    os.kill(process.pid, signal.SIGTERM)
    return process.wait(timeout=10)


def minidns_argv(installed: Installed, run_dir: Path) -> list[str]:
    zone = run_dir / "example.com.zone"
    zone.write_text(ZONE)
    zone.chmod(0o644)
    return [installed.bin("minidns"), "--zone", f"example.com={zone}",
            "--listen", "169.254.0.1:53", "--identity", "server1"]  # fmt: skip


def test_minidns_serves_port_53_as_nobody_with_the_capability_alone(
    hosts: tuple[Netns, Netns, Path], installed_wheel: Installed
) -> None:
    server, _, run_dir = hosts
    argv = minidns_argv(installed_wheel, run_dir)
    process = start(server, BIND_SERVICE_ONLY, argv, run_dir / "minidns.log")
    dig = ["dig", "+short", "+time=1", "+tries=1", "@169.254.0.1", "example.com", "MX"]
    wait_until(lambda: server.run(dig, check=False).stdout.strip() == "25 mail.example.com.",
               timeout=20, what="minidns to answer on port 53")  # fmt: skip
    assert_nobody_with_bind_service_only(find_child(process.pid, "minidns"))
    assert stop(process) == 0


def test_minidns_without_the_capability_says_why_it_cannot_listen(
    hosts: tuple[Netns, Netns, Path], installed_wheel: Installed
) -> None:
    server, _, run_dir = hosts
    argv = minidns_argv(installed_wheel, run_dir)
    process = start(server, NO_CAPABILITY, argv, run_dir / "minidns.log")
    assert process.wait(timeout=20) == 2
    log = (run_dir / "minidns.log").read_text()
    assert "minidns: cannot listen for DNS on 169.254.0.1:53: Permission denied" in log, log
    assert "CAP_NET_BIND_SERVICE" in log, log


def minibgp_config(run_dir: Path) -> Path:
    config = run_dir / "minibgp.toml"
    text = MINIBGP_CONFIG.format(socket=run_dir / "minibgp.sock", peer_extra="", announce_extra="")
    config.write_text(text)
    config.chmod(0o644)
    return config


def test_minibgp_serves_port_179_as_nobody_with_the_capability_alone(
    hosts: tuple[Netns, Netns, Path], installed_wheel: Installed
) -> None:
    """The router connects to port 179 (minibgp is passive), so the session proves the bind."""
    server, router_host, run_dir = hosts
    config = minibgp_config(run_dir)
    config.write_text(config.read_text().replace("connect_retry = 1", "passive = true"))
    router = FrrRouter(router_host, run_dir / "frr", FRR_CONFIG.format(neighbor_extra=""))
    router.start()
    argv = [installed_wheel.bin("minibgp"), "--config", str(config)]
    process = start(server, BIND_SERVICE_ONLY, argv, run_dir / "minibgp.log")
    wait_until(lambda: bool(frr_route(router, ANYCAST).get("paths")), timeout=30,
               what="FRR to hold the route from minibgp as nobody")  # fmt: skip
    neighbor = frr_neighbor(router)
    assert neighbor["bgpState"] == "Established" and neighbor["portForeign"] == 179
    assert_nobody_with_bind_service_only(find_child(process.pid, "minibgp"))
    assert stop(process) == 0


def test_minibgp_without_the_capability_says_why_it_cannot_start(
    hosts: tuple[Netns, Netns, Path], installed_wheel: Installed
) -> None:
    server, _, run_dir = hosts
    argv = [installed_wheel.bin("minibgp"), "--config", str(minibgp_config(run_dir))]
    process = start(server, NO_CAPABILITY, argv, run_dir / "minibgp.log")
    assert process.wait(timeout=20) == 1
    log = (run_dir / "minibgp.log").read_text()
    assert "cannot start: cannot listen for BGP on [::]:179: Permission denied" in log, log
    assert "CAP_NET_BIND_SERVICE" in log and "no IPv6" not in log, log


def find_child(pid: int, name: str, timeout: float = 5) -> int:
    """The process named `name` that `pid` (ip netns exec, then setpriv) became or started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        candidates = [pid, *_descendants(pid)]
        for candidate in candidates:
            try:
                cmdline = Path(f"/proc/{candidate}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(Path(part.decode()).name == name for part in cmdline[:2]):
                return candidate
        time.sleep(0.05)
    raise AssertionError(f"no {name} process under {pid}")


def _descendants(pid: int) -> list[int]:
    found = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in map(int, children):
        found += [child, *_descendants(child)]
    return found
