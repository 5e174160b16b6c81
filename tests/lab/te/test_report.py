"""`lab te`'s report: each client before and after, when it moved, the JSON."""

from __future__ import annotations

import json

from lab.catchment.model import Catchment, Seen, SelectedPath, Target, build
from lab.catchment.settle import Change, Settled
from lab.te.action import SiteAnnouncement, TeAction
from lab.te.report import format_result
from lab.te.run import TeResult
from lab.topology import Announcement

WEST = Target("client-west", 4, "10.3.21.2", "10.3.21.0/24", "west")
NORTH = Target("client-north", 4, "10.3.24.2", "10.3.24.0/24", "transit-a")


def catchment(north: str, north_path: str) -> Catchment:
    sites = {WEST: "site-west", NORTH: north}
    return build(
        lab="t", topology="three-sites", mode="python",
        sites=["site-west", "site-central"], targets=[WEST, NORTH],
        dns={t: Seen({s: 3}, asked=3, rtt=0.0001) for t, s in sites.items()},
        verfploeter={t: Seen({s: 2}, asked=2, rtt=0.0001) for t, s in sites.items()},
        paths={
            ("west", 4): SelectedPath("west", "64601", "10.3.11.2", "site-west", 2),
            ("transit-a", 4): SelectedPath("transit-a", north_path, "10.3.2.2", north, 2),
        },
        measured_at=1e9, duration=0.05,
    )  # fmt: skip


def result(changes: tuple[Change, ...]) -> TeResult:
    final = {("client-west", 4): "site-west", ("client-north", 4): "site-central"}
    return TeResult(
        site="site-west",
        action=TeAction("prepend", 2),
        announced_before=SiteAnnouncement(Announcement()),
        announced_after=SiteAnnouncement(Announcement(prepend=2)),
        changed_in=0.02,
        before=catchment("site-west", "65010 64601"),
        after=catchment("site-central", "65020 64602"),
        settled=Settled(True, changes[-1].at, changes, final, 40),
        quiet=1.0,
    )


def test_the_table_shows_each_client_before_and_after_and_when_it_moved() -> None:
    moved = result((Change(0.125, "client-north", 4, "site-west", "site-central"),))
    lines = format_result(moved).splitlines()
    assert lines[:3] == [
        "lab 't' (three-sites, python mode): site-west prepend 2",
        "  before: no prepend, MED or community",
        "  after:  prepend 2",
    ]
    assert lines[4].split() == ["client", "family", "before", "AS", "path", "after", "AS", "path",
                                "moved", "after"]  # fmt: skip
    assert lines[5].split() == ["client-west", "IPv4", "site-west", "64601", "site-west", "64601",
                                "-"]  # fmt: skip
    assert lines[6].split() == ["client-north", "IPv4", "site-west", "65010", "64601",
                                "site-central", "65020", "64602", "125", "ms"]  # fmt: skip
    assert "IPv4 clients per site: site-west 2 → 1, site-central 0 → 1" in lines
    assert "routers whose selected path changed: 1 of 2 (transit-a)" in lines
    assert (
        "settled 125 ms after the command (1 client moved: IPv4 1; the speaker took 20 ms; "
        "then no move for 1 s)"
    ) in lines
    assert lines[-1] == "✔ DNS and Verfploeter agree for every client network (2) over IPv4"


def test_a_client_unanswered_on_the_way_shows_it() -> None:
    hunted = result(
        (
            Change(0.101, "client-north", 4, "site-west", None),
            Change(0.336, "client-north", 4, None, "site-central"),
        )
    )
    text = format_result(hunted)
    assert "336 ms (before: no answer at 101 ms)" in text
    document = json.loads(json.dumps(hunted.to_json()))
    assert document["settle_time_s"] == 0.336 and document["settled"] is True
    assert document["moved"] == [
        {"client": "client-north", "family": "ipv4", "before": "site-west", "after": "site-central"}
    ]
    assert [c["after"] for c in document["changes"]] == [None, "site-central"]
    assert document["announced_after"] == {
        "prepend": 2, "med": None, "communities": [], "scope": "global", "withdrawn": False
    }  # fmt: skip
    assert document["paths_changed"] == ["transit-a ipv4"]
    assert document["after"]["catchment"]["ipv4"]["site-central"] == ["client-north"]
