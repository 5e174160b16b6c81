"""The lab as a whole: bring it up and down, halt and start nodes, ask the routers what they see.

A lab has a name ("default" unless told otherwise). Its namespaces are `abd-<name>-<node>` and its
state — mode, the daemons' PIDs, their run directories — lives in `/run/anycast-bgp-dns/<name>/`,
so that `down`, `status`, `halt` and `exec` work from any process, also after the process that ran
`up` crashed or was interrupted. Two labs with different names share nothing but the machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from lab import answers
from lab.answers import Answer, Question
from lab.frr import FrrRouter, wait_until
from lab.netns import Netns, Network, list_namespaces, remove_stale
from lab.nodes import (
    Daemon,
    bring_down,
    bring_up,
    end_daemons,
    start_daemons,
    stop_daemons,
    wire,
)
from lab.render import MODES, Mode
from lab.topology import Topology, load
from lab.vty import Vty, VtyError

STATE_ROOT = Path(os.environ.get("ABD_LAB_STATE_ROOT", "/run/anycast-bgp-dns"))
NAMESPACE_PREFIX = "abd-"
# No "-" in a lab's name: "abd-<name>-" must never be the start of another lab's namespaces.
NAME_PATTERN = re.compile(r"[a-z0-9_]{1,20}")
CONVERGENCE_TIMEOUT = 20.0
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

    def save(self, path: Path) -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n")
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path) -> LabState:
        data = json.loads(path.read_text())
        daemons = [Daemon(**d) for d in data["daemons"]]
        return cls(data["name"], data["mode"], daemons, list(data["halted"]))


@dataclass(frozen=True)
class BgpPath:
    """One path a router has for the anycast prefix."""

    server: str | None  # the server whose address is the next hop
    next_hop: str
    as_path: str
    internal: bool
    best: bool


class Lab:
    """One named instance of the topology in network namespaces."""

    def __init__(
        self, name: str = "default", topology: Topology | None = None, state_root: Path = STATE_ROOT
    ) -> None:
        if not NAME_PATTERN.fullmatch(name):
            raise LabError(f"lab name {name!r}: use 1-20 of a-z, 0-9 and '_'")
        self.name = name
        self.topology = topology or load()
        self.prefix = f"{NAMESPACE_PREFIX}{name}-"
        self.state_dir = state_root / name
        self._state: LabState | None = None

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Leaving a `with Lab(...)` block tears the lab down, whatever happened inside."""
        self.down()

    # --- state -------------------------------------------------------------------------------

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

    # --- up and down -------------------------------------------------------------------------

    def up(self, mode: Mode = "python", wait: bool = True) -> bool:
        """Bring the lab up; False if it already was (in `mode`: LabError if in another).
        Anything left of an earlier run goes first. With `wait`, return once it has converged
        (`wait_until_converged`).
        """
        if mode not in MODES:
            raise LabError(f"mode {mode!r}: one of {', '.join(MODES)}")
        if self.is_up():
            if self.mode != mode:
                raise LabError(
                    f"lab {self.name!r} is up in {self.mode} mode, not {mode}: "
                    f"`python -m lab down --name {self.name}` first"
                )
            return False
        self.down()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for directory in (self.state_dir, self.state_dir.parent):
            directory.chmod(0o755)  # FRR, as the frr user, must reach its run directories
        self._state = LabState(self.name, mode)
        self._save()
        try:
            hosts = wire(Network(self.prefix), self.topology)
            for role in ("router", "server"):
                for node in self.topology.of_role(role):
                    run_dir = self.run_dir(node.name)
                    daemons = start_daemons(hosts[node.name], self.topology, node, mode, run_dir)
                    self.state.daemons += daemons
                    self._save()
            if wait:
                self.wait_until_converged()
        except BaseException:
            self.down()
            raise
        return True

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
        if survivors:
            names = ", ".join(f"{d.node}/{d.name} (pid {d.pid})" for d in survivors)
            raise LabError(f"lab {self.name!r}: still running after SIGKILL: {names}")
        return removed

    def _save(self) -> None:
        self.state.save(self.state_file)

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

    def halt(self, node: str) -> list[Daemon]:
        """Switch a node off, like `vagrant halt`: its daemons end, its links go down."""
        host, spec = self.host(node), self.topology.node(node)
        daemons = self.daemons_of(node)
        stop_daemons(daemons)
        bring_down(host, spec)
        self.state.daemons = [d for d in self.state.daemons if d.node != node]
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
        daemons = start_daemons(host, self.topology, spec, self.mode, self.run_dir(node))
        self.state.daemons += daemons
        self.state.halted = [name for name in self.state.halted if name != node]
        self._save()
        if wait:
            self.wait_until_converged()
        return daemons

    # --- what the routers see ----------------------------------------------------------------

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

    def bgp_paths(self, router: str) -> list[BgpPath]:
        """The router's paths for the anycast prefix (RFC 4271 §9.1: the best one is marked)."""
        prefix = self.topology.service.anycast.network
        try:
            with self.vty(router) as vty:
                view = vty.json(f"show bgp ipv4 unicast {prefix} json")
        except VtyError:
            return []
        paths = []
        for path in view.get("paths", []):
            next_hop = path.get("nexthops", [{}])[0].get("ip", "")
            paths.append(
                BgpPath(
                    server=self.topology.owner_of(next_hop) if next_hop else None,
                    next_hop=next_hop,
                    as_path=path.get("aspath", {}).get("string", ""),
                    internal=path.get("peer", {}).get("type") == "internal",
                    best=bool(path.get("bestpath", {}).get("overall")),
                )
            )
        return paths

    def preferences(self) -> dict[str, str | None]:
        """For each router, the server its best path to the anycast prefix leads to."""
        result: dict[str, str | None] = {}
        for router in self.topology.of_role("router"):
            best = [path for path in self.bgp_paths(router.name) if path.best]
            result[router.name] = best[0].server if best else None
        return result

    def normal_preferences(self) -> dict[str, str | None]:
        """Every router prefers its own server: eBGP over iBGP (RFC 4271 §9.1.2.2 d)."""
        result: dict[str, str | None] = {}
        for router in self.topology.of_role("router"):
            own = [n.node for n in self.topology.neighbors(router.name) if not n.internal]
            result[router.name] = own[0] if own else None
        return result

    def wait_for_preferences(self, wanted: dict[str, str | None], timeout: float) -> None:
        """Wait until the routers prefer the servers in `wanted` (and know every running one)."""
        running = [s.name for s in self.topology.of_role("server") if self.daemons_of(s.name)]

        def settled() -> bool:
            if self.preferences() != wanted:
                return False
            return all(
                {p.server for p in self.bgp_paths(router)} >= set(running) for router in wanted
            )

        wait_until(settled, timeout, interval=0.05, what=f"routers to prefer {wanted}")

    def wait_for_reachability(self, timeout: float) -> None:
        """Wait until every client's ping reaches the anycast address (the kernel routes follow
        BGP's choice some milliseconds later, and a client's ARP entry may need a new probe)."""
        ping = ["ping", "-c", "1", "-W", "1", str(self.topology.service.address)]

        def reaches(host: Netns) -> bool:
            return host.run(ping, check=False).returncode == 0

        for client in self.topology.of_role("client"):
            what = f"{client.name} to reach the anycast address"
            wait_until(partial(reaches, self.host(client.name)), timeout, what=what)

    # --- convergence -------------------------------------------------------------------------

    def running(self, node: str) -> bool:
        """Whether a node is switched on (not halted)."""
        return node not in self.state.halted

    def ask(self, clients: list[str] | None = None, timeout: float = 1.0) -> dict[str, Answer]:
        """Client → which site answered its query to the anycast address (all asked at once)."""
        names = clients or [c.name for c in self.topology.of_role("client") if self.running(c.name)]
        service = self.topology.service
        questions = [Question(self.prefix + name, service.address, service.zone) for name in names]
        return dict(zip(names, answers.ask(questions, timeout), strict=True))

    def convergence_problems(self) -> tuple[list[str], object]:
        """What keeps BGP from being settled (nothing: an empty list), and a fingerprint of the
        routers' tables that changes whenever one of them does.

        Settled means: every session between two running speakers is Established, and every
        running server's path for the anycast prefix is in each of its neighbours' tables.
        """
        problems: list[str] = []
        fingerprint: list[object] = []
        names = {str(i.ip): i.node for n in self.topology.nodes.values() for i in n.interfaces}
        prefix = self.topology.service.anycast.network
        for node in self.topology.nodes.values():
            if not self.running(node.name) or not self.runs_frr(node.name):
                continue
            try:
                with self.vty(node.name) as vty:
                    summary = vty.json("show bgp summary json")
                    view = vty.json(f"show bgp ipv4 unicast {prefix} json")
            except VtyError as error:
                problems.append(f"{node.name}: {error}")
                continue
            for family, table in summary.items():
                fingerprint.append((node.name, family, table.get("tableVersion")))
                for address, peer in table.get("peers", {}).items():
                    peer_node = names.get(address, address)
                    state = peer.get("state")
                    fingerprint.append((node.name, address, state))
                    if self.running(peer_node) and state != "Established":
                        problems.append(f"{node.name}: session to {peer_node} is {state}")
            next_hops = {
                hop.get("ip") for path in view.get("paths", []) for hop in path.get("nexthops", [])
            }
            for neighbor in self.topology.neighbors(node.name):
                server = self.topology.node(neighbor.node)
                if server.role != "server" or not self.running(server.name):
                    continue
                if str(neighbor.address) not in next_hops:
                    problems.append(f"{node.name}: no path to {prefix} from {server.name}")
        return problems, tuple(fingerprint)

    def wait_until_converged(self, timeout: float = CONVERGENCE_TIMEOUT) -> float:
        """Wait until BGP has settled (see `convergence_problems`), no router's table changed for
        `SETTLE_TIME` seconds, and every running client is answered on the anycast address;
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
                unanswered = [c for c, a in self.ask(timeout=0.5).items() if not a.answered]
                if not unanswered:
                    return time.monotonic() - started
                problems = [f"{client} not answered" for client in unanswered]
            if time.monotonic() > deadline:
                shown = "; ".join(problems[:8]) or "the routers' tables kept changing"
                raise TimeoutError(
                    f"lab {self.name!r} not converged after {timeout:.0f} s: {shown}"
                )
            time.sleep(POLL_INTERVAL)

    def bgp_sessions(self, node: str) -> dict[str, str]:
        """Neighbor name → BGP state, as the node's speaker (FRR or minibgp) reports it."""
        names = {str(n.address): n.node for n in self.topology.neighbors(node)}
        if any(daemon.name == "minibgp" for daemon in self.daemons_of(node)):
            return {
                names.get(n["address"], n["address"]): n.get("state", "?")
                for n in self._minibgp_json("neighbors", node).get("neighbors", [])
            }
        try:
            summary = self.frr(node).vtysh_json("show bgp ipv4 unicast summary json")
        except (OSError, ValueError, subprocess.SubprocessError):
            return {}
        peers: dict[str, Any] = summary.get("peers", {})
        return {names.get(addr, addr): peer.get("state", "?") for addr, peer in peers.items()}

    def _minibgp_json(self, what: str, node: str) -> dict[str, Any]:
        """`python -m minibgp show WHAT --json` through the node's control socket."""
        socket = self.run_dir(node) / "minibgp.sock"
        argv = [sys.executable, "-m", "minibgp", "show", what, "--json", "--socket", str(socket)]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        try:
            answer = json.loads(result.stdout) if result.returncode == 0 else {}
        except ValueError:
            return {}
        return answer if isinstance(answer, dict) else {}
