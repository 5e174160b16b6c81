"""The seed's scenarios, as `lab demo` runs them, pass in both modes."""

from __future__ import annotations

import pytest

from lab.capture import tcpdump_argv
from lab.demo import run_demo, trim_bgp_view
from lab.lab import Lab
from lab.netns import list_namespaces
from lab.topology import load
from tests.conftest import require_programs, require_root, tagged

FRR_VIEW = """\
BGP routing table entry for 169.254.0.1/32, version 3
Paths: (2 available, best #2, table default)
  Advertised to non peer-group peers:
  192.168.57.100 192.168.59.40
  64530
    192.168.58.100 from 192.168.59.40 (192.168.58.10)
      Origin IGP, metric 0, localpref 100, valid, internal
      Last update: Fri Nov 27 15:16:20 2026
  64520
    192.168.57.100 from 192.168.57.100 (192.168.57.100)
      Origin IGP, metric 0, valid, external, best (Peer Type)
      Last update: Fri Nov 27 15:16:19 2026
"""


def test_the_bgp_view_is_trimmed_to_the_paths() -> None:
    assert trim_bgp_view(FRR_VIEW).splitlines() == [
        "Paths: (2 available, best #2, table default)",
        "  64530",
        "    192.168.58.100 from 192.168.59.40 (192.168.58.10)",
        "      Origin IGP, metric 0, localpref 100, valid, internal",
        "  64520",
        "    192.168.57.100 from 192.168.57.100 (192.168.57.100)",
        "      Origin IGP, metric 0, valid, external, best (Peer Type)",
    ]


@pytest.mark.lab
@pytest.mark.parametrize("mode", ["reference", "python"])
def test_demo_passes_every_check(mode: str) -> None:
    require_root()
    require_programs("/usr/lib/frr/bgpd", "vtysh", "dig", "ping", "tcpdump")
    if mode == "reference":
        require_programs("pdns_server", "pdnsutil", "sqlite3")
    name = tagged(f"tdemo{mode[:3]}")
    lines: list[str] = []
    try:
        passed = run_demo([mode], name=name, write=lines.append)  # type: ignore[list-item]
    finally:
        Lab(name).down()
    output = "\n".join(lines)
    assert passed, output
    assert "0 failed" in output
    # the three scenarios ran, with the failover seen from client1
    assert "NSID says client1's query was answered by server2" in output
    assert "server2 sees client2's 3 queries" in output
    assert not [ns for ns in list_namespaces() if ns.startswith(f"abd-{name}-")]


def test_capture_runs_tcpdump_on_the_nodes_link() -> None:
    topology = load()
    assert tcpdump_argv(topology, "server1") == ["tcpdump", "-n", "-l", "-i", "eth-router1"]
    argv = tcpdump_argv(topology, "router2", "eth-client2", "/tmp/x.pcap", 5, ["udp", "port", "53"])
    assert argv == [
        "tcpdump", "-n", "-l", "-i", "eth-client2", "-w", "/tmp/x.pcap", "-U", "-c", "5",
        "udp", "port", "53",
    ]  # fmt: skip
