"""`lab demo`: the seed's three scenarios, narrated for a person reading along, every claim checked.

1. Both clients ping 169.254.0.1.
2. DNS over anycast: the MX and A answers; NSID (RFC 5001) and CH TXT id.server (RFC 4892) show
   that client1 is served by server1 and client2 by server2. server1 is halted (as `vagrant halt`
   did): client1's same queries are answered by server2, with no change on client1. server1 starts
   again and client1 is back on it.
3. tcpdump on each server shows which client's queries arrive there.

Each command is printed as a reader would type it (`client1$ CMD` is `python -m lab exec client1
-- CMD`), then its real output, then one line saying what it shows, marked ✔ or ✘. The routers'
BGP view of 169.254.0.1/32 is shown before and after every change. `run_demo` returns False if
any check failed; the lab is always torn down.
"""

from __future__ import annotations

import select
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .lab import CONVERGENCE_TIMEOUT, Lab
from .render import Mode
from .topology import Family, Topology

STACKS: dict[Mode, str] = {
    "python": "minibgp announces 169.254.0.1/32, minidns answers",
    "reference": "FRR bgpd announces 169.254.0.1/32, PowerDNS answers (the seed's way)",
}
QUERIES_PER_CLIENT = 3
INDENT = "    "


@dataclass
class Narrator:
    """Prints the story and keeps the score."""

    lab: Lab
    write: Callable[[str], None] = print
    passed: int = 0
    failed: list[str] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.write(f"\n── {text} " + "─" * max(0, 70 - len(text)))

    def say(self, text: str) -> None:
        self.write(text)

    def check(self, ok: bool, claim: str) -> bool:
        if ok:
            self.passed += 1
        else:
            self.failed.append(f"[{self.lab.mode}] {claim}")
        self.write(f"  {'✔' if ok else '✘ FAILED:'} {claim}")
        return ok

    def run(self, node: str, argv: list[str], show: Callable[[str], str] | None = None) -> str:
        """Run a command in a node, print it and its (optionally trimmed) output; return it."""
        result = self.lab.host(node).run(argv, check=False, timeout=30)
        output = (result.stdout + result.stderr).rstrip()
        shown = show(output) if show else output
        self.write(f"{node}$ {_quote(argv)}")
        for line in shown.splitlines() or ["(no output)"]:
            self.write(INDENT + line)
        return output

    def bgp_view(self, when: str) -> None:
        """Each router's `show bgp ipv4 unicast 169.254.0.1/32`, trimmed to the paths."""
        prefix = self.lab.topology.service.anycast.network
        self.write(f"The routers' BGP view of {prefix} {when}:")
        for router in self.lab.topology.of_role("router"):
            command = f"show bgp ipv4 unicast {prefix}"
            output = self.lab.vtysh(router.name, command)
            self.write(f'{router.name}$ vtysh -c "{command}"   (trimmed)')
            for line in trim_bgp_view(output).splitlines():
                self.write(INDENT + line)
        preferences = self.lab.preferences()
        self.write(
            "  → " + "; ".join(f"{r} sends 169.254.0.1 to {s}" for r, s in preferences.items())
        )


def trim_bgp_view(output: str) -> str:
    """FRR's path listing without the bookkeeping lines (update times, advertised-to lists)."""
    kept = []
    skip_next = False
    for line in output.splitlines():
        text = line.strip()
        if skip_next:
            skip_next = False
            continue
        if text.startswith("Advertised to"):
            skip_next = True  # the next line lists the peers
            continue
        if text.startswith(("BGP routing table entry", "Not advertised", "Last update")):
            continue
        if text:
            kept.append(line)
    return "\n".join(kept)


def _quote(argv: Iterable[str]) -> str:
    return " ".join(f'"{a}"' if " " in a else a for a in argv)


# --- the scenarios -------------------------------------------------------------------------------


def dig(name: str, rtype: str | None = None, *flags: str) -> list[str]:
    argv = ["dig", *flags, name]
    if rtype:
        argv.append(rtype)
    return [*argv, "@169.254.0.1"]


def nsid_lines(output: str) -> str:
    """`dig +nsid` output trimmed to the NSID and the answer."""
    lines = [line for line in output.splitlines() if "NSID" in line and not line.startswith("; <")]
    in_answer = False
    for line in output.splitlines():
        if line.startswith(";; ANSWER SECTION"):
            in_answer = True
        elif in_answer and not line.strip():
            in_answer = False
        elif in_answer:
            lines.append(line)
    return "\n".join(lines) + "\n(trimmed to the NSID and answer lines)"


def identify_server(narrator: Narrator, client: str, expected: str) -> None:
    """Ask the anycast address who answers, by NSID and by CH TXT id.server."""
    service = narrator.lab.topology.service
    output = narrator.run(client, dig(service.zone, "MX", "+nsid", "+norec"), show=nsid_lines)
    narrator.check(
        f'("{expected}")' in output, f"NSID says {client}'s query was answered by {expected}"
    )
    output = narrator.run(client, ["dig", "+short", "CH", "TXT", "id.server", "@169.254.0.1"])
    narrator.check(output == f'"{expected}"', f"id.server says {client} is served by {expected}")


def query_zone(narrator: Narrator, client: str) -> None:
    """The seed's two queries: the MX of example.com and the A of www.example.com."""
    output = narrator.run(client, dig("example.com", "MX", "+short"))
    narrator.check(output == "25 mail.example.com.", f"{client} gets example.com's MX")
    output = narrator.run(client, dig("www.example.com", None, "+short"))
    narrator.check(output == "192.0.2.1", f"{client} gets www.example.com's address")


def scenario_ping(narrator: Narrator) -> None:
    narrator.heading("Scenario 1: ping 169.254.0.1 from both clients")
    for client in ("client1", "client2"):
        output = narrator.run(client, ["ping", "-c", "3", "-i", "0.2", "-W", "1", "169.254.0.1"])
        narrator.check(
            " 3 received" in output, f"{client} reaches the anycast address (3 of 3 replies)"
        )


def scenario_dns_failover(narrator: Narrator) -> None:
    lab = narrator.lab
    narrator.heading("Scenario 2: DNS on the anycast address, and server1 going away")
    for client, server in (("client1", "server1"), ("client2", "server2")):
        query_zone(narrator, client)
        identify_server(narrator, client, server)

    narrator.heading("Scenario 2, continued: halt server1 (the seed's `vagrant halt server1`)")
    narrator.say(f"$ python -m lab halt server1 --name {lab.name}")
    stopped = lab.halt("server1")
    narrator.say(INDENT + f"stopped {', '.join(d.name for d in stopped)}; server1's link is down")
    after_halt: dict[str, str | None] = {router: "server2" for router in lab.normal_preferences()}
    waited = _wait(narrator, after_halt, "every router to send 169.254.0.1 to server2")
    if waited is not None:
        narrator.say(f"  (the routers moved to server2 {waited:.2f} s after the halt)")
    narrator.bgp_view("after server1 halted")
    narrator.say("client1 asks exactly the same questions, with no change on its side:")
    query_zone(narrator, "client1")
    identify_server(narrator, "client1", "server2")

    narrator.heading("Scenario 2, continued: start server1 again")
    narrator.say(f"$ python -m lab start server1 --name {lab.name}")
    began = time.monotonic()
    started = lab.start("server1")
    took = time.monotonic() - began
    narrator.say(INDENT + f"started {', '.join(d.name for d in started)}; link up")
    narrator.say(f"  (`start` returned {took:.2f} s later, once the lab had converged again)")
    _wait(narrator, lab.normal_preferences(), "router1 to send 169.254.0.1 to server1")
    narrator.bgp_view("after server1 started")
    identify_server(narrator, "client1", "server1")


def scenario_capture(narrator: Narrator) -> None:
    lab = narrator.lab
    narrator.heading("Scenario 3: tcpdump on each server while both clients query")
    captures = {}
    try:
        for server in ("server1", "server2"):
            interface = lab.topology.node(server).interfaces[0].name
            argv = ["tcpdump", "-n", "-l", "-i", interface, "udp", "port", "53"]
            narrator.say(f"{server}$ {_quote(argv)} &   (python -m lab capture {server})")
            captures[server] = _start_capture(lab, server, argv)
        for client in ("client1", "client2"):
            narrator.say(
                f"{client}$ dig +short example.com MX @169.254.0.1   ({QUERIES_PER_CLIENT} times)"
            )
            for _ in range(QUERIES_PER_CLIENT):
                lab.host(client).run(dig("example.com", "MX", "+short"), check=False)
        time.sleep(0.2)
    finally:
        seen = {server: _stop_capture(process) for server, process in captures.items()}
    for server, client in (("server1", "client1"), ("server2", "client2")):
        lines = seen.get(server, "").splitlines()
        narrator.say(f"{server}'s capture:")
        for line in lines or ["(nothing)"]:
            narrator.say(INDENT + line)
        own = lab.topology.node(client).interfaces[0].ip
        others = [c.interfaces[0].ip for c in lab.topology.of_role("client") if c.name != client]
        queries = [line for line in lines if "> 169.254.0.1.53:" in line]
        narrator.check(
            len([q for q in queries if f" {own}." in q]) == QUERIES_PER_CLIENT
            and not any(f" {other}." in q for q in queries for other in others),
            f"{server} sees {client}'s {QUERIES_PER_CLIENT} queries ({own}) and no other client's",
        )


def _start_capture(lab: Lab, server: str, argv: list[str]) -> subprocess.Popen[bytes]:
    process = lab.host(server).popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stderr is not None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # tcpdump says "listening on ..." once it captures
        ready, _, _ = select.select([process.stderr], [], [], 0.1)
        if ready and b"listening on" in process.stderr.readline():
            break
    return process


def _stop_capture(process: subprocess.Popen[bytes]) -> str:
    process.terminate()
    try:
        stdout, _ = process.communicate(timeout=3)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, _ = process.communicate()
    return stdout.decode(errors="replace").strip()


def _wait(narrator: Narrator, wanted: dict[str, str | None], what: str) -> float | None:
    """Wait for BGP to settle as `wanted`, then for the clients' packets to get through; return
    how long BGP took."""
    started = time.monotonic()
    try:
        narrator.lab.wait_for_preferences(wanted, CONVERGENCE_TIMEOUT)
        took = time.monotonic() - started
        narrator.lab.wait_for_reachability(CONVERGENCE_TIMEOUT)
    except TimeoutError as error:
        narrator.check(False, f"waited {CONVERGENCE_TIMEOUT:.0f} s for {what} ({error})")
        return None
    return took


# --- the whole demo ------------------------------------------------------------------------------


def demo_mode(narrator: Narrator, mode: Mode) -> None:
    """Bring the lab up in one mode, run the three scenarios, tear it down."""
    lab = narrator.lab
    narrator.say(f"\n══════ {mode} mode: {STACKS[mode]} ══════")
    narrator.say(f"$ python -m lab up --mode {mode} --name {lab.name}")
    lab.down()
    started = time.monotonic()
    try:
        lab.up(mode)
        narrator.say(
            f"{INDENT}{len(lab.topology.nodes)} namespaces, {len(lab.topology.links)} links, "
            f"{len(lab.state.daemons)} daemons; BGP converged in {time.monotonic() - started:.1f} s"
        )
        narrator.say("(`client1$ CMD` below is `python -m lab exec client1 -- CMD`)")
        narrator.bgp_view("at the start")
        scenario_ping(narrator)
        scenario_dns_failover(narrator)
        scenario_capture(narrator)
    except Exception as error:  # a broken step ends this mode's run, reported as a failure
        narrator.check(False, f"the {mode} demo ran to the end ({type(error).__name__}: {error})")
    finally:
        lab.down()
        narrator.say(f"\n$ python -m lab down --name {lab.name}   (namespaces and daemons gone)")


def run_demo(
    modes: Iterable[Mode], name: str = "demo", write: Callable[[str], None] = print
) -> bool:
    """The demo in each mode; True if every check passed."""
    narrator = Narrator(Lab(name), write=write)
    started = time.monotonic()
    for mode in modes:
        narrator.lab = Lab(name)
        demo_mode(narrator, mode)
    elapsed = time.monotonic() - started
    narrator.say(
        f"\n{narrator.passed} checks passed, {len(narrator.failed)} failed ({elapsed:.1f} s)"
    )
    for claim in narrator.failed:
        narrator.say(f"  ✘ {claim}")
    return not narrator.failed


# --- any topology: every client answered over each family, and by which site -------------------


def run_topology_demo(
    topology: Topology,
    modes: Iterable[Mode],
    name: str = "demo",
    write: Callable[[str], None] = print,
) -> bool:
    """Bring `topology` up in each mode and check that every client is answered over each
    family, by the site its router's best path leads to; True if every check passed."""
    narrator = Narrator(Lab(name, topology), write=write)
    started = time.monotonic()
    for mode in modes:
        narrator.lab = Lab(name, topology)
        topology_mode(narrator, mode)
    elapsed = time.monotonic() - started
    narrator.say(
        f"\n{narrator.passed} checks passed, {len(narrator.failed)} failed ({elapsed:.1f} s)"
    )
    for claim in narrator.failed:
        narrator.say(f"  ✘ {claim}")
    return not narrator.failed


def topology_mode(narrator: Narrator, mode: Mode) -> None:
    lab = narrator.lab
    topology = lab.topology
    source = topology.source or Path("topology")
    families = " + ".join(f"IPv{f}" for f in topology.families)
    narrator.say(
        f"\n══════ {mode} mode: {topology.name} ({len(topology.ases())} ASes: "
        f"{len(topology.sites)} sites, {len(topology.routers)} routers; "
        f"{len(topology.clients)} clients; {families}) ══════"
    )
    narrator.say(f"$ python -m lab up --mode {mode} --topology {source} --name {lab.name}")
    lab.down()
    started = time.monotonic()
    try:
        lab.up(mode)
        narrator.say(
            f"{INDENT}{len(topology.nodes)} namespaces, {len(topology.links)} links, "
            f"{len(lab.state.daemons)} daemons; converged (every client answered) in "
            f"{time.monotonic() - started:.1f} s"
        )
        for warning in lab.warnings:
            narrator.say(f"{INDENT}note: {warning}")
        catchment(narrator)
    except Exception as error:  # a broken step ends this mode's run, reported as a failure
        narrator.check(False, f"the {mode} run ran to the end ({type(error).__name__}: {error})")
    finally:
        lab.down()
        narrator.say(f"$ python -m lab down --name {lab.name}   (namespaces and daemons gone)")


def catchment(narrator: Narrator) -> None:
    """Each client's answer per family (NSID) beside its router's best path, then the checks."""
    lab = narrator.lab
    topology = lab.topology
    answers = lab.ask_all(timeout=2.0)
    service = topology.service
    heads = [f"IPv{f} {service.address_of(f)}" for f in topology.families]
    narrator.say(
        "Each client asks the anycast address(es) for the zone's SOA with NSID, and its router "
        "says where its best path goes:"
    )
    disagreeing: dict[Family, list[str]] = {family: [] for family in topology.families}
    rows = []
    for client in topology.clients:
        router = topology.first_hop(client.name)
        cells = [client.name]
        for family in topology.families:
            answer = answers[(client.name, family)]
            best = [p for p in lab.bgp_paths(router, family) if p.best]
            path = best[0] if best else None
            who = answer.site or f"no answer ({answer.error})"
            rtt = f" {answer.rtt * 1000:.1f} ms" if answer.rtt is not None else ""
            cells.append(f"{who}{rtt}, AS path {path.as_path if path else '-'}")
            if path is not None and path.server is not None and path.server != answer.site:
                disagreeing[family].append(f"{client.name} ({answer.site} vs {path.server})")
        rows.append(cells)
    table = [["client", *heads], *rows]
    widths = [max(len(row[i]) for row in table) + 3 for i in range(len(heads) + 1)]
    for row in table:
        line = "".join(f"{cell:{width}}" for cell, width in zip(row, widths, strict=True))
        narrator.say(INDENT + line.rstrip())
    for family in topology.families:
        answered = [c for (c, f), a in answers.items() if f == family and a.answered]
        narrator.check(
            len(answered) == len(topology.clients),
            f"every client is answered over IPv{family} ({len(answered)} of "
            f"{len(topology.clients)})",
        )
        narrator.check(
            not disagreeing[family],
            f"over IPv{family}, each client is answered by the site its router's best path "
            "leads to" + (f": not {', '.join(disagreeing[family])}" if disagreeing[family] else ""),
        )
    narrator.say("Catchment (site: its clients, IPv4):")
    for site in topology.sites:
        served = [c.name for c in topology.clients if answers[(c.name, 4)].site == site.name]
        scope = " (local, NO_EXPORT)" if site.announcement.scope == "local" else ""
        narrator.say(f"{INDENT}{site.name}{scope}: {', '.join(served) or '-'}")
