"""Every config the lab and the Vagrant machines use, rendered from the topology, is valid."""

from __future__ import annotations

import subprocess
import sys
from ipaddress import ip_network
from pathlib import Path

import pytest
from dnslib import QTYPE

from lab.render import (
    MODES,
    frr_config,
    minibgp_config,
    minidns_args,
    node_files,
    zone_file,
)
from lab.topology import load, parse_text
from minibgp.config import parse_config
from minidns.zone.masterfile import parse_master_file
from minidns.zone.pdns_sqlite import load_pdns_sqlite
from tests.conftest import require_programs

REPO = Path(__file__).resolve().parents[2]
TOPOLOGY = load()


def _records(zone) -> set[tuple[str, str, int, str]]:  # type: ignore[no-untyped-def]
    """(owner, type, ttl, rdata) of every record, for comparing two loaders' results."""
    found = set()
    for rrset in zone.rrsets():
        for rdata in rrset.rdatas:
            name = str(rrset.name).lower()
            found.add((name, QTYPE[rrset.rtype], rrset.ttl, str(rdata).lower()))
    return found


@pytest.mark.interop
@pytest.mark.parametrize(
    ("node", "mode"),
    [("router1", "python"), ("router2", "reference"), ("server1", "reference"),
     ("server2", "reference")],
)  # fmt: skip
def test_frr_configs_pass_vtysh_dry_run(node: str, mode: str, tmp_path: Path) -> None:
    require_programs("vtysh")
    files = node_files(TOPOLOGY, TOPOLOGY.node(node), mode, str(tmp_path))  # type: ignore[arg-type]
    [path] = [p for p in files.write(tmp_path) if p.name == "frr.conf"]
    result = subprocess.run(["vtysh", "-C", "-f", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_router_peers_with_its_server_and_the_other_router_and_originates_its_networks() -> None:
    text = node_files(TOPOLOGY, TOPOLOGY.node("router2"), "python", "/run/x").files["frr.conf"]
    assert "router bgp 4290001234" in text
    assert " neighbor 192.168.58.100 remote-as 64530" in text
    assert " neighbor 192.168.59.30 remote-as 4290001234" in text
    assert " no bgp ebgp-requires-policy" in text  # FRR 8.4 drops eBGP routes otherwise
    networks = sorted(line.split()[1] for line in text.splitlines() if line.startswith("  network"))
    assert networks == ["192.168.58.0/24", "192.168.59.0/24", "192.168.61.0/24"]


def test_routers_honour_graceful_shutdown_from_their_server_in_both_modes() -> None:
    for mode in MODES:
        text = node_files(TOPOLOGY, TOPOLOGY.node("router1"), mode, "/x").files["frr.conf"]
        lines = text.splitlines()
        # RFC 8326 §4.1: 65535:0 on import from the server -> LOCAL_PREF 0
        assert (
            "bgp community-list standard graceful-shutdown seq 5 permit graceful-shutdown" in lines
        )
        start = lines.index("route-map from-server permit 10")
        assert lines[start + 1 : start + 3] == [
            " match community graceful-shutdown",
            " set local-preference 0",
        ]
        assert "route-map from-server permit 20" in lines  # everything else passes unchanged
        assert "  neighbor 192.168.57.100 route-map from-server in" in lines
        assert not any("route-map" in line and "192.168.59.40" in line for line in lines)  # iBGP


def test_routers_run_bfd_to_their_server_in_python_mode_only() -> None:
    python = node_files(TOPOLOGY, TOPOLOGY.node("router1"), "python", "/x").files["frr.conf"]
    lines = python.splitlines()
    start = lines.index("bfd")
    assert lines[start : start + 7] == [
        "bfd",
        " profile fast",
        "  transmit-interval 100",
        "  receive-interval 100",
        "  detect-multiplier 3",
        " !",  # `!`, not `exit`: bgpd and zebra read this file too
        "!",
    ]
    assert [line for line in lines if line.endswith(" bfd profile fast")] == [
        " neighbor 192.168.57.100 bfd profile fast"
    ]
    reference = node_files(TOPOLOGY, TOPOLOGY.node("router1"), "reference", "/x").files["frr.conf"]
    assert "bfd" not in reference  # the seed's servers run no BFD


def test_minibgp_is_configured_for_fast_failover() -> None:
    text = node_files(TOPOLOGY, TOPOLOGY.node("server1"), "python", "/run/lab").files[
        "minibgp.toml"
    ]
    config = parse_config(text, Path("server1.toml"))
    assert (config.speaker.drain_time, config.speaker.drain_on_sigterm) == (0.5, True)
    [peer] = config.peers
    assert peer.bfd is not None
    [announcement] = config.announcements
    assert announcement.checks == ("dns", "minidns-process")
    dns, process = config.checks["dns"], config.checks["minidns-process"]
    assert (dns.host, dns.port, dns.keep_open) == ("169.254.0.1", 53, True)  # type: ignore[union-attr]
    assert str(process.pidfile) == "/run/lab/minidns.pid"  # type: ignore[union-attr]


def test_a_reference_server_announces_only_the_anycast_prefix() -> None:
    text = node_files(TOPOLOGY, TOPOLOGY.node("server1"), "reference", "/x").files["frr.conf"]
    assert "router bgp 64520" in text
    assert [line.strip() for line in text.splitlines() if "network" in line] == [
        "network 169.254.0.1/32"
    ]


@pytest.mark.parametrize("server", ["server1", "server2"])
def test_minibgp_accepts_the_rendered_config(server: str) -> None:
    node = TOPOLOGY.node(server)
    text = node_files(TOPOLOGY, node, "python", "/run/lab").files["minibgp.toml"]
    config = parse_config(text, Path(f"{server}.toml"))
    assert config.speaker.asn == node.asn
    assert str(config.speaker.control_socket) == "/run/lab/minibgp.sock"
    [peer] = config.peers
    assert peer.asn == 4290001234
    assert peer.hold_time == TOPOLOGY.bgp_timers.hold
    assert [a.prefix for a in config.announcements] == [ip_network("169.254.0.1/32")]


def test_the_zone_file_holds_the_seeds_records() -> None:
    zone = parse_master_file(zone_file(TOPOLOGY), "example.com.")
    assert _records(zone) == {
        ("example.com.", "SOA", 3600,
         "ns1.example.com. hostmaster.example.com. 0 10800 3600 604800 3600"),
        ("example.com.", "NS", 3600, "ns1.example.com."),
        ("example.com.", "MX", 3600, "25 mail.example.com."),
        ("www.example.com.", "A", 3600, "192.0.2.1"),
    }  # fmt: skip


@pytest.mark.interop
def test_the_pdnsutil_database_and_the_zone_file_hold_the_same_records(tmp_path: Path) -> None:
    """Reference mode's database (made with the seed's pdnsutil commands) = python mode's zone."""
    require_programs("pdnsutil", "sqlite3")
    node = TOPOLOGY.node("server1")
    node_files(TOPOLOGY, node, "reference", str(tmp_path)).write(tmp_path)
    subprocess.run(["sh", str(tmp_path / "pdnsutil.sh")], check=True, capture_output=True)
    from_database = load_pdns_sqlite(tmp_path / "pdns.sqlite3")
    [zone] = list(from_database.zones.values())
    assert _records(zone) == _records(parse_master_file(zone_file(TOPOLOGY), "example.com."))


def test_pdns_answers_nsid_and_id_server_with_the_servers_name() -> None:
    text = node_files(TOPOLOGY, TOPOLOGY.node("server2"), "reference", "/d").files["pdns.conf"]
    settings = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    assert settings["server-id"] == "server2"
    assert settings["local-address"] == "169.254.0.1,192.168.58.100"
    assert settings["launch"] == "gsqlite3"


def test_every_node_renders_in_every_mode() -> None:
    for node in TOPOLOGY.nodes.values():
        for mode in MODES:
            files = node_files(TOPOLOGY, node, mode, "/run/x").files
            expected = {
                ("router", "python"): {"frr.conf"},
                ("router", "reference"): {"frr.conf"},
                ("server", "python"): {"minibgp.toml", "example.com.zone"},
                ("server", "reference"): {"frr.conf", "pdns.conf", "pdnsutil.sh"},
                ("client", "python"): set(),
                ("client", "reference"): set(),
            }[(node.role, mode)]
            assert set(files) == expected, (node.name, mode)


def test_render_command_writes_a_nodes_files(tmp_path: Path) -> None:
    out = tmp_path / "server1"
    argv = [sys.executable, "-m", "lab", "render", "--node", "server1", "--mode", "python"]
    subprocess.run([*argv, "--out", str(out)], check=True, capture_output=True, cwd=REPO)
    assert {path.name for path in out.iterdir()} == {"minibgp.toml", "example.com.zone"}
    assert f'pidfile = "{out.resolve()}/minidns.pid"' in (out / "minibgp.toml").read_text()


# --- relationships, sites' announcements, IPv6 ---------------------------------------------------

THREE = load(REPO / "lab" / "topologies" / "three-sites.toml")


def _block(text: str, header: str) -> list[str]:
    """The lines of a config block, from its header to the next `!`."""
    lines = text.splitlines()
    start = lines.index(header)
    end = lines.index("!", start)
    return lines[start:end]


def test_imports_set_local_preference_by_relationship_and_tag_where_the_route_was_learnt() -> None:
    text = frr_config(THREE, THREE.node("transit-a"))  # peer transit-b, customers west, central
    assert _block(text, "route-map from-customer permit 20") == [
        "route-map from-customer permit 20",
        " set local-preference 200",
        " set large-community 65001:1:1 additive",
    ]
    assert _block(text, "route-map from-peer permit 20") == [
        "route-map from-peer permit 20",
        " set local-preference 150",
        " set large-community 65001:1:2 additive",
    ]
    central = frr_config(THREE, THREE.node("central"))  # customer of both transits
    assert _block(central, "route-map from-provider permit 20") == [
        "route-map from-provider permit 20",
        " set local-preference 100",
        " set large-community 65020:1:3 additive",
    ]
    for name in ("from-customer", "from-peer"):  # RFC 8326 §4.1 before anything else
        assert _block(text, f"route-map {name} permit 10")[1:3] == [
            " match community graceful-shutdown",
            " set local-preference 0",
        ]


def test_exports_are_valley_free() -> None:
    central = frr_config(THREE, THREE.node("central"))
    assert (
        "bgp large-community-list standard from-peer-or-provider seq 5 permit 65020:1:2" in central
    )
    assert (
        "bgp large-community-list standard from-peer-or-provider seq 10 permit 65020:1:3" in central
    )
    # to a provider: nothing learnt from a peer or another provider, the rest (customers', own)
    assert _block(central, "route-map to-provider deny 10") == [
        "route-map to-provider deny 10",
        " match large-community from-peer-or-provider",
    ]
    assert _block(central, "route-map to-provider permit 20") == ["route-map to-provider permit 20"]
    transit = frr_config(THREE, THREE.node("transit-a"))
    assert _block(transit, "route-map to-customer permit 10") == ["route-map to-customer permit 10"]
    assert "route-map to-customer deny" not in transit  # a customer gets every route
    lines = transit.splitlines()
    for family in ("ipv4", "ipv6"):
        start = lines.index(f" address-family {family} unicast")
        block = lines[start : lines.index(" exit-address-family", start)]
        assert "  neighbor 10.3.1.2 route-map from-peer in" in block  # transit-b
        assert "  neighbor 10.3.1.2 route-map to-peer out" in block
        assert "  neighbor 10.3.2.2 route-map from-customer in" in block  # west
        assert "  neighbor 10.3.2.2 route-map to-customer out" in block
    assert " neighbor 10.3.1.2 description transit-b (eBGP, peer)" in lines


def test_a_router_activates_ipv6_on_every_dual_stack_session_and_originates_its_networks() -> None:
    lines = frr_config(THREE, THREE.node("west")).splitlines()
    start = lines.index(" address-family ipv6 unicast")
    block = lines[start : lines.index(" exit-address-family", start)]
    assert [line for line in block if "network" in line] == [
        "  network 2001:db8:3:2::/64",
        "  network 2001:db8:3:11::/64",
        "  network 2001:db8:3:21::/64",
    ]
    assert "  neighbor 10.3.2.1 activate" in block and "  neighbor 10.3.11.2 activate" in block


def test_a_site_announces_the_anycast_prefixes_only_with_its_options() -> None:
    topology = parse_text(
        (REPO / "lab" / "topologies" / "three-sites.toml")
        .read_text()
        .replace(
            '[nodes.site-west]\nrole = "server"\nasn = 64601',
            '[nodes.site-west]\nrole = "server"\nasn = 64601\nprepend = 2\nmed = 10\n'
            'communities = ["65010:7"]\nscope = "local"',
        ),
        Path("three-sites.toml"),
    )
    site = topology.node("site-west")
    reference = frr_config(topology, site, "reference")
    assert _block(reference, "route-map announce permit 10") == [
        "route-map announce permit 10",
        " match ip address prefix-list anycast",
        " set as-path prepend 64601 64601",
        " set metric 10",
        " set community 65010:7 no-export additive",
    ]
    assert "ip prefix-list anycast seq 5 permit 169.254.0.1/32" in reference
    assert "ipv6 prefix-list anycast seq 5 permit 2001:db8:53::1/128" in reference
    assert "  neighbor 10.3.11.1 route-map announce out" in reference
    config = parse_config(minibgp_config(topology, site), Path("site-west.toml"))
    assert [str(a.prefix) for a in config.announcements] == ["169.254.0.1/32", "2001:db8:53::1/128"]
    for announcement in config.announcements:
        assert (announcement.as_path_prepend, announcement.med) == (2, 10)
        assert announcement.communities == ((65010 << 16) | 7, 0xFFFFFF01)  # RFC 1997 NO_EXPORT
    [peer] = config.peers
    assert str(peer.next_hop) == "2001:db8:3:11::2"  # the IPv6 prefix's next hop: RFC 4760 §3


def test_the_dns_servers_answer_on_both_anycast_addresses() -> None:
    site = THREE.node("site-east")
    args = minidns_args(THREE, site, "/z")
    listens = [args[i + 1] for i, arg in enumerate(args) if arg == "--listen"]
    assert listens == [
        "169.254.0.1:53", "[2001:db8:53::1]:53", "10.3.13.2:53", "[2001:db8:3:13::2]:53",
    ]  # fmt: skip
    pdns = node_files(THREE, site, "reference", "/d").files["pdns.conf"]
    assert "local-address=169.254.0.1,2001:db8:53::1,10.3.13.2,2001:db8:3:13::2" in pdns


def test_advertisement_interval_and_timers_per_router() -> None:
    topology = parse_text(
        (REPO / "lab" / "topologies" / "three-sites.toml")
        .read_text()
        .replace(
            '[nodes.east]\nrole = "router"',
            '[nodes.east]\nrole = "router"\n'
            "bgp_timers = { advertisement_interval = 30, hold = 9, keepalive = 3 }",
        ),
        Path("three-sites.toml"),
    )
    east = frr_config(topology, topology.node("east"))
    assert " neighbor 10.3.5.1 advertisement-interval 30" in east
    assert " neighbor 10.3.5.1 timers 3 9" in east
    assert "advertisement-interval" not in frr_config(topology, topology.node("west"))


@pytest.mark.interop
@pytest.mark.parametrize(
    "topology_file", ["three-sites.toml", "global.toml", "shared-provider.toml"]
)
@pytest.mark.parametrize("mode", ["python", "reference"])
def test_every_frr_config_of_a_shipped_topology_passes_vtysh_dry_run(
    topology_file: str, mode: str, tmp_path: Path
) -> None:
    require_programs("vtysh")
    topology = load(REPO / "lab" / "topologies" / topology_file)
    for node in topology.nodes.values():
        files = node_files(topology, node, mode, str(tmp_path))  # type: ignore[arg-type]
        if "frr.conf" not in files.files:
            continue
        path = tmp_path / f"{node.name}.conf"
        path.write_text(files.files["frr.conf"])
        result = subprocess.run(["vtysh", "-C", "-f", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, (node.name, result.stdout + result.stderr)
