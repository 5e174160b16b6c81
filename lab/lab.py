"""The lab as a whole: bring it up and down, halt and start nodes, ask the routers and the clients.

A lab has a name ("default" unless told otherwise) and a topology (`lab/topologies/seed.toml`
unless `up` is given another). Its namespaces are `abd-<name>-<node>` and its state — mode, a
copy of the topology file, the daemons' PIDs, their run directories — lives in
`/run/anycast-bgp-dns/<name>/`, so that `down`, `status`, `halt` and `exec` work from any process
with the name alone, also after the process that ran `up` crashed or was interrupted. Two labs
with different names share nothing but the machine.

For tools built on a running lab (`Lab(name)`):

    lab.topology                     the model: .sites, .routers, .clients, .ases(), .neighbors(n)
    lab.host(node)                   the node's namespace: .run(argv), .popen(argv), .socket(...)
    lab.exec_argv(node, argv)        a command line that runs argv in the node
    lab.ask(clients, family)         which site answers each client (NSID), all asked at once
    lab.bgp_paths(router, family)    a router's paths to the anycast prefix, the best marked
    lab.vty(node)                    a connection to a node's bgpd (FRR's vty socket)
    lab.minibgp_socket(site)         a python-mode site's minibgp control socket
    lab.announcement(site)           what a site announces now (`lab te` changes it at runtime)
    lab.wait_until_converged()       BGP settled and every client answered
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Any

from minibgp.control import ControlError, request

from . import answers
from .answers import Answer, Question
from .frr import FrrRouter, wait_until
from .netns import Netns, Network, list_namespaces, remove_stale
from .nodes import (
    Daemon,
    bring_down,
    bring_up,
    emulate_links,
    end_daemons,
    start_all,
    stop_daemons,
    wire,
)
from .render import MODES, Mode
from .topology import SEED_TOPOLOGY, Announcement, Family, Topology, load, parse_text
from .vty import Vty, VtyError

STATE_ROOT = Path(os.environ.get("ABD_LAB_STATE_ROOT", "/run/anycast-bgp-dns"))
NAMESPACE_PREFIX = "abd-"
# No "-" in a lab's name: "abd-<name>-" must never be the start of another lab's namespaces.
NAME_PATTERN = re.compile(r"[a-z0-9_]{1,20}")
TOPOLOGY_COPY = "topology.toml"
CONVERGENCE_TIMEOUT = 60.0
# Seconds no router's BGP table may change before the lab counts as converged: more than FRR's
# coalesce time (1 s), for which a new session's first UPDATEs are held back.
SETTLE_TIME = 1.2
POLL_INTERVAL = 0.1


class LabError(RuntimeError):
    """A request the lab cannot carry out (not up, unknown node, ...)."""


@dataclass
class LabState:
    """What `up` records for later commands (saved as state.json after every change)."""

    name: str
    mode: Mode
    daemons: list[Daemon] = field(default_factory=list)
    halted: list[str] = field(default_factory=list)
    topology: str = str(SEED_TOPOLOGY)  # the file `up` was given (a copy is kept beside)
    # Sites whose announcement `lab te` changed at runtime: site -> the Announcement's fields
    # and "withdrawn". Until the site is halted: its speaker then starts from its config again.
    announcements: dict[str, dict[str, Any]] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n")
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path) -> LabState:
        data = json.loads(path.read_text())
        daemons = [Daemon(**d) for d in data["daemons"]]
        topology = data.get("topology", str(SEED_TOPOLOGY))
        announcements = dict(data.get("announcements", {}))
        return cls(
            data["name"], data["mode"], daemons, list(data["halted"]), topology, announcements
        )


@dataclass(frozen=True)
class BgpPath:
    """One path a router has for an anycast prefix."""

    server: str | None  # the site it leads to (by next hop, else by origin AS), if known
    next_hop: str
    as_path: str
    internal: bool
    best: bool
    local_pref: int | None = None
    communities: tuple[str, ...] = ()
    large_communities: tuple[str, ...] = ()


class Lab:
    """One named instance of a topology in network namespaces."""

    def __init__(
        self, name: str = "default", topology: Topology | None = None, state_root: Path = STATE_ROOT
    ) -> None:
        if not NAME_PATTERN.fullmatch(name):
            raise LabError(f"lab name {name!r}: use 1-20 of a-z, 0-9 and '_'")
        self.name = name
        self.prefix = f"{NAMESPACE_PREFIX}{name}-"
        self.state_dir = state_root / name
        self._state: LabState | None = None
        self._given_topology = topology
        self._topology = topology
        self.warnings: list[str] = []  # what `up` could not do as the topology asks

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Leaving a `with Lab(...)` block tears the lab down, whatever happened inside."""
        self.down()

    # --- state -------------------------------------------------------------------------------

    @property
    def topology(self) -> Topology:
        """The topology given, else the one the running lab was brought up with, else the seed."""
        if self._topology is None:
            copy = self.state_dir / TOPOLOGY_COPY
            if copy.exists() and self.state_file.exists():
                source = Path(LabState.load(self.state_file).topology)
                self._topology = parse_text(copy.read_text(), source)
            else:
                self._topology = load(SEED_TOPOLOGY)
        return self._topology

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def state(self) -> LabState:
        if self._state is None:
            if not self.state_file.exists():
                raise LabError(f"lab {self.name!r} is not up (python -m lab up --name {self.name})")
            self._state = LabState.load(self.state_file)
        return self._state

    @property
    def mode(self) -> Mode:
        return self.state.mode

    def namespaces(self) -> list[str]:
        return [name for name in list_namespaces() if name.startswith(self.prefix)]

    def is_up(self) -> bool:
        """Whether state is recorded and every node's namespace exists."""
        expected = {self.prefix + node for node in self.topology.nodes}
        return self.state_file.exists() and expected <= set(self.namespaces())

    def run_dir(self, node: str) -> Path:
        return self.state_dir / node

    def _save(self) -> None:
        self.state.save(self.state_file)

    # --- up and down -------------------------------------------------------------------------

    def up(self, mode: Mode = "python", wait: bool = True) -> bool:
        """Bring the lab up; False if it already was (in `mode` and with the same topology;
        LabError if not). Anything left of an earlier run goes first. With `wait`, return once
        it has converged (`wait_until_converged`).
        """
        if mode not in MODES:
            raise LabError(f"mode {mode!r}: one of {', '.join(MODES)}")
        if self.state_file.exists() and self.is_up():
            self._refuse_another_lab(mode)
            return False
        given = self._given_topology or load(SEED_TOPOLOGY)
        self.down()
        self._topology = given
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for directory in (self.state_dir, self.state_dir.parent):
            directory.chmod(0o755)  # FRR, as the frr user, must reach its run directories
        source = given.source or SEED_TOPOLOGY
        if given.source is not None:
            shutil.copyfile(given.source, self.state_dir / TOPOLOGY_COPY)
        self._state = LabState(self.name, mode, topology=str(source.resolve()))
        self._save()

        def record(daemons: list[Daemon]) -> None:
            self.state.daemons += daemons
            self._save()

        try:
            hosts = wire(Network(self.prefix), given)
            self.warnings = emulate_links(hosts, given)
            start_all(hosts, given, mode, self.run_dir, record)
            if wait:
                self.wait_until_converged()
        except BaseException:
            self.down()
            raise
        return True

    def _refuse_another_lab(self, mode: Mode) -> None:
        running = Path(self.state.topology)
        given = self._given_topology
        if given is not None and given.source is not None:
            copy = self.state_dir / TOPOLOGY_COPY
            if not copy.exists() or copy.read_text() != given.source.read_text():
                raise LabError(
                    f"lab {self.name!r} is up with {running.name}, not {given.source.name}: "
                    f"`python -m lab down --name {self.name}` first"
                )
        if self.mode != mode:
            raise LabError(
                f"lab {self.name!r} is up in {self.mode} mode, not {mode}: "
                f"`python -m lab down --name {self.name}` first"
            )

    def down(self) -> list[str]:
        """End every daemon and delete every namespace and file of this lab; return what went.

        Returns once every process of the lab has exited (SIGTERM, then SIGKILL after a few
        seconds); raises LabError naming any that outlived SIGKILL.
        """
        removed = []
        survivors: list[Daemon] = []
        if self.state_file.exists():
            try:
                daemons = LabState.load(self.state_file).daemons
            except (ValueError, KeyError, TypeError):
                daemons = []  # a state file cut short by a crash: the namespaces tell the rest
            survivors = end_daemons(daemons)
            removed += [f"{d.node}/{d.name} (pid {d.pid})" for d in daemons if d not in survivors]
        removed += remove_stale(self.prefix)
        if self.state_dir.exists():
            shutil.rmtree(self.state_dir, ignore_errors=True)
            removed.append(str(self.state_dir))
        self._state = None
        self._topology = self._given_topology
        if survivors:
            names = ", ".join(f"{d.node}/{d.name} (pid {d.pid})" for d in survivors)
            raise LabError(f"lab {self.name!r}: still running after SIGKILL: {names}")
        return removed

    # --- nodes -------------------------------------------------------------------------------

    def host(self, node: str) -> Netns:
        self.topology.node(node)  # an unknown name raises here, with the list of nodes
        if not self.is_up():
            raise LabError(f"lab {self.name!r} is not up (python -m lab up --name {self.name})")
        return Netns(self.prefix + node, Network(self.prefix))

    def exec_argv(self, node: str, argv: list[str]) -> list[str]:
        """The command line that runs `argv` in a node's namespace.

        `vtysh` is pointed at the node's own FRR daemons (their sockets are in its run dir).
        """
        if argv[:1] == ["vtysh"] and "--vty_socket" not in argv:
            argv = ["vtysh", "--vty_socket", str(self.run_dir(node)), *argv[1:]]
        return self.host(node).command(argv)

    def daemons_of(self, node: str) -> list[Daemon]:
        return [daemon for daemon in self.state.daemons if daemon.node == node]

    def running(self, node: str) -> bool:
        """Whether a node is switched on (not halted)."""
        return node not in self.state.halted

    def halt(self, node: str) -> list[Daemon]:
        """Switch a node off, like `vagrant halt`: its daemons end, its links go down."""
        host, spec = self.host(node), self.topology.node(node)
        daemons = self.daemons_of(node)
        stop_daemons(daemons)
        bring_down(host, spec)
        self.state.daemons = [d for d in self.state.daemons if d.node != node]
        self.state.announcements.pop(node, None)  # it starts from its config again
        if node not in self.state.halted:
            self.state.halted.append(node)
        self._save()
        return daemons

    def start(self, node: str, wait: bool = True) -> list[Daemon]:
        """Switch a halted node back on: links up, routes back, daemons started; with `wait`,
        return once the lab has converged again (`wait_until_converged`)."""
        host, spec = self.host(node), self.topology.node(node)
        if any(daemon.is_running() for daemon in self.daemons_of(node)):
            raise LabError(f"{node} is running (halt it first)")
        bring_up(host, self.topology, spec)
        daemons = start_all({node: host}, self.topology, self.mode, self.run_dir)
        self.state.daemons += daemons
        self.state.halted = [name for name in self.state.halted if name != node]
        self._save()
        if wait:
            self.wait_until_converged()
        return daemons

    # --- the speakers ------------------------------------------------------------------------

    def frr(self, node: str) -> FrrRouter:
        """vtysh access to a node running FRR (a router, or a server in reference mode)."""
        return FrrRouter(self.host(node), self.run_dir(node), config="")

    def vtysh(self, node: str, command: str) -> str:
        return self.frr(node).vtysh(command, check=False)

    def vty(self, node: str, daemon: str = "bgpd") -> Vty:
        """A connection to one FRR daemon of a node (its vty socket; no process started)."""
        return Vty(self.run_dir(node) / f"{daemon}.vty")

    def runs_frr(self, node: str) -> bool:
        return any(daemon.name == "bgpd" for daemon in self.daemons_of(node))

    def minibgp_socket(self, site: str) -> Path:
        """The control socket of a site's minibgp (python mode): `python -m minibgp show ...
        --socket PATH`, or `minibgp.control.request(PATH, ...)`."""
        return self.run_dir(site) / "minibgp.sock"

    def announcement(self, site: str) -> tuple[Announcement, bool]:
        """What a site announces now, and whether it has withdrawn the anycast prefixes: the
        topology's announcement, unless `lab te` changed it at runtime (in any process)."""
        changed = self._fresh_state().announcements.get(site)
        if changed is None:
            return self.topology.node(site).announcement, False
        fields = {key: value for key, value in changed.items() if key != "withdrawn"}
        fields["communities"] = tuple(fields.get("communities", ()))
        return Announcement(**fields), bool(changed.get("withdrawn"))

    def record_announcement(
        self, site: str, announcement: Announcement | None, withdrawn: bool = False
    ) -> None:
        """Record a site's runtime announcement (None: the topology's again)."""
        self._fresh_state()
        if announcement is None:
            self.state.announcements.pop(site, None)
        else:
            self.state.announcements[site] = {**asdict(announcement), "withdrawn": withdrawn}
        self._save()

    def withdrawn_sites(self) -> set[str]:
        """The sites `lab te` told to withdraw the anycast prefixes."""
        announcements = self._fresh_state().announcements
        return {site for site, a in announcements.items() if a.get("withdrawn")}

    def _fresh_state(self) -> LabState:
        """The state as saved now: another process (`lab te`, the live page) may have changed it."""
        self._state = None
        return self.state

    def site_of_path(self, next_hop: str, as_path: str) -> str | None:
        """The site a path leads to: the server that is its next hop, else the one site whose
        AS originates it (the last AS of the path)."""
        owner = self.topology.owner_of(next_hop) if next_hop else None
        if owner is not None and self.topology.node(owner).role == "server":
            return owner
        origin = as_path.split()[-1] if as_path.split() else ""
        sites = [s.name for s in self.topology.sites if str(s.asn) == origin]
        return sites[0] if len(sites) == 1 else None

    def bgp_paths(self, router: str, family: Family = 4) -> list[BgpPath]:
        """The router's paths for the anycast prefix of `family` (RFC 4271 §9.1: the best one is
        marked); empty when it has none or cannot be asked."""
        anycast = self.topology.service.anycast if family == 4 else self.topology.service.anycast6
        if anycast is None:
            return []
        prefix = anycast.network
        try:
            with self.vty(router) as vty:
                view = vty.json(f"show bgp ipv{family} unicast {prefix} json")
        except VtyError:
            return []
        return [self._path(path) for path in view.get("paths", [])]

    def _path(self, path: dict[str, Any]) -> BgpPath:
        hops = [hop.get("ip", "") for hop in path.get("nexthops", [{}])]
        next_hop = hops[0] if hops else ""
        as_path = path.get("aspath", {}).get("string", "")
        return BgpPath(
            server=self.site_of_path(next_hop, as_path),
            next_hop=next_hop,
            as_path=as_path,
            internal=path.get("peer", {}).get("type") == "internal",
            best=bool(path.get("bestpath", {}).get("overall")),
            local_pref=path.get("locPrf"),
            communities=tuple(path.get("community", {}).get("string", "").split()),
            large_communities=tuple(path.get("largeCommunity", {}).get("string", "").split()),
        )

    def preferences(self, family: Family = 4) -> dict[str, str | None]:
        """For each running router, the site its best path to the anycast prefix leads to."""
        result: dict[str, str | None] = {}
        for router in self.topology.routers:
            best = [path for path in self.bgp_paths(router.name, family) if path.best]
            result[router.name] = best[0].server if best else None
        return result

    def normal_preferences(self) -> dict[str, str | None]:
        """Every router that has a site of its own prefers it (RFC 4271 §9.1.2.2 d: eBGP over
        iBGP); the others are left out. In the original lab, that is every router."""
        result: dict[str, str | None] = {}
        for router in self.topology.routers:
            own = [n.node for n in self.topology.neighbors(router.name) if n.node in self._sites]
            if own:
                result[router.name] = own[0]
        return result

    @property
    def _sites(self) -> set[str]:
        return {site.name for site in self.topology.sites}

    def wait_for_preferences(self, wanted: dict[str, str | None], timeout: float) -> None:
        """Wait until the routers prefer the sites in `wanted` (and know every running one
        among their neighbours)."""

        def settled() -> bool:
            preferences = self.preferences()
            if any(preferences.get(router) != site for router, site in wanted.items()):
                return False
            for router in wanted:
                own = {n.node for n in self.topology.neighbors(router) if n.node in self._sites}
                running = {site for site in own if self.daemons_of(site)}
                if not {p.server for p in self.bgp_paths(router)} >= running:
                    return False
            return True

        wait_until(settled, timeout, interval=0.05, what=f"routers to prefer {wanted}")

    def wait_for_reachability(self, timeout: float) -> None:
        """Wait until every client's ping reaches the anycast address (the kernel routes follow
        BGP's choice some milliseconds later, and a client's ARP entry may need a new probe)."""
        ping = ["ping", "-c", "1", "-W", "1", str(self.topology.service.address)]

        def reaches(host: Netns) -> bool:
            return host.run(ping, check=False).returncode == 0

        for client in self.topology.clients:
            what = f"{client.name} to reach the anycast address"
            wait_until(partial(reaches, self.host(client.name)), timeout, what=what)

    def bgp_sessions(self, node: str) -> dict[str, str]:
        """Neighbour name → BGP state, as the node's speaker (FRR or minibgp) reports it."""
        names = {str(n.address): n.node for n in self.topology.neighbors(node)}
        if any(daemon.name == "minibgp" for daemon in self.daemons_of(node)):
            return {
                names.get(n["address"], n["address"]): n.get("state", "?")
                for n in self._minibgp("show neighbors", node).get("neighbors", [])
            }
        try:
            with self.vty(node) as vty:
                summary = vty.json("show bgp ipv4 unicast summary json")
        except VtyError:
            return {}
        peers: dict[str, Any] = summary.get("peers", {})
        return {names.get(addr, addr): peer.get("state", "?") for addr, peer in peers.items()}

    def _minibgp(self, command: str, node: str) -> dict[str, Any]:
        try:
            answer = request(self.minibgp_socket(node), command)
        except (ControlError, OSError):
            return {}
        return answer if isinstance(answer, dict) else {}

    # --- the clients -------------------------------------------------------------------------

    def ask(
        self, clients: list[str] | None = None, family: Family = 4, timeout: float = 1.0
    ) -> dict[str, Answer]:
        """Client → which site answered its query to the anycast address of `family` (NSID),
        every client asked at once; by default every running client."""
        asked = self.ask_all(clients, (family,), timeout)
        return {client: answer for (client, _), answer in asked.items()}

    def ask_all(
        self,
        clients: list[str] | None = None,
        families: tuple[Family, ...] | None = None,
        timeout: float = 1.0,
    ) -> dict[tuple[str, Family], Answer]:
        """(client, family) → answer, for every client and family (default: the topology's)."""
        names = clients or [c.name for c in self.topology.clients if self.running(c.name)]
        service = self.topology.service
        pairs: list[tuple[str, Family]] = []
        questions = []
        for family in families or self.topology.families:
            address = service.address_of(family)
            if address is None:
                continue
            for name in names:
                pairs.append((name, family))
                questions.append(Question(self.prefix + name, address, service.zone))
        return dict(zip(pairs, answers.ask(questions, timeout), strict=True))

    # --- convergence -------------------------------------------------------------------------

    def convergence_problems(self) -> tuple[list[str], object]:
        """What keeps BGP from being settled (nothing: an empty list), and a fingerprint of the
        routers' tables that changes whenever one of them does.

        Settled means: every session between two running speakers is Established, and every
        running site's path for each anycast prefix is in each of its routers' tables (unless
        the site has withdrawn them, `lab te SITE withdraw`).
        """
        problems: list[str] = []
        withdrawn = self.withdrawn_sites()
        fingerprint: list[object] = []
        names = {}
        for node in self.topology.nodes.values():
            for interface in node.interfaces:
                names[str(interface.ip)] = node.name
        service = self.topology.service
        prefixes: list[tuple[Family, IPv4Network | IPv6Network]] = [(4, service.anycast.network)]
        if service.anycast6 is not None:
            prefixes.append((6, service.anycast6.network))
        for node in self.topology.nodes.values():
            if not self.running(node.name) or not self.runs_frr(node.name):
                continue
            try:
                with self.vty(node.name) as vty:
                    summary = vty.json("show bgp summary json")
                    views = {f: vty.json(f"show bgp ipv{f} unicast {p} json") for f, p in prefixes}
            except VtyError as error:
                problems.append(f"{node.name}: {error}")
                continue
            for family, table in summary.items():
                fingerprint.append((node.name, family, table.get("tableVersion")))
                for address, peer in table.get("peers", {}).items():
                    peer_node = names.get(address, address)
                    state = peer.get("state")
                    fingerprint.append((node.name, family, address, state))
                    if self.running(peer_node) and state != "Established":
                        problems.append(f"{node.name}: session to {peer_node} is {state}")
            for neighbor in self.topology.neighbors(node.name):
                if neighbor.node not in self._sites or not self.running(neighbor.node):
                    continue
                if neighbor.node in withdrawn:
                    continue
                for family, prefix in prefixes:
                    view = views[family]
                    peers = {p.get("peer", {}).get("peerId") for p in view.get("paths", [])}
                    if str(neighbor.address) not in peers:
                        problems.append(f"{node.name}: no path to {prefix} from {neighbor.node}")
        return problems, tuple(fingerprint)

    def wait_until_converged(self, timeout: float = CONVERGENCE_TIMEOUT) -> float:
        """Wait until BGP has settled (see `convergence_problems`), no router's table changed for
        `SETTLE_TIME` seconds, and every running client is answered on each anycast address;
        return the seconds it took. TimeoutError says what was still missing."""
        started = time.monotonic()
        deadline = started + timeout
        last: object = None
        quiet_since = started
        problems: list[str] = []
        while True:
            now = time.monotonic()
            problems, fingerprint = self.convergence_problems()
            if fingerprint != last:
                last, quiet_since = fingerprint, now
            if not problems and now - quiet_since >= SETTLE_TIME:
                unanswered = [
                    f"{client} not answered over IPv{family}"
                    for (client, family), answer in self.ask_all(timeout=0.5).items()
                    if not answer.answered
                ]
                if not unanswered:
                    return time.monotonic() - started
                problems = unanswered
            if time.monotonic() > deadline:
                shown = "; ".join(problems[:8]) or "the routers' tables kept changing"
                more = f" (and {len(problems) - 8} more)" if len(problems) > 8 else ""
                raise TimeoutError(
                    f"lab {self.name!r} not converged after {timeout:.0f} s: {shown}{more}"
                )
            time.sleep(POLL_INTERVAL)
