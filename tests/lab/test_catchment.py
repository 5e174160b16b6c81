"""`lab catchment` on a running lab: each client's site by DNS and by Verfploeter, the two agreeing,
over IPv4 and IPv6, the routers' paths, the JSON and the picture; the catchment following a
halted site; only this measurement's echo replies reaching the sites; nothing left behind. On
the seed's topology (python mode) and on three-sites.toml (both modes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.catchment import measure
from lab.catchment.icmp import Echo, echo_request
from lab.catchment.measure import _site_sockets
from lab.catchment.settle import snapshot, wait_until_settled
from lab.lab import Lab
from lab.render import Mode
from lab.topology import Family
from tests.conftest import require_programs, require_root, tagged
from tests.lab.running import running_lab
from tests.lab.test_lab_up_down import assert_nothing_left

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
SEED = {"client1": "server1", "client2": "server2"}
# Each regional network's client is served by the site of its network; client-north, on
# transit-a, has customer routes of equal length to site-west and site-central, and the router
# ids decide (`bgp bestpath compare-routerid`): site-west.
THREE_SITES = {
    "client-west": ("site-west", "64601"),
    "client-central": ("site-central", "64602"),
    "client-east": ("site-east", "64603"),
    "client-north": ("site-west", "65010 64601"),
}


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    require_root()
    require_programs("/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh")
    lab = Lab(tagged("catchment"))
    lab.down()
    lab.up("python")
    try:
        yield lab
    finally:
        lab.down()
        assert_nothing_left(lab)


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_the_command_prints_each_clients_site_by_both_methods(lab: Lab, tmp_path: Path) -> None:
    picture = tmp_path / "catchment.png"
    result = subprocess.run(
        [sys.executable, "-m", "lab", "catchment", "--name", lab.name, "--json",
         "--png", str(picture)],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["lab"], data["mode"], data["agree"]) == (lab.name, "python", True)
    assert data["methods"] == ["dns", "verfploeter"] and data["families"] == ["ipv4"]
    assert data["catchment"]["ipv4"] == {"server1": ["client1"], "server2": ["client2"]}
    for client, site in SEED.items():
        entry = data["clients"][client]["families"]["ipv4"]
        assert entry["site"] == site and entry["verdict"] == "agree"
        assert entry["dns"]["sites"] == {site: 3}
        assert entry["verfploeter"]["sites"] == {site: 2}  # sent from both sites, back at one
        assert 0 < entry["dns"]["rtt_ms"] < 100 and 0 < entry["verfploeter"]["rtt_ms"] < 100
        assert entry["path"]["site"] == site
        assert entry["path"]["as_path"] == str(lab.topology.node(site).asn)
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    table = subprocess.run(
        [sys.executable, "-m", "lab", "catchment", "--name", lab.name],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert "✔ DNS and Verfploeter agree for every client network (2) over IPv4" in table.stdout


def test_the_catchment_follows_a_halted_site(lab: Lab) -> None:
    descriptors = _open_descriptors()
    before = measure(lab)
    assert before.agree and before.sites_of(4) == SEED
    since = time.monotonic()
    lab.halt("server1")
    try:
        settled = wait_until_settled(lab, snapshot(before), since=since, quiet=1.0, timeout=20)
        assert settled.settled and settled.moved() == {("client1", 4): ("server1", "server2")}
        assert 0 < settled.settle_time < 10
        after = measure(lab)
        # A halted site neither answers nor sends nor captures: both methods see server2.
        assert after.agree, after.problems()
        assert (
            after.sites_of(4, "dns")
            == after.sites_of(4, "verfploeter")
            == {"client1": "server2", "client2": "server2"}
        )
        assert after.get("client1").path.as_path == "64530"  # type: ignore[union-attr]
        assert [(m.client, m.before, m.after) for m in before.moves(after)] == [
            ("client1", "server1", "server2")
        ]
    finally:
        lab.start("server1")
    assert measure(lab).sites_of(4) == SEED
    assert _open_descriptors() == descriptors  # every socket closed


def test_only_this_measurements_echo_replies_reach_the_site_sockets(lab: Lab) -> None:
    only_this_measurements_replies(lab, "server1", "client1", 4)


def only_this_measurements_replies(lab: Lab, site: str, client: str, family: Family) -> None:
    """The socket filter passes echo replies with the measurement's identifier, nothing else
    (not the client's own pings to the anycast address, not other identifiers)."""
    interface = lab.topology.node(client).interfaces[0]
    address = str(interface.ip if family == 4 else interface.ip6)
    anycast = str(lab.topology.service.address_of(family))
    ping = lab.host(client).command(["ping", f"-{family}", "-c", "2", "-i", "0.2", anycast])
    with _site_sockets(lab, [site], [family], 0x4242) as sockets:
        sock = sockets[(site, family)]
        subprocess.run(ping, capture_output=True, timeout=10, check=True)
        for identifier in (0x4343, 0x4242):
            sock.sendto(echo_request(family, Echo(identifier, 1, b"test")), (address, 0))
        received = []
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                received.append(sock.recv(2048))
            except BlockingIOError:
                time.sleep(0.01)
    assert len(received) == 1
    packet = received[0]
    start = (packet[0] & 0x0F) * 4 if family == 4 else 0  # ICMPv6: no IP header
    assert packet[start] == (0 if family == 4 else 129)  # an echo reply (RFC 792, RFC 4443)
    assert int.from_bytes(packet[start + 4 : start + 6], "big") == 0x4242


def test_a_lab_that_is_not_up_is_refused() -> None:
    require_root()
    result = subprocess.run(
        [sys.executable, "-m", "lab", "catchment", "--name", tagged("nosuchlab")],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "is not up" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture(scope="module", params=["python", "reference"])
def three_sites(request: pytest.FixtureRequest) -> Iterator[Lab]:
    require_root()
    require_programs("/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh", "pdns_server")
    mode: Mode = request.param
    with running_lab(f"catch3{mode[0]}", "three-sites.toml", mode) as lab:
        yield lab


def test_three_sites_each_client_by_its_site_over_both_families(three_sites: Lab) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lab", "catchment", "--name", three_sites.name, "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert (data["topology"], data["agree"]) == ("three-sites", True)
    assert data["families"] == ["ipv4", "ipv6"]
    for family in ("ipv4", "ipv6"):
        assert data["catchment"][family] == {
            "site-west": ["client-west", "client-north"],
            "site-central": ["client-central"],
            "site-east": ["client-east"],
        }
    for client, (site, as_path) in THREE_SITES.items():
        for family in ("ipv4", "ipv6"):
            entry = data["clients"][client]["families"][family]
            assert entry["verdict"] == "agree", (client, family, entry)
            assert entry["dns"]["sites"] == {site: 3}  # answered over IPv6 too
            assert entry["verfploeter"]["sites"] == {site: 3}  # sent from each of three sites
            assert entry["path"]["as_path"] == as_path and entry["path"]["site"] == site
    ipv6 = data["clients"]["client-west"]["families"]["ipv6"]
    assert ipv6["address"].startswith("2001:db8:") and ipv6["network"].endswith("/64")


def test_three_sites_icmpv6_replies_are_filtered_too(three_sites: Lab) -> None:
    only_this_measurements_replies(three_sites, "site-east", "client-east", 6)


def test_three_sites_a_dead_dns_server(three_sites: Lab) -> None:
    """site-west's DNS server is killed (last: the lab is left so). In python mode minibgp's
    health check withdraws the route and site-west's clients move to site-central, both methods
    agreeing; in reference mode FRR goes on announcing, as in the original lab: the clients
    still reach site-west (Verfploeter) and get no answer (DNS), and the command says so."""
    before = measure(three_sites)
    python = three_sites.mode == "python"
    dns_server = "minidns" if python else "pdns_server"
    daemon = next(d for d in three_sites.daemons_of("site-west") if d.name == dns_server)
    since = time.monotonic()
    os.kill(daemon.pid, signal.SIGKILL)
    moved = [(client, family) for client in ("client-west", "client-north") for family in (4, 6)]
    if python:
        settled = wait_until_settled(
            three_sites, snapshot(before), since=since, quiet=1.0, timeout=20
        )
        assert settled.moved() == dict.fromkeys(moved, ("site-west", "site-central"))
        after = measure(three_sites)
        assert after.agree, after.problems()
        return
    deadline = time.monotonic() + 5
    while daemon.is_running() and time.monotonic() < deadline:
        time.sleep(0.05)
    result = subprocess.run(
        [sys.executable, "-m", "lab", "catchment", "--name", three_sites.name, "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["agree"] is False
    for client, family in moved:
        entry = data["clients"][client]["families"][f"ipv{family}"]
        assert entry["verdict"] == "no DNS answer"
        assert entry["verfploeter"]["sites"] == {"site-west": 3}
        assert entry["dns"]["site"] is None and entry["dns"]["error"]
    assert data["catchment"]["ipv4"]["site-west"] == ["client-west", "client-north"]
