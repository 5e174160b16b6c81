"""One lab node: its namespace's interfaces, addresses and routes, and the daemons it runs.

What runs where:

    router                       FRR zebra + bgpd + bfdd (BFD to its server in python mode)
    server, python mode          minibgp (announces 169.254.0.1/32 while minidns answers on it,
                                 BFD to the router, drains on SIGTERM) + minidns
    server, reference mode       FRR zebra + bgpd (announces the /32) + PowerDNS (gsqlite3)
    client                       nothing; `lab exec client1 -- dig ...` runs tools there

Daemons run in their own session (Ctrl-C in the terminal that ran `lab up` does not reach them)
and are recorded as `Daemon`s, PID plus start time, so that a later `lab down` in another process
ends exactly them and never a process that reused the PID.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from lab.frr import FrrRouter
from lab.netns import Netns, Network, end_process, end_processes
from lab.render import MINIDNS_PIDFILE, Mode, minidns_args, node_files, pdns_server_args
from lab.topology import Node, Topology

DAEMON_START_TIMEOUT = 10.0
ANYCAST_LOOPBACK = "lo"


@dataclass(frozen=True)
class Daemon:
    """A process the lab started in a node's namespace."""

    node: str
    name: str
    pid: int
    start_time: int  # /proc/PID/stat field 22: tells this process from a later one with its PID

    @classmethod
    def of(cls, node: str, name: str, pid: int) -> Daemon:
        return cls(node, name, pid, process_start_time(pid) or 0)

    def is_running(self) -> bool:
        return self.start_time != 0 and process_start_time(self.pid) == self.start_time

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM (then SIGKILL after `grace` s) — only if it is still the process we started."""
        if self.is_running():
            end_process(self.pid, grace=grace)


class DaemonError(RuntimeError):
    """A daemon did not start (its output is in the message)."""


def process_start_time(pid: int) -> int | None:
    """When a process started (clock ticks since boot), or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(") ", 1)[1].split()
    if fields[0] == "Z":  # a zombie has ended
        return None
    return int(fields[19])  # field 22 counted from 1, minus pid and comm


# --- the network -------------------------------------------------------------------------------


def wire(network: Network, topology: Topology) -> dict[str, Netns]:
    """Create a namespace per node and a veth pair per link, with the topology's addresses."""
    hosts = {name: network.add_host(name) for name in topology.nodes}
    for link in topology.links:
        a, b = link.ends
        network.link(hosts[a.node], a.name, hosts[b.node], b.name)
    for name, host in hosts.items():
        bring_up(host, topology, topology.node(name))
    return hosts


def bring_up(host: Netns, topology: Topology, node: Node) -> None:
    """Interfaces up with their addresses, static routes, forwarding on routers (idempotent)."""
    for interface in node.interfaces:
        host.ip("addr", "replace", str(interface.address), "dev", interface.name)
        host.ip("link", "set", interface.name, "up")
    if node.role == "server":
        host.ip("addr", "replace", str(topology.service.anycast), "dev", ANYCAST_LOOPBACK)
    for route in node.routes:
        host.ip("route", "replace", route.to, "via", str(route.via))
    host.sysctl("net.ipv4.ip_forward", "1" if node.role == "router" else "0")


def bring_down(host: Netns, node: Node) -> None:
    """Every interface of the node down: its peers lose carrier, as if it were switched off."""
    for interface in node.interfaces:
        host.ip("link", "set", interface.name, "down")


# --- the daemons -------------------------------------------------------------------------------


def start_daemons(
    host: Netns, topology: Topology, node: Node, mode: Mode, run_dir: Path
) -> list[Daemon]:
    """Write the node's rendered configs into `run_dir` and start its daemons."""
    run_dir.mkdir(parents=True, exist_ok=True)
    run_dir.chmod(0o777)  # FRR drops privileges to the frr user
    files = node_files(topology, node, mode, str(run_dir))
    files.write(run_dir)
    if node.role == "router":
        return _start_frr(host, node, run_dir, files.files["frr.conf"], ("zebra", "bgpd", "bfdd"))
    if node.role == "server" and mode == "reference":
        daemons = _start_frr(host, node, run_dir, files.files["frr.conf"], ("zebra", "bgpd"))
        return [*daemons, _start_pdns(host, topology, node, run_dir)]
    if node.role == "server":
        return _start_python_server(host, topology, node, run_dir)
    return []


def stop_daemons(daemons: list[Daemon]) -> None:
    """End daemons one by one in the reverse order of their start (the BGP speaker before the
    DNS server it announces, bgpd before zebra); each has exited when this returns."""
    for daemon in reversed(daemons):
        daemon.stop()


def end_daemons(daemons: list[Daemon], grace: float = 3.0) -> list[Daemon]:
    """End daemons all at once (SIGTERM, then SIGKILL after `grace` s); return once each has
    exited, or with those that outlived even SIGKILL."""
    running = {daemon.pid: daemon for daemon in daemons if daemon.is_running()}
    return [running[pid] for pid in end_processes(running, grace=grace)]


def _detached() -> dict[str, object]:
    return {"start_new_session": True, "stdin": subprocess.DEVNULL}


def _start_frr(
    host: Netns, node: Node, run_dir: Path, config: str, daemons: tuple[str, ...]
) -> list[Daemon]:
    frr = FrrRouter(host, run_dir, config, daemons=daemons, popen_options=_detached())
    frr.start(timeout=DAEMON_START_TIMEOUT)
    return [Daemon.of(node.name, name, process.pid) for name, process in frr.processes.items()]


def _start_pdns(host: Netns, topology: Topology, node: Node, run_dir: Path) -> Daemon:
    """Fill the gsqlite3 database with the seed's pdnsutil commands, then run pdns_server."""
    subprocess.run(
        ["sh", str(run_dir / "pdnsutil.sh")], check=True, capture_output=True, timeout=30
    )
    daemon = _spawn(host, node, "pdns_server", pdns_server_args(str(run_dir)), run_dir)
    _wait_for_dns(host, daemon, run_dir)
    return daemon


def _start_python_server(
    host: Netns, topology: Topology, node: Node, run_dir: Path
) -> list[Daemon]:
    zone_path = run_dir / f"{topology.service.zone}.zone"
    minidns = _spawn(
        host,
        node,
        "minidns",
        [sys.executable, "-m", "minidns", *minidns_args(topology, node, str(zone_path))],
        run_dir,
    )
    (run_dir / MINIDNS_PIDFILE).write_text(f"{minidns.pid}\n")  # minibgp's process check
    _wait_for_dns(host, minidns, run_dir)
    minibgp = _spawn(
        host,
        node,
        "minibgp",
        [sys.executable, "-m", "minibgp", "--config", str(run_dir / "minibgp.toml")],
        run_dir,
    )
    _wait_for_speaker(minibgp, run_dir / "minibgp.sock", run_dir)
    return [minidns, minibgp]


def _spawn(host: Netns, node: Node, name: str, argv: list[str], run_dir: Path) -> Daemon:
    log = (run_dir / f"{name}.out").open("wb")
    with log:
        process = host.popen(argv, stdout=log, stderr=subprocess.STDOUT, **_detached())
    return Daemon.of(node.name, name, process.pid)


def _wait_for_speaker(daemon: Daemon, control_socket: Path, run_dir: Path) -> None:
    """Wait for minibgp's control socket; a speaker still running after a second will do too."""
    started = time.monotonic()
    while time.monotonic() - started < DAEMON_START_TIMEOUT:
        if control_socket.exists():
            return
        if not daemon.is_running():
            output = (run_dir / f"{daemon.name}.out").read_text(errors="replace")[-2000:]
            raise DaemonError(f"{daemon.name} on {daemon.node} exited:\n{output}")
        if time.monotonic() - started > 1.0:
            return
        time.sleep(0.05)


def _wait_for_dns(host: Netns, daemon: Daemon, run_dir: Path) -> None:
    """Wait until something listens on UDP port 53 in the namespace (or the daemon died)."""
    deadline = time.monotonic() + DAEMON_START_TIMEOUT
    while time.monotonic() < deadline:
        if not daemon.is_running():
            break
        if host.run(["ss", "-Hlun", "sport = :53"], check=False).stdout.strip():
            return
        time.sleep(0.05)
    output = (run_dir / f"{daemon.name}.out").read_text(errors="replace")[-2000:]
    raise DaemonError(f"{daemon.name} on {daemon.node} did not start listening:\n{output}")
