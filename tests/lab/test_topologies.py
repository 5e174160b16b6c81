"""The shipped multi-AS topologies come up in both modes: each client served by its site over
IPv4 and IPv6, and nothing left behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lab.lab import Lab
from lab.nodes import netem_commands
from lab.topology import TOPOLOGIES, load, parse_text
from tests.conftest import require_programs, require_root, tagged
from tests.lab.test_lab_up_down import assert_nothing_left

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
THREE_SITES = TOPOLOGIES / "three-sites.toml"
# Each client is served by its own network's site: a customer's route wins (LOCAL_PREF 200 over
# a provider's 100). client-north, on transit-a, has two customer routes of equal length; the
# lower router id wins the tie (west's 10.3.2.2 before central's 10.3.3.2).
SITES = {
    "client-west": "site-west",
    "client-central": "site-central",
    "client-east": "site-east",
    "client-north": "site-west",
}


def _require(mode: str) -> None:
    require_root()
    require_programs("/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "dig")
    if mode == "reference":
        require_programs("pdns_server", "pdnsutil", "sqlite3")


@pytest.mark.parametrize("mode", ["python", "reference"])
def test_three_sites_serves_each_client_from_its_site_over_both_families(mode: str) -> None:
    _require(mode)
    lab = Lab(tagged(f"t3{mode[:3]}"), load(THREE_SITES))
    lab.down()
    try:
        assert lab.up(mode) is True
        answers = lab.ask_all(timeout=2.0)
        for family in (4, 6):
            assert {client: answers[(client, family)].site for client in SITES} == SITES, family
        assert lab.preferences(6)["transit-a"] == "site-west"
        [path] = [p for p in lab.bgp_paths("transit-a", 4) if p.best]
        assert (path.as_path, path.local_pref) == ("65010 64601", 200)
        # tagged by each AS as learnt from a customer: transit-a from west, west from its site
        assert sorted(path.large_communities) == ["65001:1:1", "65010:1:1"]
        # a later command needs only the name: the lab remembers its topology
        status = subprocess.run(
            [sys.executable, "-m", "lab", "status", "--name", lab.name],
            capture_output=True, text=True, cwd=REPO, timeout=60, check=True,
        ).stdout  # fmt: skip
        assert "topology three-sites (lab/topologies/three-sites.toml)" in status  # cwd: REPO
        assert "transit-a prefers site-west" in status
        assert "2001:db8:53::1/128:" in status
        dig = subprocess.run(
            [sys.executable, "-m", "lab", "exec", "client-east", "--name", lab.name, "--",
             "dig", "+short", "-6", "CH", "TXT", "id.server", "@2001:db8:53::1"],
            capture_output=True, text=True, cwd=REPO, timeout=60,
        )  # fmt: skip
        assert dig.stdout.strip() == '"site-east"', dig.stderr
    finally:
        lab.down()
    assert_nothing_left(lab)


def test_demo_checks_any_topology_from_the_command_line() -> None:
    _require("reference")
    name = tagged("t3demo")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "lab", "demo", "--topology", str(THREE_SITES), "--name", name],
            capture_output=True, text=True, cwd=REPO, timeout=300,
        )  # fmt: skip
    finally:
        Lab(name).down()
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert output.count("✔ every client is answered over IPv6 (4 of 4)") == 2  # both modes
    assert "8 checks passed, 0 failed" in output
    assert "    site-west: client-west, client-north" in output
    assert_nothing_left(Lab(name))


def test_link_delay_is_put_in_place_or_said_to_be_unavailable() -> None:
    _require("python")
    text = THREE_SITES.read_text().replace(
        'relationship = "peer"\nends = ["transit-a", "transit-b"]',
        'relationship = "peer"\ndelay = 20\nloss = 0.5\nends = ["transit-a", "transit-b"]',
    )
    topology = parse_text(text, THREE_SITES)
    [link] = [link for link in topology.links if link.delay_ms is not None]
    assert netem_commands(link) == [
        ("transit-a", ["tc", "qdisc", "replace", "dev", "eth-transit-b", "root", "netem",
                       "delay", "20ms", "loss", "0.5%"]),
        ("transit-b", ["tc", "qdisc", "replace", "dev", "eth-transit-a", "root", "netem",
                       "delay", "20ms", "loss", "0.5%"]),
    ]  # fmt: skip
    lab = Lab(tagged("tdelay"), topology)
    lab.down()
    try:
        lab.up("python", wait=False)
        qdiscs = lab.host("transit-a").run(["tc", "qdisc", "show", "dev", "eth-transit-b"]).stdout
        if "netem" in qdiscs:
            assert "delay 20ms loss 0.5%" in qdiscs and lab.warnings == []
        else:  # this machine's kernel: no sch_netem
            [warning] = lab.warnings
            assert "link delay and loss are unavailable: this kernel has no sch_netem" in warning
    finally:
        lab.down()
    assert_nothing_left(lab)
