"""What the page shows, computed from what was observed: no I/O, no clock of its own.

The collectors (`lab.ui.collect`) tell a `LabView` what they saw — probe samples, the state of
each node's processes and interfaces, each speaker's BGP sessions, each router's best paths,
each server's counters — and the server asks it, a few times a second, for what changed since
it last asked (`tick`). A page that connects gets a `snapshot` first: the graph, the recent
samples and actions, and every entry; then the changes. Entries are small JSON objects under
keys the page knows how to draw: `node/NAME`, `link/ID`, `session/ID`, `client/NAME`,
`router/NAME`, `server/NAME`. Probe samples go to the page as rows `[lane, sent, server]`; a
snapshot carries the last minute of them as runs, `[start, end, server]` per lane (a run: the
samples in a row that one server answered, or that were lost), so that its size does not grow
with the probe rate.

`refusal()` says why an action cannot be done now (unknown node, already halted, ...), in
words for the page.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv6Address, ip_address
from typing import Any

from ..te.action import SiteAnnouncement
from ..topology import Topology
from ..topology.model import Family
from .layout import layout
from .namespace import LinkState
from .probes import Sample

HISTORY = 90.0  # seconds of actions a page gets when it connects, and of samples kept
WINDOW = 60.0  # seconds of samples a page gets when it connects (its timeline's width)
Entry = dict[str, Any]
ESTABLISHED = "Established"


@dataclass(frozen=True)
class Lane:
    """One probe: a client asking one anycast address (one address family)."""

    client: str
    family: str  # "IPv4" or "IPv6"
    address: str


@dataclass(frozen=True)
class Daemon:
    """A daemon of a node as its process looks now."""

    name: str
    state: str  # "running", "stopped" (SIGSTOP) or "gone"


@dataclass(frozen=True)
class BestPath:
    """A router's selected path for an anycast prefix (RFC 4271 §9.1.2)."""

    next_hop: str
    as_path: str
    internal: bool
    paths: int  # how many paths the router knows for the prefix
    reason: str = ""  # why it won, as FRR says ("Peer Type", "AS Path", ...)


@dataclass
class ServerStatus:
    """What a server's own programs say about it (minibgp and minidns, or FRR and PowerDNS)."""

    queries: float | None = None  # a counter of queries answered, for the rate
    drain: str = "none"  # "none", "graceful-shutdown" or "withdrawn"
    bfd: dict[str, str] = field(default_factory=dict)  # peer node -> BFD state
    checks: dict[str, str] = field(default_factory=dict)  # health check -> "passing" / "failing"
    prefixes: dict[str, str] = field(default_factory=dict)  # prefix -> "announced", "held_back"…


@dataclass
class _Action:
    id: int
    t: float
    text: str
    state: str = "running"  # "running", "done" or "failed"
    message: str = ""

    def entry(self) -> Entry:
        return {"id": self.id, "t": round(self.t, 3), "text": self.text, "state": self.state,
                "message": self.message}  # fmt: skip


# What `lab te` does to a site's announcement (lab/ui/actions.py), in its words: `lab te SITE
# prepend 0` and so on; "prepend +1" is one more than the site prepends now.
TE_ACTIONS: dict[str, str] = {
    "prepend-more": "prepend +1",
    "prepend-none": "prepend 0",
    "no-export": "community no-export",
    "export": "no-community no-export",
    "withdraw": "withdraw",
    "announce": "announce",
    "as-configured": "restore",
}
GROUPS = ("nodes", "links", "sessions", "routers", "servers")  # of entries; clients go by lane
NODE_ACTIONS = ("halt", "start", "kill-dns", "hang", "resume", "drain", "undrain", *TE_ACTIONS)
LINK_ACTIONS = ("cut", "restore", "silence", "unsilence")


class LabView:
    """The page's picture of one lab, built from observations."""

    def __init__(self, name: str, mode: str, topology: Topology) -> None:
        self.name = name
        self.mode = mode
        self.topology = topology
        self.lanes = _lanes(topology)
        self.probe_interval = 0.1  # seconds between a lane's queries (the collector sets it)
        self.graph = _graph(topology)
        self._servers = [n.name for n in topology.of_role("server")]
        self._links = {link["id"]: link for link in self.graph["links"]}
        self._owners = {  # every interface address → its node
            address: node.name
            for node in topology.nodes.values()
            for interface in node.interfaces
            for address in (interface.ip, interface.ip6)
            if address is not None
        }
        self._samples: deque[tuple[float, list[Any]]] = deque()
        self._new_samples: list[list[Any]] = []
        self._last: dict[int, Sample] = {}
        self._last_answer: dict[int, Sample] = {}
        self._lost_since: dict[int, float] = {}
        self._since: dict[int, float] = {}  # lane -> when its current answer (or loss) began
        self._actions: dict[int, _Action] = {}
        self._changed_actions: set[int] = set()
        self._processes: dict[str, list[Daemon]] = {}
        self._halted: set[str] = set()
        self._interfaces: dict[str, Mapping[str, LinkState]] = {}
        self._sessions: dict[str, dict[str, str]] = {}  # node -> peer node -> BGP state
        self._paths: dict[tuple[str, str], BestPath | None] = {}
        self._server_status: dict[str, ServerStatus] = {}
        self._announced: dict[str, SiteAnnouncement] = {}  # site -> as `lab te` left it
        self._rates: dict[str, tuple[float, float, float | None]] = {}  # counter, t, rate
        self._published: dict[str, Entry] = {}
        # What changed since the last tick: groups of entries, and lanes with new samples. A
        # tick recomputes only those (a big topology has hundreds of entries).
        self._dirty: set[str] = set(GROUPS)
        self._dirty_lanes: set[int] = set(range(len(self.lanes)))

    # --- observations --------------------------------------------------------------------

    def add_samples(self, lane: int, samples: Iterable[Sample]) -> None:
        self._dirty_lanes.add(lane)
        for sample in samples:
            self._new_samples.append([lane, round(sample.sent, 3), sample.server])
            previous = self._last.get(lane)
            if previous is None or sample.sent >= previous.sent:
                if previous is None or previous.server != sample.server:
                    self._since[lane] = sample.sent
                self._last[lane] = sample
                if sample.server is not None:
                    self._last_answer[lane] = sample
                    self._lost_since.pop(lane, None)
                else:
                    self._lost_since.setdefault(lane, sample.sent)

    def observe_processes(self, halted: Iterable[str], daemons: Mapping[str, list[Daemon]]) -> None:
        halted, daemons = set(halted), dict(daemons)
        if (halted, daemons) != (self._halted, self._processes):
            self._halted, self._processes = halted, daemons
            self._dirty |= {"nodes", "sessions", "routers", "servers"}

    def observe_announcements(self, changed: Mapping[str, SiteAnnouncement]) -> None:
        """What `lab te` changed of the sites' announcements (a site not named: as configured)."""
        if changed != self._announced:
            self._announced = dict(changed)
            self._dirty.add("servers")

    def announced(self, site: str) -> SiteAnnouncement:
        """What a site announces now."""
        configured = SiteAnnouncement(self.topology.nodes[site].announcement)
        return self._announced.get(site, configured)

    def observe_interfaces(self, node: str, interfaces: Mapping[str, LinkState] | None) -> None:
        """A node's interfaces (None: its namespace could not be read)."""
        if self._interfaces.get(node) == interfaces:
            return
        if interfaces is None:
            self._interfaces.pop(node, None)
        else:
            self._interfaces[node] = interfaces
        self._dirty.add("links")

    def observe_sessions(self, node: str, sessions: Mapping[str, str] | None) -> None:
        """A speaker's BGP sessions: peer node -> state (RFC 4271 §8.2.2), None: unknown."""
        if self._sessions.get(node) == sessions:
            return
        if sessions is None:
            self._sessions.pop(node, None)
        else:
            self._sessions[node] = dict(sessions)
        self._dirty.add("sessions")

    def observe_best_path(self, router: str, family: str, best: BestPath | None) -> None:
        if self._paths.get((router, family), False) != best:
            self._paths[(router, family)] = best
            self._dirty.add("routers")

    def observe_server(self, server: str, status: ServerStatus | None, *, now: float) -> None:
        self._dirty.add("servers")
        if status is None:
            self._server_status.pop(server, None)
            self._rates.pop(server, None)
            return
        self._server_status[server] = status
        if status.queries is None:
            self._rates.pop(server, None)
            return
        counter, rate = status.queries, None
        before = self._rates.get(server)
        if before is not None:
            old_counter, old_t, old_rate = before
            if now - old_t < 0.5:  # too soon for a steady rate: keep the last one
                return
            if counter >= old_counter:
                rate = (counter - old_counter) / (now - old_t)
            rate = rate if rate is not None else old_rate
        self._rates[server] = (counter, now, rate)

    # --- actions -------------------------------------------------------------------------

    def refusal(self, action: str, target: str) -> str | None:
        """Why `action` on `target` cannot be done now; None if it can."""
        if action in LINK_ACTIONS:
            return self._link_refusal(action, target)
        if action not in NODE_ACTIONS:
            return f"no action {action!r}"
        if target not in self.topology.nodes:
            return f"no node {target!r} in lab {self.name!r}"
        role = self.topology.nodes[target].role
        state = self.node_state(target)
        halted = state == "halted"
        if action == "halt":
            return f"{target} is already halted" if halted else None
        if action == "start":
            if state in ("up", "hung") and role != "client":
                return f"{target} is running (halt it first, or use restart)"
            if role == "client" and not halted:
                return f"{target} is not halted"
            return None
        if halted:
            return f"{target} is halted (start it first)"
        if action == "hang":
            return f"{target} is already hung" if state == "hung" else None
        if action == "resume":
            return None if state == "hung" else f"{target} is not hung"
        if role != "server":
            return f"{target} is a {role}: {action} applies to servers"
        if action in TE_ACTIONS and state == "hung":
            return f"{target} is hung: its BGP speaker cannot be told (resume it first)"
        if action == "kill-dns":
            dns = [d for d in self._processes.get(target, []) if d.name in DNS_DAEMONS]
            if not any(d.state != "gone" for d in dns):
                return f"{target}'s DNS server is not running"
            return None
        drain = self._server_status.get(target, ServerStatus()).drain
        if action == "drain" and drain != "none":
            return f"{target} is already drained"
        if action == "undrain" and drain == "none":
            return f"{target} is not drained"
        return None

    def _link_refusal(self, action: str, target: str) -> str | None:
        link = self._links.get(target)
        if link is None:
            return f"no link {target!r} in lab {self.name!r}"
        for node in (link["a"], link["b"]):
            if self.node_state(node) == "halted":
                return f"{node} is halted: start it first"
        state = self.link_state(target)
        wanted = {"cut": "up", "silence": "up", "restore": "down", "unsilence": "silent"}[action]
        if state != wanted:
            return f"link {link['label']} is {state}"
        return None

    def describe_action(self, action: str, target: str) -> str:
        """The action as the log and the timeline name it: "halt server1", "cut link
        server1↔router1", "site-west: prepend +1" (a site's traffic engineering, as `lab te`
        says it)."""
        if action in TE_ACTIONS:
            return f"{target}: {TE_ACTIONS[action]}"
        for link in self.graph["links"]:
            if link["id"] == target:
                return f"{action} link {link['label']}"
        return f"{action} {target}"

    def action_started(self, text: str, *, now: float) -> int:
        action = _Action(len(self._actions) + 1, now, text)
        self._actions[action.id] = action
        self._changed_actions.add(action.id)
        return action.id

    def action_finished(self, action_id: int, ok: bool, message: str) -> None:
        action = self._actions[action_id]
        action.state = "done" if ok else "failed"
        action.message = message
        self._changed_actions.add(action_id)

    # --- what is shown -------------------------------------------------------------------

    def node_state(self, node: str) -> str:
        """ "halted", "hung" (a daemon stopped), "degraded" (a daemon gone) or "up"."""
        if node in self._halted:
            return "halted"
        daemons = self._processes.get(node, [])
        if any(d.state == "stopped" for d in daemons):
            return "hung"
        if any(d.state == "gone" for d in daemons):
            return "degraded"
        return "up"

    def link_state(self, link_id: str) -> str:
        """ "up", "down" (an end is down or has no carrier), "silent" (drops every packet) or
        "unknown" (an end's namespace could not be read)."""
        link = self._links[link_id]
        ends = []
        for node, interface in ((link["a"], link["a_if"]), (link["b"], link["b_if"])):
            state = self._interfaces.get(node, {}).get(interface)
            if state is None:
                return "unknown"
            ends.append(state)
        if not all(end.admin_up and end.carrier for end in ends):
            return "down"
        if any(end.qdisc == "blackhole" for end in ends):
            return "silent"
        return "up"

    def entries(self) -> dict[str, Entry]:
        """Every entry as it stands now."""
        return self._entries(set(GROUPS), set(range(len(self.lanes))))

    def _entries(self, groups: set[str], lanes: set[int]) -> dict[str, Entry]:
        """The entries of some groups, and of the clients of some lanes."""
        entries: dict[str, Entry] = {}
        if "nodes" in groups:
            for name in self.topology.nodes:
                daemons = [[d.name, d.state] for d in self._processes.get(name, [])]
                entries[f"node/{name}"] = {"state": self.node_state(name), "daemons": daemons}
        for link_id, link in self._links.items():
            if "links" in groups:
                entries[f"link/{link_id}"] = {"state": self.link_state(link_id)}
            if link["bgp"] and "sessions" in groups:
                entries[f"session/{link_id}"] = self._session(link)
        for client in dict.fromkeys(self.lanes[lane].client for lane in sorted(lanes)):
            entries[f"client/{client}"] = self._client(client)
        if "routers" in groups:
            for router in self.topology.of_role("router"):
                entries[f"router/{router.name}"] = self._router(router.name)
        if "servers" in groups:
            for server in self._servers:
                entries[f"server/{server}"] = self._server(server)
        return entries

    def _session(self, link: Entry) -> Entry:
        a, b = link["a"], link["b"]
        reports = {
            a: self._sessions.get(a, {}).get(b) if a not in self._halted else None,
            b: self._sessions.get(b, {}).get(a) if b not in self._halted else None,
        }
        known = [state for state in reports.values() if state is not None]
        up = bool(known) and all(state == ESTABLISHED for state in known)
        down = [state for state in known if state != ESTABLISHED]
        return {"up": up, "state": down[0] if down else (ESTABLISHED if up else "unknown"),
                "ends": reports}  # fmt: skip

    def _client(self, client: str) -> Entry:
        lanes = {}
        for index, lane in enumerate(self.lanes):
            if lane.client != client:
                continue
            last = self._last.get(index)
            answer = self._last_answer.get(index)
            lanes[lane.family] = {
                "server": last.server if last is not None else None,
                "last_server": answer.server if answer is not None else None,
                "since": _rounded(self._since.get(index)),
                "lost_since": _rounded(self._lost_since.get(index)),
                "error": last.error if last is not None else None,
            }
        return {"lanes": lanes}

    def _router(self, router: str) -> Entry:
        paths = {}
        for family in self.families:
            best = self._paths.get((router, family))
            paths[family] = None if best is None else self._path_entry(best)
        return {"paths": paths}

    def _path_entry(self, best: BestPath) -> Entry:
        return {
            "site": self.site_of(best),
            "next_hop": best.next_hop,
            "next_hop_node": self.topology_owner(best.next_hop),
            "as_path": best.as_path,
            "kind": "iBGP" if best.internal else "eBGP",
            "paths": best.paths,
            "reason": best.reason,
        }

    def _server(self, server: str) -> Entry:
        status = self._server_status.get(server)
        rate = self._rates.get(server)
        dns = [d for d in self._processes.get(server, []) if d.name in DNS_DAEMONS]
        return {
            "qps": None if rate is None or rate[2] is None else round(rate[2], 1),
            "dns": dns[0].state if dns else "none",
            "drain": status.drain if status else None,
            "bfd": status.bfd if status else {},
            "checks": status.checks if status else {},
            "prefixes": status.prefixes if status else {},
            "announced": self.announced(server).describe(),
            "te": server in self._announced,  # changed by `lab te`
        }

    @property
    def families(self) -> list[str]:
        """The anycast address families, as the page names them ("IPv4", "IPv6")."""
        return [family_name(family) for family in self.topology.families]

    def site_of(self, best: BestPath) -> str | None:
        """The site (server) a path leads to: its next hop's owner if that is a server, else
        the one server whose AS originated it (the last AS of the AS path)."""
        owner = self.topology_owner(best.next_hop)
        if owner in self._servers:
            return owner
        origin = best.as_path.split()[-1] if best.as_path.split() else ""
        matches = [s for s in self._servers if str(self.topology.nodes[s].asn) == origin]
        return matches[0] if len(matches) == 1 else None

    def topology_owner(self, address: str) -> str | None:
        """The node with `address` (IPv4 or IPv6; ::ffff:a.b.c.d is a.b.c.d) on an interface."""
        try:
            wanted = ip_address(address.split("%")[0])
        except ValueError:
            return None
        if isinstance(wanted, IPv6Address) and wanted.ipv4_mapped is not None:
            wanted = wanted.ipv4_mapped
        return self._owners.get(wanted)

    # --- messages to the page ------------------------------------------------------------

    def snapshot(self, *, now: float) -> dict[str, Any]:
        """Everything a page needs to start: the graph, recent samples and actions, entries."""
        self._forget(now)
        return {
            "type": "snapshot",
            "now": round(now, 3),
            "lab": self.name,
            "mode": self.mode,
            "graph": self.graph,
            "lanes": [
                {"client": lane.client, "family": lane.family, "address": lane.address}
                for lane in self.lanes
            ],
            "families": self.families,
            "probe_interval": self.probe_interval,
            "runs": self._runs(now),  # as of the last tick
            "actions": [a.entry() for a in self._actions.values() if a.t >= now - HISTORY],
            "entries": self._published,
        }

    def tick(self, *, now: float) -> dict[str, Any] | None:
        """What changed since the last tick (None: nothing). A page applies an action's entry
        by its id, so one sent in a snapshot and again in the next tick is drawn once."""
        current = self._entries(self._dirty, self._dirty_lanes)
        self._dirty, self._dirty_lanes = set(), set()
        changed = {
            key: value for key, value in current.items() if self._published.get(key) != value
        }
        self._published.update(changed)
        samples, self._new_samples = self._new_samples, []
        self._samples.extend((row[1], row) for row in samples)
        actions = [self._actions[i].entry() for i in sorted(self._changed_actions)]
        self._changed_actions.clear()
        self._forget(now)
        if not (changed or samples or actions):
            return None
        return {"type": "update", "now": round(now, 3), "samples": samples, "actions": actions,
                "entries": changed}  # fmt: skip

    def _runs(self, now: float) -> list[list[list[Any]]]:
        """Per lane, the samples of the last WINDOW seconds as runs [start, end, server]."""
        runs: list[list[list[Any]]] = [[] for _ in self.lanes]
        for _, (lane, sent, server) in sorted(
            (row for row in self._samples if row[0] >= now - WINDOW), key=lambda r: r[1][1]
        ):
            lane_runs = runs[lane]
            if lane_runs and lane_runs[-1][2] == server:
                lane_runs[-1][1] = sent
            else:
                lane_runs.append([sent, sent, server])
        return runs

    def _forget(self, now: float) -> None:
        while self._samples and self._samples[0][0] < now - HISTORY:
            self._samples.popleft()


DNS_DAEMONS = ("minidns", "pdns_server")


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def family_name(family: Family) -> str:
    return f"IPv{family}"


def _lanes(topology: Topology) -> list[Lane]:
    """A lane per client and anycast address family."""
    service = topology.service
    return [
        Lane(client.name, family_name(family), str(service.address_of(family)))
        for client in topology.of_role("client")
        for family in topology.families
    ]


def _graph(topology: Topology) -> dict[str, Any]:
    """Nodes with their place on the page, and links with the BGP session each carries."""
    names = list(topology.nodes)
    pairs = [(link.ends[0].node, link.ends[1].node) for link in topology.links]
    roles = {name: node.role for name, node in topology.nodes.items()}
    places = layout(names, pairs, roles)
    nodes = [
        {"name": node.name, "role": node.role, "asn": node.asn,
         "x": round(places[node.name][0], 4), "y": round(places[node.name][1], 4)}
        for node in topology.nodes.values()
    ]  # fmt: skip
    links = []
    for index, link in enumerate(topology.links):
        a, b = link.ends
        asn_a, asn_b = topology.nodes[a.node].asn, topology.nodes[b.node].asn
        bgp = None
        if asn_a is not None and asn_b is not None:
            bgp = "iBGP" if asn_a == asn_b else "eBGP"
        links.append({
            "id": str(index), "a": a.node, "b": b.node, "a_if": a.name, "b_if": b.name,
            "network": str(link.network), "bgp": bgp, "label": f"{a.node}↔{b.node}",
        })  # fmt: skip
    return {"nodes": nodes, "links": links}
