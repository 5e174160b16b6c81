"""A server's and a router's provisioning, run for real: systemd containers instead of VMs.

server1 and router1 of the seed's topology each boot in a container (tests/lab/containers.py)
whose network namespace holds the interfaces Vagrant would have configured; the project is at
/vagrant and the box's wheelhouse at its place, as in the lab's box. Each machine runs what the
Vagrantfile runs in it (`python3 -m lab.vagrant provision NODE --mode MODE`, then the script).
Then, as a user would check it: the router learns the anycast prefix from the server over BGP
and a DNS query to 169.254.0.1 from the router's side gets server1's answer; after a reboot the
anycast address, the routes, the forwarding and the services are back; switching modes leaves
exactly one DNS server on port 53, both ways.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab.netns import Netns, Network
from lab.topology import load
from lab.vagrant.box import wheelhouse_requirements
from lab.vagrant.provision import MINIBGP_UNIT, MINIDNS_UNIT, NETWORK_UNIT, WHEELHOUSE
from tests.conftest import require_programs, require_root, tagged
from tests.lab.containers import Container

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
TOPOLOGY = load()
ANYCAST = str(TOPOLOGY.service.address)
# What the Vagrantfile's rsync leaves out of /vagrant.
NOT_SYNCED = (".git", ".venv", ".vagrant", "build", "dist", "*.egg-info", "__pycache__",
              ".mypy_cache", ".pytest_cache", ".ruff_cache", "*.so", "*.pcap")  # fmt: skip


@dataclass
class Machines:
    server: Container
    router: Container
    network: Network | None = None

    def wire(self) -> tuple[Netns, Netns]:
        """Fresh namespaces with the interfaces and addresses Vagrant gives the two machines."""
        self.network = Network(tagged("vgp-"))
        server = self.network.add_host("server1")
        router = self.network.add_host("router1")
        link = TOPOLOGY.interface_towards("server1", "router1")
        peer = TOPOLOGY.interface_towards("router1", "server1")
        self.network.link(server, "eth1", router, "eth1")
        server.add_address("eth1", str(link.address))
        router.add_address("eth1", str(peer.address))
        for number, interface in enumerate(TOPOLOGY.node("router1").interfaces):
            if interface != peer:  # its other links: up, with nothing behind them
                name = f"eth{number + 2}"
                router.ip("link", "add", name, "type", "veth", "peer", "name", f"{name}-end")
                router.add_address(name, str(interface.address))
                router.ip("link", "set", name, "up")
                router.ip("link", "set", f"{name}-end", "up")
        return server, router

    def boot(self) -> None:
        server, router = self.wire()
        self.router.boot(router.name)
        self.server.boot(server.name)

    def reboot(self) -> None:
        self.shutdown()
        self.boot()

    def shutdown(self) -> None:
        self.server.shutdown()
        self.router.shutdown()
        if self.network is not None:
            self.network.teardown()
            self.network = None

    def router_netns(self) -> Netns:
        assert self.network is not None
        return self.network.hosts["router1"]


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheels the lab's box carries (pip's cache makes this quick after the first run)."""
    directory = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
         "--dest", str(directory), *wheelhouse_requirements()],
        check=True, timeout=300,
    )  # fmt: skip
    return directory


@pytest.fixture(scope="module")
def machines(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Iterator[Machines]:
    require_root()
    require_programs("systemd-nspawn", "nsenter", "/usr/lib/frr/bgpd", "pdns_server", "dig")
    work = tmp_path_factory.mktemp("machines")
    project = work / "vagrant"
    shutil.copytree(REPO, project, ignore=shutil.ignore_patterns(*NOT_SYNCED))
    binds = {"/vagrant": project, WHEELHOUSE: wheelhouse}
    pair = Machines(
        server=Container(tagged("vgp-server1"), work / "server1", binds),
        router=Container(tagged("vgp-router1"), work / "router1", binds),
    )
    try:
        pair.server.prepare()
        pair.router.prepare()
        pair.boot()
        yield pair
    finally:
        pair.shutdown()
        pair.server.remove()
        pair.router.remove()


def provision(machine: Container, node: str, mode: str) -> str:
    """What the Vagrantfile's provisioner runs in the machine."""
    return machine.check(
        "install -d /etc/anycast-bgp-dns && cd /vagrant && "
        f"python3 -m lab.vagrant provision {node} --mode {mode} > /etc/anycast-bgp-dns/provision.sh"
        " && sh /etc/anycast-bgp-dns/provision.sh",
        timeout=600,
    )


def eventually(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.2)


def dig(router: Netns, *question: str) -> str:
    argv = ["dig", "+short", "+time=1", "+tries=1", *question, f"@{ANYCAST}"]
    result = router.run(argv, check=False)
    return result.stdout.strip()


def unit_states(machine: Container, *units: str) -> dict[str, tuple[str, str]]:
    """(is-enabled, is-active) of each unit."""
    states = {}
    for unit in units:
        enabled = machine.run(f"systemctl is-enabled {unit}").stdout.strip() or "not-found"
        active = machine.run(f"systemctl is-active {unit}").stdout.strip()
        states[unit] = (enabled, active)
    return states


def port_53_owners(machine: Container) -> set[str]:
    """The programs listening on UDP port 53 in the machine."""
    output = machine.check("ss -Hlunp 'sport = :53'")
    return {part.split('"')[1] for part in output.split("users:((")[1:]}


def assert_served_by_server1(machines: Machines) -> None:
    router = machines.router_netns()
    eventually(
        lambda: dig(router, "CH", "TXT", "id.server") == '"server1"',
        "a query from the router's side to be answered by server1 over BGP",
        timeout=60,
    )
    assert dig(router, "example.com", "MX") == "25 mail.example.com."
    assert dig(router, "www.example.com", "A") == "192.0.2.1"


def assert_network_persisted(machines: Machines) -> None:
    server = machines.server
    assert f"inet {ANYCAST}/32" in server.check("ip -4 address show dev lo")
    assert "192.168.56.0/21 via 192.168.57.10" in server.check("ip -4 route")
    assert server.check("cat /proc/sys/net/ipv4/ip_forward").strip() == "0"
    assert machines.router.check("cat /proc/sys/net/ipv4/ip_forward").strip() == "1"
    assert unit_states(machines.router, "frr.service") == {"frr.service": ("enabled", "active")}


PYTHON_UNITS = (NETWORK_UNIT, MINIDNS_UNIT, MINIBGP_UNIT)
REFERENCE_UNITS = ("frr.service", "pdns.service")


def assert_python_mode(machines: Machines) -> None:
    states = unit_states(machines.server, *PYTHON_UNITS, *REFERENCE_UNITS)
    assert states == {
        NETWORK_UNIT: ("enabled", "active"),
        MINIDNS_UNIT: ("enabled", "active"),
        MINIBGP_UNIT: ("enabled", "active"),
        "frr.service": ("disabled", "inactive"),
        "pdns.service": ("disabled", "inactive"),
    }
    assert port_53_owners(machines.server) == {"minidns"}


def assert_reference_mode(machines: Machines) -> None:
    states = unit_states(machines.server, *PYTHON_UNITS, *REFERENCE_UNITS)
    assert states == {
        NETWORK_UNIT: ("enabled", "active"),
        MINIDNS_UNIT: ("disabled", "inactive"),
        MINIBGP_UNIT: ("disabled", "inactive"),
        "frr.service": ("enabled", "active"),
        "pdns.service": ("enabled", "active"),
    }
    assert port_53_owners(machines.server) == {"pdns_server"}


def test_python_mode_serves_the_anycast_address_through_the_router(machines: Machines) -> None:
    provision(machines.router, "router1", "python")
    provision(machines.server, "server1", "python")
    assert "bfdd=yes" in machines.router.check("grep ^bfdd= /etc/frr/daemons")
    assert_network_persisted(machines)
    assert_python_mode(machines)
    assert_served_by_server1(machines)
    # the servers' virtualenv holds no plotting library
    assert "matplotlib" not in machines.server.check("/opt/anycast-bgp-dns/bin/pip list")


def test_a_reboot_keeps_addresses_routes_forwarding_and_services(machines: Machines) -> None:
    machines.reboot()
    eventually(
        lambda: unit_states(machines.server, MINIBGP_UNIT)[MINIBGP_UNIT][1] == "active",
        "minibgp to run after the boot",
    )
    assert_network_persisted(machines)
    assert_python_mode(machines)
    assert_served_by_server1(machines)


def test_switching_to_reference_mode_leaves_only_powerdns_on_port_53(machines: Machines) -> None:
    provision(machines.router, "router1", "reference")
    provision(machines.server, "server1", "reference")
    assert "bfdd=no" in machines.router.check("grep ^bfdd= /etc/frr/daemons")
    assert_reference_mode(machines)
    assert_served_by_server1(machines)
    machines.reboot()  # PowerDNS binds the anycast address: it must be there before it starts
    eventually(
        lambda: unit_states(machines.server, "pdns.service")["pdns.service"][1] == "active",
        "PowerDNS to run after the boot",
    )
    assert_network_persisted(machines)
    assert_reference_mode(machines)
    assert_served_by_server1(machines)


def test_switching_back_to_python_mode_leaves_only_minidns_on_port_53(machines: Machines) -> None:
    provision(machines.router, "router1", "python")
    provision(machines.server, "server1", "python")
    assert_python_mode(machines)
    assert_served_by_server1(machines)
