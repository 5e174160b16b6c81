"""What the page shows, from observations: no lab, no clock."""

from __future__ import annotations

from pathlib import Path

from lab.te.action import SiteAnnouncement, TeAction
from lab.topology import Announcement, load
from lab.ui.collect import _minibgp_status
from lab.ui.namespace import LinkState
from lab.ui.probes import Sample
from lab.ui.view import TE_ACTIONS, WINDOW, BestPath, Daemon, LabView, ServerStatus

UP = LinkState("x", True, True, "noqueue")


def _view() -> LabView:
    view = LabView("t", "python", load())
    running = {
        "server1": [Daemon("minidns", "running"), Daemon("minibgp", "running")],
        "server2": [Daemon("minidns", "running"), Daemon("minibgp", "running")],
        "router1": [Daemon("bgpd", "running")],
        "router2": [Daemon("bgpd", "running")],
    }
    view.observe_processes([], running)
    for node in view.topology.nodes.values():
        view.observe_interfaces(node.name, {i.name: UP for i in node.interfaces})
    return view


def _link_id(view: LabView, a: str, b: str) -> str:
    return next(x["id"] for x in view.graph["links"] if {x["a"], x["b"]} == {a, b})


def test_graph_has_every_node_and_link_with_its_session_kind() -> None:
    view = _view()
    assert {n["name"] for n in view.graph["nodes"]} == set(view.topology.nodes)
    kinds = {x["label"]: x["bgp"] for x in view.graph["links"]}
    assert kinds == {
        "server1↔router1": "eBGP", "server2↔router2": "eBGP", "router1↔router2": "iBGP",
        "router1↔client1": None, "router2↔client2": None,
    }  # fmt: skip
    assert [(lane.client, lane.family) for lane in view.lanes] == [
        ("client1", "IPv4"), ("client2", "IPv4"),
    ]  # fmt: skip


def test_client_tile_follows_the_samples() -> None:
    view = _view()
    view.add_samples(0, [Sample(1.0, 0.001, "server1", None), Sample(1.1, None, None, "timeout")])
    lane = view.entries()["client/client1"]["lanes"]["IPv4"]
    assert lane == {"server": None, "last_server": "server1", "since": 1.1, "lost_since": 1.1,
                    "error": "timeout"}  # fmt: skip
    view.add_samples(0, [Sample(1.2, 0.001, "server2", None), Sample(1.3, 0.001, "server2", None)])
    lane = view.entries()["client/client1"]["lanes"]["IPv4"]
    assert (lane["server"], lane["since"], lane["lost_since"]) == ("server2", 1.2, None)


def test_tick_sends_only_what_changed_and_snapshot_has_history() -> None:
    view = _view()
    first = view.tick(now=10.0)
    assert first is not None and "node/server1" in first["entries"]
    assert view.tick(now=10.1) is None  # nothing new
    view.add_samples(1, [Sample(10.15, 0.001, "server2", None)])
    update = view.tick(now=10.2)
    assert update is not None
    assert update["samples"] == [[1, 10.15, "server2"]]
    assert list(update["entries"]) == ["client/client2"]
    snapshot = view.snapshot(now=10.3)
    assert snapshot["runs"] == [[], [[10.15, 10.15, "server2"]]]
    assert snapshot["entries"]["client/client2"]["lanes"]["IPv4"]["server"] == "server2"


def test_sessions_links_and_paths() -> None:
    view = _view()
    view.observe_sessions("router1", {"server1": "Established", "router2": "Established"})
    view.observe_sessions("server1", {"router1": "Established"})
    view.observe_best_path("router1", "IPv4", BestPath("192.168.58.100", "64530", True, 1))
    link = _link_id(view, "server1", "router1")
    entries = view.entries()
    assert entries[f"session/{link}"]["up"] is True
    path = entries["router/router1"]["paths"]["IPv4"]
    assert (path["site"], path["next_hop_node"], path["kind"]) == ("server2", "server2", "iBGP")
    view.observe_sessions("router1", {"server1": "Active", "router2": "Established"})
    view.observe_interfaces("server1", {"eth-router1": LinkState("eth-router1", False, False, "")})
    entries = view.entries()
    assert entries[f"session/{link}"] == {
        "up": False, "state": "Active", "ends": {"server1": "Established", "router1": "Active"},
    }  # fmt: skip
    assert entries[f"link/{link}"] == {"state": "down"}
    view.observe_interfaces("server1", None)
    assert view.entries()[f"link/{link}"] == {"state": "unknown"}


def test_site_from_the_origin_as_when_the_next_hop_is_a_router() -> None:
    view = _view()
    assert view.site_of(BestPath("192.168.59.40", "4290001234 64530", False, 2)) == "server2"
    assert view.site_of(BestPath("192.168.59.40", "65000", False, 2)) is None


def test_refusals_in_words() -> None:
    view = _view()
    assert view.refusal("halt", "nosuch") == "no node 'nosuch' in lab 't'"
    assert view.refusal("explode", "server1") == "no action 'explode'"
    assert view.refusal("halt", "server1") is None
    assert view.refusal("start", "server1") == "server1 is running (halt it first, or use restart)"
    assert view.refusal("drain", "router1") == "router1 is a router: drain applies to servers"
    assert view.refusal("resume", "server1") == "server1 is not hung"
    view.observe_processes(["server1"], {})
    assert view.refusal("halt", "server1") == "server1 is already halted"
    assert view.refusal("kill-dns", "server1") == "server1 is halted (start it first)"
    assert view.refusal("start", "server1") is None
    link = _link_id(view, "server1", "router1")
    assert view.refusal("cut", link) == "server1 is halted: start it first"
    assert view.refusal("cut", "99") == "no link '99' in lab 't'"


def test_traffic_engineering_on_sites_only_and_only_while_their_speaker_can_be_told() -> None:
    view = _view()
    assert view.refusal("prepend-more", "server1") is None
    assert view.refusal("no-export", "router1") == (
        "router1 is a router: no-export applies to servers"
    )
    view.observe_processes([], {"server1": [Daemon("minibgp", "stopped")]})
    assert view.refusal("withdraw", "server1") == (
        "server1 is hung: its BGP speaker cannot be told (resume it first)"
    )
    view.observe_processes(["server1"], {})
    assert view.refusal("as-configured", "server1") == "server1 is halted (start it first)"


def test_refusals_follow_the_state() -> None:
    view = _view()
    view.observe_processes(
        [], {"server1": [Daemon("minidns", "gone"), Daemon("minibgp", "running")]}
    )
    assert view.node_state("server1") == "degraded"
    assert view.refusal("kill-dns", "server1") == "server1's DNS server is not running"
    assert view.refusal("start", "server1") is None  # a restart
    view.observe_processes([], {"server1": [Daemon("minidns", "stopped")]})
    assert view.refusal("hang", "server1") == "server1 is already hung"
    view.observe_server("server1", ServerStatus(drain="graceful-shutdown"), now=0.0)
    assert view.refusal("drain", "server1") == "server1 is already drained"
    view.observe_server("server1", ServerStatus(drain="none"), now=1.0)
    assert view.refusal("undrain", "server1") == "server1 is not drained"
    link = _link_id(view, "router1", "router2")
    view.observe_interfaces(
        "router1", {"eth-router2": LinkState("eth-router2", True, True, "blackhole")}
    )
    assert view.link_state(link) == "silent"
    assert view.refusal("silence", link) == "link router1↔router2 is silent"
    assert view.refusal("unsilence", link) is None


def test_query_rate_from_a_counter() -> None:
    view = _view()
    view.observe_server("server1", ServerStatus(queries=100), now=0.0)
    assert view.entries()["server/server1"]["qps"] is None
    view.observe_server("server1", ServerStatus(queries=150), now=0.2)  # too soon: ignored
    view.observe_server("server1", ServerStatus(queries=200), now=1.0)
    assert view.entries()["server/server1"]["qps"] == 100.0
    view.observe_server("server1", ServerStatus(queries=5), now=2.0)  # restarted: keep the rate
    assert view.entries()["server/server1"]["qps"] == 100.0


def test_actions_logged_with_their_time() -> None:
    view = _view()
    action = view.action_started("halt server1", now=5.0)
    view.tick(now=5.0)
    view.action_finished(action, True, "server1 halted")
    update = view.tick(now=5.1)
    assert update is not None
    assert update["actions"] == [{"id": 1, "t": 5.0, "text": "halt server1", "state": "done",
                                  "message": "server1 halted"}]  # fmt: skip


def test_a_snapshot_carries_the_last_minute_as_runs_per_lane() -> None:
    """A run: samples in a row answered by one server (or lost); a lost query judged late (at
    its timeout) still goes where it was sent."""
    view = _view()
    answers = ["server1"] * 5 + [None] * 2 + ["server2"] * 3
    view.add_samples(0, [Sample(100 + i / 10, 0.001, server, None)
                         for i, server in enumerate(answers) if server is not None])  # fmt: skip
    view.add_samples(
        0, [Sample(100.5, None, None, "timeout"), Sample(100.6, None, None, "timeout")]
    )
    view.add_samples(0, [Sample(30.0, 0.001, "server1", None)])  # older than the window
    view.tick(now=101.0)
    runs = view.snapshot(now=101.0)["runs"]
    assert runs[0] == [[100.0, 100.4, "server1"], [100.5, 100.6, None], [100.7, 100.9, "server2"]]
    assert runs[1] == []
    assert 101.0 - WINDOW > 30.0  # the lone old sample is not in it


def test_ipv6_lanes_and_prefixes_on_three_sites() -> None:
    three = load(Path(__file__).resolve().parents[3] / "lab" / "topologies" / "three-sites.toml")
    view = LabView("t", "python", three)
    assert view.families == ["IPv4", "IPv6"]
    lanes = {(lane.client, lane.family): lane.address for lane in view.lanes}
    assert len(lanes) == 2 * len(three.clients)
    assert lanes["client-west", "IPv4"] == "169.254.0.1"
    assert lanes["client-west", "IPv6"] == "2001:db8:53::1"
    # an IPv6 next hop, and an IPv4-mapped one, are found on their node
    west = three.node("site-west").interfaces[0]
    assert west.ip6 is not None
    assert view.topology_owner(str(west.ip6)) == "site-west"
    assert view.topology_owner(f"::ffff:{west.ip}") == "site-west"
    view.observe_best_path("west", "IPv6", BestPath(str(west.ip6), "64601", False, 1))
    assert view.entries()["router/west"]["paths"]["IPv6"]["site"] == "site-west"


def test_a_servers_row_says_what_the_site_announces() -> None:
    view = _view()
    server = view.entries()["server/server1"]
    assert (server["announced"], server["te"]) == ("no prepend, MED or community", False)
    view.observe_announcements(
        {"server1": SiteAnnouncement(Announcement(prepend=2), withdrawn=True)}
    )
    view.tick(now=1.0)
    server = view.entries()["server/server1"]
    assert (server["announced"], server["te"]) == ("withdrawn (when announced: prepend 2)", True)
    assert view.refusal("withdraw", "server1") is None  # lab te answers "already announces"


def test_a_server_as_its_minibgp_metrics_say() -> None:
    view = _view()
    samples = [
        ("minibgp_peer_state", {"peer": "192.168.57.10", "state": "Established"}, 1.0),
        ("minibgp_peer_state", {"peer": "192.168.57.10", "state": "Idle"}, 0.0),
        ("minibgp_bfd_state", {"peer": "192.168.57.10", "state": "Up"}, 1.0),
        ("minibgp_bfd_state", {"peer": "192.168.57.10", "state": "Down"}, 0.0),
        ("minibgp_check_passing", {"check": "dns"}, 1.0),
        ("minibgp_check_passing", {"check": "minidns-process"}, 0.0),
        (
            "minibgp_prefix_state",
            {"prefix": "169.254.0.1/32", "source": "config", "state": "graceful_shutdown"},
            1.0,
        ),
    ]
    status = _minibgp_status(view, "server1", samples)
    assert status.bfd == {"router1": "Up"}
    assert status.checks == {"dns": "passing", "minidns-process": "failing"}
    assert status.prefixes == {"169.254.0.1/32": "graceful_shutdown"}
    assert status.drain == "graceful-shutdown"
    view.observe_server("server1", status, now=0.0)
    link = _link_id(view, "server1", "router1")
    assert view.entries()[f"session/{link}"]["ends"]["server1"] == "Established"
    server = view.entries()["server/server1"]
    assert server["checks"] == {"dns": "passing", "minidns-process": "failing"}
    assert view.refusal("drain", "server1") == "server1 is already drained"


def test_actions_are_named_as_a_person_writes_them() -> None:
    """The log's and the timeline's names: a site's traffic engineering as `lab te` says it."""
    view = _view()
    assert view.describe_action("prepend-more", "server1") == "server1: prepend +1"
    assert view.describe_action("prepend-none", "server1") == "server1: prepend 0"
    assert view.describe_action("no-export", "server1") == "server1: community no-export"
    assert view.describe_action("as-configured", "server2") == "server2: restore"
    assert view.describe_action("halt", "router1") == "halt router1"
    link = _link_id(view, "server1", "router1")
    assert view.describe_action("cut", link) == "cut link server1↔router1"
    for key, words in TE_ACTIONS.items():  # `lab te SITE WORDS` takes them as they are
        if key != "prepend-more":
            assert str(TeAction.parse(words.split())) == words
