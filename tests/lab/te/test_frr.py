"""A reference-mode site's announcement changed at runtime: the FRR commands, from the same
policy lines its frr.conf was rendered with."""

from __future__ import annotations

from dataclasses import replace

from lab.render import frr_config
from lab.te.action import SiteAnnouncement
from lab.te.frr import configuration, soft_clear
from lab.topology import TOPOLOGIES, Announcement, load

THREE_SITES = load(TOPOLOGIES / "three-sites.toml")
SEED = load(TOPOLOGIES / "seed.toml")
WEST = THREE_SITES.node("site-west")

RESET = [" no set as-path prepend", " no set metric", " no set community"]


def test_a_prepend_rewrites_both_families_entries_of_the_announce_route_map() -> None:
    before = SiteAnnouncement(Announcement())
    after = SiteAnnouncement(Announcement(prepend=2, med=50, communities=("64500:1",)))
    sets = [
        " set as-path prepend 64601 64601",
        " set metric 50",
        " set community 64500:1 additive",
    ]
    assert configuration(WEST, THREE_SITES.service, before, after) == [
        "bgp route-map delay-timer 0",
        "route-map announce permit 10", *RESET, *sets, "exit",
        "route-map announce permit 20", *RESET, *sets, "exit",
    ]  # fmt: skip
    assert soft_clear(THREE_SITES.service) == [
        "clear bgp ipv4 unicast * soft out",
        "clear bgp ipv6 unicast * soft out",
    ]


def test_the_set_lines_are_those_of_the_rendered_frr_conf() -> None:
    """What `restore` puts back is what the site started with."""
    local = replace(WEST, announcement=Announcement(prepend=1, scope="local"))
    rendered = frr_config(THREE_SITES, local, "reference").splitlines()
    commands = configuration(
        local,
        THREE_SITES.service,
        SiteAnnouncement(Announcement()),
        SiteAnnouncement(local.announcement),
    )
    for line in (" set as-path prepend 64601", " set community no-export additive"):
        assert rendered.count(line) == 2 and commands.count(line) == 2
    for entry in ("route-map announce permit 10", "route-map announce permit 20"):
        assert entry in rendered and entry in commands


def test_withdraw_and_announce_remove_and_add_the_network_statements() -> None:
    announced = SiteAnnouncement(Announcement())
    withdrawn = SiteAnnouncement(Announcement(), withdrawn=True)
    network = [
        "router bgp 64601",
        " address-family ipv4 unicast", "  no network 169.254.0.1/32", " exit-address-family",
        " address-family ipv6 unicast", "  no network 2001:db8:53::1/128", " exit-address-family",
        "exit",
    ]  # fmt: skip
    assert configuration(WEST, THREE_SITES.service, announced, withdrawn)[-8:] == network
    back = configuration(WEST, THREE_SITES.service, withdrawn, announced)[-8:]
    assert back == [line.replace("no network", "network") for line in network]
    # nothing said about `network` when announcing does not change (a `no network` for a
    # prefix bgpd does not have is an error)
    assert not any("network" in line for line in configuration(
        WEST, THREE_SITES.service, withdrawn, replace(withdrawn, announcement=Announcement(med=1))
    ))  # fmt: skip


def test_an_ipv4_only_site_has_one_entry_and_one_soft_clear() -> None:
    server1 = SEED.node("server1")
    commands = configuration(
        server1,
        SEED.service,
        SiteAnnouncement(Announcement()),
        SiteAnnouncement(Announcement(prepend=1)),
    )
    assert commands == [
        "bgp route-map delay-timer 0",
        "route-map announce permit 10",
        *RESET,
        " set as-path prepend 64520",
        "exit",
    ]
    assert soft_clear(SEED.service) == ["clear bgp ipv4 unicast * soft out"]
