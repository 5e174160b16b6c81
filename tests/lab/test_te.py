"""`lab te` on three-sites.toml, in both modes: a prepend moves the client that had two equal
paths, NO_EXPORT makes a site local (only the clients of its neighbour's AS keep it), a withdraw
moves its clients away, and each undo brings the catchment back; DNS and Verfploeter agree after
every action; a halt forgets the change; nothing is left behind. On shared-provider.toml, a MED
moves a PoP's clients to the operator's other site."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.lab import Lab, LabError
from lab.render import Mode
from lab.te import TeAction, TeResult, change, run_te
from lab.topology import Announcement, Family
from tests.conftest import require_programs, require_root
from tests.lab.running import running_lab

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
FAMILIES: tuple[Family, ...] = (4, 6)
# Each regional network's client is served by its own site; client-north, on transit-a, has
# two customer routes of equal length and takes site-west's (the lower router id).
START = {
    "client-west": "site-west",
    "client-central": "site-central",
    "client-east": "site-east",
    "client-north": "site-west",
}
NORTH_MOVED = {**START, "client-north": "site-central"}
QUIET = 0.5  # seconds without a move: the lab's timers make BGP settle in well under that
SETTLED_WITHIN = 5.0  # seconds; `lab te` measures 0.1-0.4 s here, bench/te_settle.py the target


@pytest.fixture(scope="module", params=["python", "reference"])
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    mode: Mode = request.param
    require_root()
    require_programs("/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh")
    if mode == "reference":
        require_programs("pdns_server", "pdnsutil", "sqlite3")
    with running_lab(f"te{mode[0]}", "three-sites.toml", mode) as lab:
        yield lab


def te(lab: Lab, site: str, action: str) -> TeResult:
    result = run_te(lab, site, TeAction.parse(action.split()), quiet=QUIET, timeout=30)
    assert result.ok, result.to_json()
    assert result.after.agree, result.after.problems()  # DNS and Verfploeter, every client
    assert result.settled.settle_time < SETTLED_WITHIN
    return result


def assert_sites(result: TeResult, wanted: dict[str, str]) -> None:
    for family in FAMILIES:
        assert result.after.sites_of(family) == wanted, (family, result.after.sites_of(family))
        assert result.after.sites_of(family, "verfploeter") == wanted


def test_a_prepend_moves_the_client_with_two_equal_paths_and_prepend_0_brings_it_back(
    lab: Lab,
) -> None:
    command = [sys.executable, "-m", "lab", "te", "site-west", "prepend", "2"]
    done = subprocess.run(
        [*command, "--name", lab.name, "--json", "--quiet", str(QUIET)],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["before"]["catchment"]["ipv4"]["site-west"] == ["client-west", "client-north"]
    assert data["after"]["catchment"]["ipv4"]["site-west"] == ["client-west"]
    assert {(m["client"], m["family"], m["after"]) for m in data["moved"]} == {
        ("client-north", "ipv4", "site-central"),
        ("client-north", "ipv6", "site-central"),
    }
    north = data["after"]["clients"]["client-north"]["families"]
    assert north["ipv4"]["path"]["as_path"] == north["ipv6"]["path"]["as_path"] == "65020 64602"
    west = data["after"]["clients"]["client-west"]["families"]["ipv4"]
    assert west["path"]["as_path"] == "64601 64601 64601"  # prepended, and still its site:
    # a customer's route (LOCAL_PREF 200) beats a provider's, whatever the AS path's length
    assert data["after"]["agree"] and data["announced_after"]["prepend"] == 2
    assert lab.announcement("site-west") == (Announcement(prepend=2), False)

    back = te(lab, "site-west", "prepend 0")
    assert_sites(back, START)
    assert lab.announcement("site-west") == (Announcement(), False)
    assert not lab.state.announcements  # as configured: nothing recorded


def test_no_export_makes_the_site_local_and_restore_makes_it_global_again(lab: Lab) -> None:
    local = te(lab, "site-west", "community no-export")
    assert_sites(local, NORTH_MOVED)
    # RFC 4786 §4.4: only the AS next to the site keeps it, and so only its own clients
    neighbour_ases = {n.asn for n in lab.topology.neighbors("site-west")}
    for family in FAMILIES:
        kept = local.after.clients_of(family)["site-west"]
        assert kept == ["client-west"]
        assert {lab.topology.node(lab.topology.first_hop(c)).asn for c in kept} <= neighbour_ases
    transit_a = lab.bgp_paths("transit-a")
    assert all(path.server != "site-west" for path in transit_a)  # not exported to it at all
    [at_west] = [p for p in lab.bgp_paths("west") if p.server == "site-west"]
    assert "no-export" in at_west.communities

    restored = te(lab, "site-west", "restore")
    assert_sites(restored, START)
    assert [m.client for m in local.before.moves(restored.after)] == []


def test_a_withdrawn_site_loses_its_clients_and_the_lab_still_counts_as_converged(
    lab: Lab,
) -> None:
    gone = te(lab, "site-west", "withdraw")
    assert_sites(gone, {**NORTH_MOVED, "client-west": "site-central"})
    assert lab.withdrawn_sites() == {"site-west"}
    lab.wait_until_converged(timeout=20)  # a withdrawn site is not waited for
    back = te(lab, "site-west", "announce")
    assert_sites(back, START)
    assert lab.withdrawn_sites() == set()


def test_a_halted_site_starts_from_its_topology_again(lab: Lab) -> None:
    change(lab, "site-west", TeAction("prepend", 3))
    assert lab.announcement("site-west") == (Announcement(prepend=3), False)
    lab.halt("site-west")
    with pytest.raises(LabError, match="site-west is halted"):
        change(lab, "site-west", TeAction("prepend", 1))
    lab.start("site-west")
    assert lab.announcement("site-west") == (Announcement(), False)
    [best] = [p for p in lab.bgp_paths("transit-a") if p.best]
    assert best.server == "site-west" and best.as_path == "65010 64601"


def test_refusals_name_what_is_wrong(lab: Lab) -> None:
    with pytest.raises(LabError, match="west is a router, not an anycast site"):
        change(lab, "west", TeAction("prepend", 1))
    with pytest.raises(LabError, match="does not announce 64500:1"):
        change(lab, "site-east", TeAction("no-community", "64500:1"))
    bad = subprocess.run(
        [sys.executable, "-m", "lab", "te", "site-east", "prepend", "40", "--name", lab.name],
        capture_output=True, text=True, cwd=REPO, timeout=30,
    )  # fmt: skip
    assert (bad.returncode, bad.stderr) == (2, "lab te: prepend: '40' is not N, 0 to 32 (0: no "
                                            "prepending)\n")  # fmt: skip


@pytest.fixture(scope="module", params=["python", "reference"])
def shared_provider(request: pytest.FixtureRequest) -> Iterator[Lab]:
    mode: Mode = request.param
    require_root()
    require_programs("/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh")
    with running_lab(f"temed{mode[0]}", "shared-provider.toml", mode) as lab:
        yield lab


def test_a_med_moves_the_clients_of_a_shared_provider_and_none_brings_them_back(
    shared_provider: Lab,
) -> None:
    """Two sites in one AS at two PoPs of one provider: the paths come from the same
    neighbouring AS, so the lower MED wins before eBGP over iBGP (RFC 4271 §9.1.2.2 c, d)."""
    home = {"client-west": "site-west", "client-east": "site-east"}
    east = te(shared_provider, "site-west", "med 100")
    assert_sites(east, {"client-west": "site-east", "client-east": "site-east"})
    [best] = [p for p in shared_provider.bgp_paths("pop-west") if p.best]
    assert (best.server, best.internal) == ("site-east", True)
    assert_sites(te(shared_provider, "site-west", "med none"), home)
