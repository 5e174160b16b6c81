"""The catchment map: DNS answers summed up, the two methods compared, moves, JSON, the table,
the picture."""

from __future__ import annotations

import json

import pytest

from lab.answers import Answer
from lab.catchment.model import (
    Catchment,
    Seen,
    SelectedPath,
    Target,
    build,
    compare,
    dns_seen,
    moves,
)
from lab.catchment.report import format_table
from lab.topology import Family

C1 = Target("client1", 4, "192.0.2.10", "192.0.2.0/24", "router1")
C2 = Target("client2", 4, "198.51.100.10", "198.51.100.0/24", "router2")
C1_6 = Target("client1", 6, "2001:db8:1::10", "2001:db8:1::/64", "router1")


def seen(*sites: str, rtt: float = 0.0003, error: str | None = None) -> Seen:
    counts: dict[str, int] = {}
    for site in sites:
        counts[site] = counts.get(site, 0) + 1
    return Seen(counts, asked=max(len(sites), 1), rtt=rtt if sites else None, error=error)


Paths = dict[tuple[str, Family], SelectedPath | None]


def catchment(
    dns: dict[Target, Seen],
    verfploeter: dict[Target, Seen] | None = None,
    targets: tuple[Target, ...] = (C1, C2),
    paths: Paths | None = None,
) -> Catchment:
    if paths is None:
        paths = {
            ("router1", 4): SelectedPath("router1", "64520", "192.168.57.100", "server1", 2),
            ("router2", 4): SelectedPath("router2", "64530", "192.168.58.100", "server2", 2),
            ("router1", 6): None,
        }
    return build(
        lab="t", topology="seed", mode="python", sites=["server1", "server2"], targets=targets,
        dns=dns, verfploeter=verfploeter, paths=paths, measured_at=1e9, duration=0.05,
    )  # fmt: skip


def test_dns_answers_are_counted_by_site_with_the_median_round_trip() -> None:
    answers = [Answer("server1", 0.004), Answer("server1", 0.001), Answer("server1", 0.002)]
    assert dns_seen(answers) == Seen({"server1": 3}, asked=3, rtt=0.002)
    mixed = dns_seen(
        [Answer("server2", 0.001), Answer(None, error="timeout"), Answer("server1", 0.003)]
    )
    assert mixed.sites == {"server2": 1, "server1": 1} and mixed.site is None
    assert mixed.error is None and mixed.answered == 2 and mixed.asked == 3
    lost = dns_seen(
        [
            Answer(None, error="timeout"),
            Answer(None, error="REFUSED"),
            Answer(None, error="timeout"),
        ]
    )
    assert (lost.sites, lost.rtt, lost.error) == ({}, None, "timeout")


@pytest.mark.parametrize(
    ("dns", "verfploeter", "verdict"),
    [
        (seen("server1"), seen("server1", "server1"), "agree"),
        (seen("server1"), seen("server2"), "differ"),
        (seen("server1", "server2"), seen("server1"), "split"),
        (seen("server1"), seen("server1", "server2"), "split"),
        (seen(error="timeout"), seen("server1"), "no DNS answer"),
        (seen("server1"), seen(error="timeout"), "no echo reply"),
        (seen(error="timeout"), seen(error="timeout"), "unanswered"),
        (seen("server1"), None, "DNS only"),
    ],
)  # fmt: skip
def test_the_two_methods_compared(dns: Seen, verfploeter: Seen | None, verdict: str) -> None:
    assert compare(dns, verfploeter) == verdict


def test_a_converged_catchment_agrees_and_lists_each_sites_clients() -> None:
    result = catchment({C1: seen("server1"), C2: seen("server2")},
                       {C1: seen("server1"), C2: seen("server2")})  # fmt: skip
    assert result.agree and result.problems() == []
    assert result.sites_of(4) == {"client1": "server1", "client2": "server2"}
    assert result.clients_of(4) == {"server1": ["client1"], "server2": ["client2"]}
    assert result.get("client1").path == SelectedPath(
        "router1", "64520", "192.168.57.100", "server1", 2
    )
    with pytest.raises(KeyError):
        result.get("client1", 6)


def test_a_disagreement_is_a_problem_and_flagged_in_the_table() -> None:
    result = catchment({C1: seen("server1"), C2: seen("server2")},
                       {C1: seen("server2"), C2: seen("server2")})  # fmt: skip
    assert not result.agree
    assert [entry.client for entry in result.problems()] == ["client1"]
    assert result.sites_of(4, "verfploeter") == {"client1": "server2", "client2": "server2"}
    assert result.sites_of(4) == {"client1": "server1", "client2": "server2"}  # DNS first
    table = format_table(result)
    assert "✘ DNS and Verfploeter disagree for 1 of 2:" in table
    assert "client1 IPv4: differ (DNS: server1; Verfploeter: server2)" in table


def test_an_unserved_client_is_listed_under_none() -> None:
    result = catchment({C1: seen(error="timeout"), C2: seen("server2")},
                       {C1: seen(error="timeout"), C2: seen("server2")})  # fmt: skip
    assert result.clients_of(4) == {"server1": [], "server2": ["client2"], None: ["client1"]}
    assert result.get("client1").site is None
    assert "client1 IPv4: unanswered" in format_table(result)
    assert "IPv4 clients per site: server1 0, server2 1, none 1" in format_table(result)
    assert result.to_json()["catchment"]["ipv4"]["none"] == ["client1"]


def test_a_site_that_routes_but_does_not_answer() -> None:
    """Verfploeter's replies reach server1, DNS gets no answer: the black hole of a site that
    announces the prefix while its DNS server is down."""
    result = catchment({C1: seen(error="Connection refused"), C2: seen("server2")},
                       {C1: seen("server1"), C2: seen("server2")})  # fmt: skip
    assert result.get("client1").verdict == "no DNS answer"
    assert result.get("client1").site == "server1"  # in its catchment, if not served
    table = format_table(result)
    assert "IPv4 clients per site: server1 1 (1 without a DNS answer), server2 1" in table
    assert (
        "client1 IPv4: no DNS answer (DNS: - (Connection refused); Verfploeter: server1)" in table
    )


def test_dns_alone_agrees_when_every_client_is_answered() -> None:
    result = catchment({C1: seen("server1"), C2: seen("server2")})
    assert result.agree and not result.verfploeter_run
    assert "answered over IPv4 (DNS only)" in format_table(result)
    assert not catchment({C1: seen("server1"), C2: seen(error="timeout")}).agree


def test_moves_between_two_catchments() -> None:
    before = catchment({C1: seen("server1"), C2: seen("server2")})
    after = catchment({C1: seen("server2"), C2: seen("server2")})
    assert [(m.client, m.family, m.before, m.after) for m in before.moves(after)] == [
        ("client1", 4, "server1", "server2")
    ]
    assert moves(before, before) == []


def test_json_shape() -> None:
    result = catchment(
        {C1: seen("server1", "server1"), C2: seen("server2"), C1_6: seen("server1")},
        {C1: seen("server1"), C2: seen("server2"), C1_6: seen("server1")},
        targets=(C1, C2, C1_6),
    )
    data = json.loads(json.dumps(result.to_json()))
    assert set(data) == {
        "lab", "topology", "mode", "measured_at", "duration_s", "sites", "families", "methods",
        "agree", "clients", "catchment", "routers",
    }  # fmt: skip
    assert data["families"] == ["ipv4", "ipv6"] and data["methods"] == ["dns", "verfploeter"]
    client1 = data["clients"]["client1"]
    assert client1["router"] == "router1"
    ipv4 = client1["families"]["ipv4"]
    assert ipv4["site"] == "server1" and ipv4["verdict"] == "agree"
    assert ipv4["dns"] == {"site": "server1", "sites": {"server1": 2}, "asked": 2,
                           "answered": 2, "rtt_ms": 0.3, "error": None}  # fmt: skip
    assert ipv4["path"] == {"as_path": "64520", "next_hop": "192.168.57.100",
                             "site": "server1", "paths": 2}  # fmt: skip
    assert client1["families"]["ipv6"]["path"] is None
    assert data["catchment"]["ipv6"] == {"server1": ["client1"], "server2": []}
    assert data["routers"]["router1"] == {"ipv4": ipv4["path"], "ipv6": None}


def test_the_table_has_a_row_per_client_and_family() -> None:
    result = catchment(
        {C1: seen("server1"), C2: seen("server2"), C1_6: seen("server1")},
        {C1: seen("server1"), C2: seen("server2"), C1_6: seen("server1")},
        targets=(C1, C2, C1_6),
    )
    lines = format_table(result).splitlines()
    assert lines[0] == "catchment of lab 't' (seed, python mode), measured in 0.05 s"
    assert lines[2].split() == ["client", "family", "router", "AS", "path", "DNS", "(NSID)",
                                "RTT", "Verfploeter", "RTT"]  # fmt: skip
    assert lines[3].split() == ["client1", "IPv4", "router1", "64520", "server1", "0.30", "ms",
                                "server1", "0.30", "ms", "✔"]  # fmt: skip
    assert lines[5].split()[:4] == ["client1", "IPv6", "router1", "-"]
    assert "IPv6 clients per site: server1 1, server2 0" in lines
    assert (
        lines[-1] == "✔ DNS and Verfploeter agree for every client network (2) over IPv4 and IPv6"
    )
