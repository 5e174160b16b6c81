"""What each peer is sent: the config, runtime changes, health checks and drains together."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import ip_address, ip_network

import pytest

from minibgp.adj_rib_out import Route
from minibgp.announcements import Announcements, Change, Source
from minibgp.config import AnnounceConfig, PeerConfig
from minibgp.drain import Drains, DrainScope

ROUTER = PeerConfig(ip_address("192.168.57.10"), 4290001234)
OTHER = PeerConfig(ip_address("192.168.58.10"), 4290001234)
ANYCAST = ip_network("169.254.0.1/32")
CHECKED = ip_network("169.254.0.2/32")
NEW = ip_network("169.254.0.9/32")
NO_EXPORT = 0xFFFFFF01


def announcements() -> Announcements:
    configured = [
        AnnounceConfig(ANYCAST, communities=(65000 << 16 | 1,), med=10),
        AnnounceConfig(CHECKED, checks=("dns",)),
    ]
    return Announcements(configured, [ROUTER.address, OTHER.address])


def sent(table: Announcements, peer: PeerConfig = ROUTER) -> dict[str, Route]:
    return {str(route.prefix): route for route in table.routes_for(peer, Drains())}


def test_the_config_is_announced_and_a_checked_prefix_waits_for_its_checks() -> None:
    table = announcements()
    assert set(sent(table)) == {"169.254.0.1/32"}
    table.set_health(CHECKED, True)
    assert set(sent(table)) == {"169.254.0.1/32", "169.254.0.2/32"}
    assert table.source(ANYCAST) is Source.CONFIG


def test_announce_adds_a_prefix_at_runtime() -> None:
    table = announcements()
    table.announce(NEW, Change(as_path_prepend=2, communities=(NO_EXPORT,)))
    route = sent(table)["169.254.0.9/32"]
    assert route.as_path_prepend == 2 and route.communities == (NO_EXPORT,)
    assert table.source(NEW) is Source.RUNTIME and table.state(NEW, Drains()) == "announced"


def test_announce_changes_only_what_it_is_given() -> None:
    table = announcements()
    table.announce(ANYCAST, Change(as_path_prepend=3))
    table.announce(ANYCAST, Change(med=None))  # no MED any more; the prepend stays
    route = sent(table)["169.254.0.1/32"]
    assert route.as_path_prepend == 3 and route.med is None
    assert route.communities == (65000 << 16 | 1,)
    assert table.source(ANYCAST) is Source.CHANGED


def test_a_runtime_change_keeps_the_prefixs_health_checks() -> None:
    table = announcements()
    table.announce(CHECKED, Change(med=5))
    assert "169.254.0.2/32" not in sent(table)
    assert table.state(CHECKED, Drains()) == "held back: its checks have not passed yet"
    assert table.state(CHECKED, Drains(), "dns fails: timeout") == "held back: dns fails: timeout"
    table.set_health(CHECKED, True)
    assert sent(table)["169.254.0.2/32"].med == 5


def test_withdraw_then_announce_or_restore() -> None:
    table = announcements()
    table.announce(ANYCAST, Change(as_path_prepend=1))
    table.withdraw(ANYCAST)
    assert "169.254.0.1/32" not in sent(table)
    assert table.source(ANYCAST) is Source.WITHDRAWN
    table.announce(ANYCAST, Change())  # back, as the config says
    assert sent(table)["169.254.0.1/32"].as_path_prepend == 0
    table.withdraw(ANYCAST)
    table.restore(ANYCAST)
    assert table.source(ANYCAST) is Source.CONFIG and "169.254.0.1/32" in sent(table)


def test_a_runtime_prefix_withdrawn_is_gone() -> None:
    table = announcements()
    table.announce(NEW, Change())
    table.withdraw(NEW)
    assert table.source(NEW) is None and "169.254.0.9/32" not in sent(table)


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        (lambda t: t.withdraw(NEW), "169.254.0.9/32 is not announced"),
        (lambda t: t.restore(ANYCAST), "169.254.0.1/32 has no runtime change to undo"),
        (
            lambda t: t.announce(ANYCAST, Change(next_hop=ip_address("fd00::1"))),
            "an IPv4 prefix needs an IPv4 next hop",
        ),
        (
            lambda t: t.announce(NEW, Change(peers=(ip_address("192.0.2.1"),))),
            "192.0.2.1 is not a configured peer",
        ),
        (lambda t: t.announce(NEW, Change(as_path_prepend=33)), "as_path_prepend must be 0..32"),
    ],
)
def test_what_cannot_be_done_is_refused_and_changes_nothing(
    action: Callable[[Announcements], object], reason: str
) -> None:
    table = announcements()
    with pytest.raises(ValueError, match=reason):
        action(table)
    assert table.runtime == {} and set(sent(table)) == {"169.254.0.1/32"}


def test_announce_to_some_peers_only() -> None:
    table = announcements()
    table.announce(NEW, Change(peers=(OTHER.address,)))
    assert "169.254.0.9/32" not in sent(table, ROUTER)
    assert "169.254.0.9/32" in sent(table, OTHER)
    table.announce(NEW, Change(peers=None))
    assert "169.254.0.9/32" in sent(table, ROUTER)


def test_a_reload_keeps_the_runtime_changes() -> None:
    table = announcements()
    table.announce(ANYCAST, Change(as_path_prepend=2))
    table.announce(NEW, Change())
    table.withdraw(CHECKED)
    table.reconfigure([AnnounceConfig(ANYCAST, med=99)], [ROUTER.address])
    route = sent(table)["169.254.0.1/32"]
    assert route.as_path_prepend == 2 and route.med == 10
    assert "169.254.0.9/32" in sent(table)
    assert CHECKED not in table.runtime  # withdrawn, and no longer in the config: nothing left
    table.restore(ANYCAST)
    assert sent(table)["169.254.0.1/32"].med == 99


def test_drains_cover_runtime_announcements_too() -> None:
    table = announcements()
    table.announce(NEW, Change())
    drains = Drains()
    drains.start(DrainScope(), 0.0, now=0.0)
    assert table.routes_for(ROUTER, drains) == []
    assert table.state(NEW, drains) == "drained: withdrawn"
