"""The lab's nodes: their namespaces' interfaces, addresses and routes, and the daemons they run.

What runs where:

    router                       FRR zebra + bgpd (+ bfdd, BFD to its servers, in python mode)
    server, python mode          minibgp (announces the anycast prefixes while minidns answers on
                                 them, BFD to the router, drains on SIGTERM) + minidns
    server, reference mode       FRR zebra + bgpd (announces the prefixes) + PowerDNS (gsqlite3)
    client                       nothing; `lab exec client1 -- dig ...` runs tools there

The whole lab is made in a few batches, whatever its size: the namespaces, the veth pairs and
each namespace's addresses and routes with `ip -batch`, sysctls written from inside the
namespaces, and the daemons started together in stages (every zebra, then every bgpd, then the
DNS servers, then the BGP speakers), each stage waiting only for what the next one needs.

Daemons run in their own session (Ctrl-C in the terminal that ran `lab up` does not reach them)
and are recorded as `Daemon`s, PID plus start time, so that a later `lab down` in another process
ends exactly them and never a process that reused the PID.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import answers
from .answers import Question
from .frr import FrrRouter
from .netns import (
    Netns,
    Network,
    end_process,
    end_processes,
    ip_batches,
    write_sysctls,
)
from .render import (
    MINIDNS_PIDFILE,
    Mode,
    frr_daemons,
    minidns_args,
    node_files,
    pdns_server_args,
)
from .topology import Link, Node, Topology

DAEMON_START_TIMEOUT = 20.0
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
    hosts = network.add_hosts(list(topology.nodes))
    # Before the veths exist: an interface takes the namespace's `default` IPv6 settings when it
    # is made, and the kernel runs DAD where either `all` or the interface's own asks for it.
    for name, host in hosts.items():
        write_sysctls(host.name, sysctls(topology.node(name)))
    network.link_many(
        [
            (hosts[a.node], a.name, hosts[b.node], b.name)
            for a, b in (link.ends for link in topology.links)
        ]
    )
    ip_batches(
        {host.name: address_commands(topology, topology.node(n)) for n, host in hosts.items()}
    )
    return hosts


def netem_commands(link: Link) -> list[tuple[str, list[str]]]:
    """(node, tc argv) per end of a link with delay or loss: a netem qdisc on each end's egress,
    the delay one way, so that a round trip over the link takes twice it."""
    if link.delay_ms is None and link.loss_percent is None:
        return []
    emulation = []
    if link.delay_ms is not None:
        emulation += ["delay", f"{link.delay_ms:g}ms"]
    if link.loss_percent is not None:
        emulation += ["loss", f"{link.loss_percent:g}%"]
    return [
        (end.node, ["tc", "qdisc", "replace", "dev", end.name, "root", "netem", *emulation])
        for end in link.ends
    ]


def emulate_links(hosts: dict[str, Netns], topology: Topology) -> list[str]:
    """Put the links' delay and loss in place with sch_netem; return what could not be (this
    kernel may have no netem: then every link runs at the speed of the machine, catchment is
    still BGP's decision, and round trips are reported as measured)."""
    for link in topology.links:
        for node, argv in netem_commands(link):
            result = hosts[node].run(argv, check=False)
            if result.returncode != 0:
                return [
                    "link delay and loss are unavailable: this kernel has no sch_netem "
                    f"(tc: {result.stderr.strip()}); the links run without them"
                ]
    return []


def sysctls(node: Node) -> dict[str, str]:
    """Forwarding on routers only; IPv6 addresses kept while a link is down (else `ip link set
    down` removes them) and used at once (no duplicate address detection in a closed world).

    Without DAD also on the link-local address: it would stay tentative for a second after a
    link comes up (a site started again), and Linux sends a Neighbor Solicitation for a reply
    from the anycast address on the loopback only from the interface's link-local address
    (RFC 4861 §7.2.2 would allow any of its addresses): the server could not resolve its
    router's address, with its route already announced, and lost IPv6 queries for up to a
    second where IPv4 lost none."""
    forwarding = "1" if node.role == "router" else "0"
    return {
        "net.ipv4.ip_forward": forwarding,
        "net.ipv6.conf.all.forwarding": forwarding,
        "net.ipv6.conf.all.keep_addr_on_down": "1",
        "net.ipv6.conf.default.keep_addr_on_down": "1",
        "net.ipv6.conf.all.accept_dad": "0",
        "net.ipv6.conf.default.accept_dad": "0",
    }


def address_commands(topology: Topology, node: Node) -> list[str]:
    """`ip -batch` lines: interfaces up with their addresses, anycast addresses on a server's
    loopback, static routes (idempotent: `replace`)."""
    commands = []
    for interface in node.interfaces:
        commands.append(f"addr replace {interface.address} dev {interface.name}")
        if interface.address6 is not None:
            commands.append(f"addr replace {interface.address6} dev {interface.name} nodad")
        commands.append(f"link set {interface.name} up")
    if node.role == "server":
        service = topology.service
        commands.append(f"addr replace {service.anycast} dev {ANYCAST_LOOPBACK}")
        if service.anycast6 is not None:
            commands.append(f"addr replace {service.anycast6} dev {ANYCAST_LOOPBACK} nodad")
    for route in node.routes:
        commands.append(f"route replace {route.to} via {route.via}")
    return commands


def bring_up(host: Netns, topology: Topology, node: Node) -> None:
    """Interfaces up with their addresses, static routes, forwarding on routers (idempotent)."""
    write_sysctls(host.name, sysctls(node))
    ip_batches({host.name: address_commands(topology, node)})


def bring_down(host: Netns, node: Node) -> None:
    """Every interface of the node down: its peers lose carrier, as if it were switched off."""
    ip_batches({host.name: [f"link set {i.name} down" for i in node.interfaces]})


# --- the daemons -------------------------------------------------------------------------------


def start_all(
    hosts: dict[str, Netns],
    topology: Topology,
    mode: Mode,
    run_dir: Callable[[str], Path],
    started: Callable[[list[Daemon]], None] = lambda daemons: None,
) -> list[Daemon]:
    """Start the daemons of the nodes in `hosts`, all nodes together, stage by stage; each
    stage's daemons are passed to `started` as soon as they run (so that they can be recorded
    before anything can go wrong)."""
    nodes = [topology.node(name) for name in hosts]
    for node in nodes:
        directory = run_dir(node.name)
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o777)  # FRR drops privileges to the frr user
        node_files(topology, node, mode, str(directory)).write(directory)
    frr_nodes = [
        n for n in nodes if n.role == "router" or (n.role == "server" and mode == "reference")
    ]
    servers = [n for n in nodes if n.role == "server"]
    daemons: list[Daemon] = []

    def record(new: list[Daemon]) -> None:
        daemons.extend(new)
        started(new)

    routers = {
        node.name: FrrRouter(
            hosts[node.name],
            run_dir(node.name),
            (run_dir(node.name) / "frr.conf").read_text(),
            daemons=frr_daemons(topology, node, mode),
            popen_options=_detached(),
        )
        for node in frr_nodes
    }
    for stage in (("zebra",), ("bgpd", "bfdd")):
        spawned = []
        for name, frr in routers.items():
            for daemon in stage:
                if daemon in frr.daemons:
                    process = frr.spawn(daemon)
                    spawned.append(Daemon.of(name, daemon, process.pid))
        record(spawned)
        for frr in routers.values():
            for daemon in stage:
                if daemon in frr.daemons:
                    frr.wait_ready(daemon, DAEMON_START_TIMEOUT)
    if mode == "reference":
        _fill_pdns_databases([run_dir(node.name) for node in servers])
        dns = [
            _spawn(
                hosts[n.name],
                n,
                "pdns_server",
                pdns_server_args(str(run_dir(n.name))),
                run_dir(n.name),
            )
            for n in servers
        ]
        record(dns)
        _wait_for_dns(hosts, topology, dns, run_dir)
        return daemons
    dns = []
    for node in servers:
        directory = run_dir(node.name)
        zone_path = directory / f"{topology.service.zone}.zone"
        argv = [sys.executable, "-m", "minidns", *minidns_args(topology, node, str(zone_path))]
        minidns = _spawn(hosts[node.name], node, "minidns", argv, directory)
        (directory / MINIDNS_PIDFILE).write_text(f"{minidns.pid}\n")  # minibgp's process check
        dns.append(minidns)
    record(dns)
    _wait_for_dns(hosts, topology, dns, run_dir)
    speakers = []
    for node in servers:
        directory = run_dir(node.name)
        argv = [sys.executable, "-m", "minibgp", "--config", str(directory / "minibgp.toml")]
        speakers.append(_spawn(hosts[node.name], node, "minibgp", argv, directory))
    record(speakers)
    _wait_for_speakers(speakers, run_dir)
    return daemons


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


def _fill_pdns_databases(run_dirs: list[Path]) -> None:
    """Run each server's pdnsutil script (the original lab's commands), all at once."""
    scripts = [
        subprocess.Popen(
            ["sh", str(directory / "pdnsutil.sh")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for directory in run_dirs
    ]
    for directory, script in zip(run_dirs, scripts, strict=True):
        output, _ = script.communicate(timeout=60)
        if script.returncode != 0:
            raise DaemonError(
                f"{directory / 'pdnsutil.sh'} failed:\n{output.decode(errors='replace')}"
            )


def _spawn(host: Netns, node: Node, name: str, argv: list[str], run_dir: Path) -> Daemon:
    with (run_dir / f"{name}.out").open("wb") as log:
        process = host.popen(argv, stdout=log, stderr=subprocess.STDOUT, **_detached())
    return Daemon.of(node.name, name, process.pid)


def _output(daemon: Daemon, run_dir: Path) -> str:
    path = run_dir / f"{daemon.name}.out"
    return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def _wait_for_dns(
    hosts: dict[str, Netns],
    topology: Topology,
    daemons: list[Daemon],
    run_dir: Callable[[str], Path],
) -> None:
    """Wait until each DNS server answers on the anycast address in its own namespace."""
    waiting = {daemon.node: daemon for daemon in daemons}
    deadline = time.monotonic() + DAEMON_START_TIMEOUT
    service = topology.service
    while waiting:
        for node, daemon in list(waiting.items()):
            if not daemon.is_running():
                raise DaemonError(
                    f"{daemon.name} on {node} exited:\n{_output(daemon, run_dir(node))}"
                )
        questions = [Question(hosts[node].name, service.address, service.zone) for node in waiting]
        for node, answer in zip(list(waiting), answers.ask(questions, timeout=0.2), strict=True):
            if answer.answered:
                del waiting[node]
        if waiting and time.monotonic() > deadline:
            node, daemon = next(iter(waiting.items()))
            raise DaemonError(
                f"{daemon.name} on {node} does not answer:\n{_output(daemon, run_dir(node))}"
            )
        if waiting:
            time.sleep(0.05)


def _wait_for_speakers(daemons: list[Daemon], run_dir: Callable[[str], Path]) -> None:
    """Wait for each minibgp's control socket (one still running after a second will do)."""
    started = time.monotonic()
    waiting = list(daemons)
    while waiting and time.monotonic() - started < DAEMON_START_TIMEOUT:
        for daemon in list(waiting):
            if (run_dir(daemon.node) / "minibgp.sock").exists():
                waiting.remove(daemon)
            elif not daemon.is_running():
                raise DaemonError(
                    f"minibgp on {daemon.node} exited:\n{_output(daemon, run_dir(daemon.node))}"
                )
        if waiting and time.monotonic() - started > 1.0 and all(d.is_running() for d in waiting):
            return
        time.sleep(0.02)
