"""`python -m lab failover`: fail one site in each way there is, and measure what the clients see.

A probe in every client (`lab.probe`, a DNS query to the anycast address every 10 ms, NSID
telling who answered) runs while one failure is made on the site; `ip -ts monitor route` in the
site's router records when that router's route to the anycast address changed. After each
failure the site is restored and the next one waits until every client is served as before.
Per failure and client: the outage (first lost query to the next answer), the queries lost, when
the client moved and to which site, and when the router's route changed (`lab.outage` computes
them from the records).

The site is server1 in the original lab; in any other topology `--site`, by default the one that
serves the most clients. The failures, in order (`FAILURES`): planned drain, speaker stopped, DNS
process killed, host hung, link silent, link down, halt. In reference mode (FRR + PowerDNS on the
servers, the seed's way) the same failures are made with FRR's and PowerDNS's means; the results
are reported, not held to the targets, which are for python mode.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from minibgp.control import request

from .frr import wait_until
from .lab import CONVERGENCE_TIMEOUT, Lab, LabError
from .netns import pids_in
from .outage import ClientOutcome, client_outcome, first_change_ms, route_changes
from .probe import ProbeRecord, parse_output
from .render import Mode
from .topology import Topology

REPO = Path(__file__).resolve().parents[1]
PROBE_INTERVAL = 0.01  # seconds between queries
PROBE_TIMEOUT = 0.1  # seconds before a query counts as lost
SETTLE_AFTER_UP = 1.0  # seconds to let a freshly started lab settle before the first failure
BASELINE = 0.5  # seconds of probing before the failure, once both probes have their answers
PROBE_START_TIMEOUT = 15.0  # seconds for a probe to start and get its first answer
# Seconds of probing after the failure: python mode recovers in well under a second; reference
# mode waits for the BGP hold timer (3 s in the lab) when a server hangs or its link goes silent.
WINDOW: dict[tuple[Mode, bool], float] = {
    ("python", False): 2.5,
    ("python", True): 1.5,
    ("reference", False): 6.0,
    ("reference", True): 5.0,
}


@dataclass(frozen=True)
class Scenario:
    """Which site fails, its router (whose route change is timed), and which site served each
    client before the failure."""

    site: str
    router: str
    home: dict[str, str]
    # Whether the router already had another site's path before the failure (the original lab:
    # over iBGP). The targets are for that case: elsewhere the news has to travel further (to
    # an AS that has another path, and that path back) and the results are reported.
    alternative_known: bool = True

    @property
    def affected(self) -> list[str]:
        """The clients the failing site served."""
        return [client for client, site in self.home.items() if site == self.site]

    @property
    def others(self) -> list[str]:
        return [client for client, site in self.home.items() if site != self.site]


def choose_site(lab: Lab, site: str | None = None) -> str:
    """The site to fail: `site` if given, else the one that serves the most clients (the first
    of the file among equals: server1 in the original lab)."""
    sites = [node.name for node in lab.topology.sites]
    if site is not None:
        if site not in sites:
            raise LabError(f"{site} is not an anycast site ({', '.join(sites)})")
        return site
    served = list(_served(lab).values())
    return max(sites, key=lambda name: (served.count(name), -sites.index(name)))


def scenario(lab: Lab, site: str | None = None) -> Scenario:
    """The scenario of a converged lab: each client's site as it is served now."""
    chosen = choose_site(lab, site)
    home = _served(lab)
    missing = [client for client in _clients(lab) if home.get(client) is None]
    if missing:
        raise LabError(f"not served before the failure: {', '.join(missing)}")
    router = lab.topology.first_hop(chosen)
    alternative = any(path.server not in (None, chosen) for path in lab.bgp_paths(router))
    return Scenario(chosen, router, {c: home[c] or "" for c in home}, alternative)


def _clients(lab: Lab) -> list[str]:
    return [client.name for client in lab.topology.clients]


def _served(lab: Lab) -> dict[str, str | None]:
    answers = lab.ask(_clients(lab), 4, timeout=1.0)
    return {client: answer.site for client, answer in answers.items()}


@dataclass(frozen=True)
class Target:
    """What python mode must achieve, checked on the outcome of each client of the failed
    site."""

    text: str
    max_outage_ms: float | None = None
    max_lost: int | None = None
    max_moved_ms: float | None = None

    def met(self, outcome: ClientOutcome) -> bool:
        return (
            (self.max_outage_ms is None or outcome.outage_ms <= self.max_outage_ms)
            and (self.max_lost is None or outcome.lost <= self.max_lost)
            and (self.max_moved_ms is None or (outcome.moved_ms or 1e9) <= self.max_moved_ms)
            and outcome.recovered
        )

    def loosened(self, factor: float) -> Target:
        """The same target with every time bound `factor` times longer (losses unchanged)."""
        return Target(
            f"{self.text} (times {factor:g})",
            None if self.max_outage_ms is None else self.max_outage_ms * factor,
            self.max_lost,
            None if self.max_moved_ms is None else self.max_moved_ms * factor,
        )


Undo = Callable[[], None]


@dataclass(frozen=True)
class Failure:
    """One way for a site to fail: how it is made in each mode, and how it is undone.

    The texts name the site as `{site}`, its router as `{router}` and the site's interface
    towards it as `{interface}`."""

    key: str
    title: str
    python: str  # what is done, as a person would type it
    reference: str
    target: Target | None
    make: Callable[[Lab, str], Undo | None]  # fail the site; return what undoes it, if anything
    restart: bool = True  # whether the site is halted and started again afterwards

    def describe(self, mode: Mode, lab: Lab, site: str) -> str:
        return _fill(self.python if mode == "python" else self.reference, lab, site)

    def named(self, lab: Lab, site: str) -> str:
        return _fill(self.title, lab, site)


def _fill(text: str, lab: Lab, site: str) -> str:
    router = lab.topology.first_hop(site)
    interface = lab.topology.interface_towards(site, router).name
    return text.format(site=site, router=router, interface=interface)


# --- making the failures -----------------------------------------------------------------------


def _daemon_pid(lab: Lab, site: str, name: str) -> int:
    [daemon] = [d for d in lab.daemons_of(site) if d.name == name]
    return daemon.pid


def _site_vtysh(lab: Lab, site: str, *lines: str) -> None:
    asn = lab.topology.node(site).asn
    lab.frr(site).vtysh("configure terminal", f"router bgp {asn}", *lines)


def make_drain(lab: Lab, site: str) -> Undo:
    """python: minibgp's drain (RFC 8326) through its control socket, what `python -m minibgp
    drain --no-wait` sends; reference: FRR's `bgp graceful-shutdown` on the site's bgpd."""
    if lab.mode == "python":
        socket = lab.minibgp_socket(site)
        request(socket, "drain", wait=False)
        return lambda: _ignore_errors(lambda: request(socket, "undrain"))
    _site_vtysh(lab, site, "bgp graceful-shutdown")
    return lambda: _site_vtysh(lab, site, "no bgp graceful-shutdown")


def make_speaker_stopped(lab: Lab, site: str) -> None:
    """SIGTERM to the BGP speaker: minibgp (which drains first) or FRR's bgpd."""
    os.kill(_daemon_pid(lab, site, "minibgp" if lab.mode == "python" else "bgpd"), signal.SIGTERM)


def make_dns_killed(lab: Lab, site: str) -> None:
    """SIGKILL to the DNS server: minidns or pdns_server."""
    dns = "minidns" if lab.mode == "python" else "pdns_server"
    os.kill(_daemon_pid(lab, site, dns), signal.SIGKILL)


def make_host_hung(lab: Lab, site: str) -> Undo:
    """SIGSTOP to every process in the site's namespace; SIGCONT undoes it."""
    pids = pids_in(lab.host(site).name)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)

    def resume() -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    return resume


def _link_ends(lab: Lab, site: str) -> list[tuple[str, str]]:
    """(node, interface) of both ends of the site's link to its router."""
    router = lab.topology.first_hop(site)
    return [
        (site, lab.topology.interface_towards(site, router).name),
        (router, lab.topology.interface_towards(router, site).name),
    ]


def make_link_silent(lab: Lab, site: str) -> Undo:
    """A `blackhole` qdisc on both ends of the link: every packet is dropped, carrier stays up.
    (netem and tc's ingress filters are not available here; blackhole drops what a device
    sends, so one on each end silences both directions.)"""
    ends = _link_ends(lab, site)
    for node, interface in ends:
        lab.host(node).run(["tc", "qdisc", "add", "dev", interface, "root", "blackhole"])

    def clear() -> None:
        for node, interface in ends:
            lab.host(node).run(["tc", "qdisc", "del", "dev", interface, "root"], check=False)

    return clear


def make_link_down(lab: Lab, site: str) -> None:
    """The site's interface to its router down: the router's end loses carrier."""
    node, interface = _link_ends(lab, site)[0]
    lab.host(node).ip("link", "set", interface, "down")


def make_halt(lab: Lab, site: str) -> None:
    """`lab halt SITE`: daemons stopped (the speaker first), then links down."""
    lab.halt(site)


def _ignore_errors(action: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):
        action()


FAILURES: tuple[Failure, ...] = (
    Failure(
        "drain",
        "planned drain",
        "minibgp drain (GRACEFUL_SHUTDOWN, withdraw after drain_time)",
        "FRR `bgp graceful-shutdown` on {site}",
        Target("0 lost, moved ≤ 200 ms", max_lost=0, max_moved_ms=200),
        make_drain,
        restart=False,
    ),
    Failure(
        "speaker-stopped",
        "speaker stopped",
        "SIGTERM minibgp (drains first)",
        "SIGTERM bgpd",
        Target("0 lost", max_lost=0),
        make_speaker_stopped,
    ),
    Failure(
        "dns-killed",
        "DNS process killed",
        "SIGKILL minidns",
        "SIGKILL pdns_server",
        Target("outage ≤ 150 ms", max_outage_ms=150),
        make_dns_killed,
    ),
    Failure(
        "host-hung",
        "host hung",
        "SIGSTOP every process of {site}",
        "SIGSTOP every process of {site}",
        Target("outage ≤ 400 ms", max_outage_ms=400),
        make_host_hung,
    ),
    Failure(
        "link-silent",
        "link silent",
        "tc blackhole on both ends, carrier up",
        "tc blackhole on both ends, carrier up",
        Target("outage ≤ 400 ms", max_outage_ms=400),
        make_link_silent,
    ),
    Failure(
        "link-down",
        "link down",
        "ip link set {interface} down ({site})",
        "ip link set {interface} down ({site})",
        Target("outage ≤ 100 ms", max_outage_ms=100),
        make_link_down,
    ),
    Failure(
        "halt",
        "halt {site}",
        "lab halt {site} (minibgp drains, then links down)",
        "lab halt {site} (pdns_server, bgpd, zebra stopped, then links down)",
        None,
        make_halt,
    ),
)
FAILURE_KEYS = tuple(failure.key for failure in FAILURES)


# --- one failure, measured ---------------------------------------------------------------------


@dataclass
class FailureResult:
    mode: Mode
    failure: Failure
    scenario: Scenario
    done: str  # what was done, with the site's names
    t0: float
    window: float
    outcomes: dict[str, ClientOutcome]
    router_ms: float | None
    records: dict[str, list[ProbeRecord]] = field(repr=False)
    route_changes: list[float] = field(repr=False)
    title: str = ""  # the failure's title with the site's name

    @property
    def site(self) -> str:
        return self.scenario.site

    @property
    def router(self) -> str:
        return self.scenario.router

    def affected(self) -> list[ClientOutcome]:
        """The outcomes of the clients the failed site served."""
        return [self.outcomes[c] for c in self.scenario.affected if c in self.outcomes]

    def others(self) -> list[ClientOutcome]:
        return [self.outcomes[c] for c in self.scenario.others if c in self.outcomes]

    def target_met(self, target: Target | None = None) -> bool | None:
        """Whether every client of the failed site meets the target (None: no target, reference
        mode, the site served no client, or its router knew no other site's path)."""
        target = target or self.failure.target
        if target is None or self.mode != "python" or not self.affected():
            return None
        if not self.scenario.alternative_known:
            return None
        return all(target.met(outcome) for outcome in self.affected())

    def to_json(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "failure": self.failure.key,
            "title": self.title or self.failure.title,
            "site": self.site,
            "done": self.done,
            "window_s": self.window,
            "router": self.router,
            "route_changed_ms": _rounded(self.router_ms),
            "clients": {client: o.to_json() for client, o in self.outcomes.items()},
            "target": self.failure.target.text if self.failure.target else None,
            "target_met": self.target_met(),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class _Probes:
    """The probes in every client and the route monitor in the site's router, for one failure."""

    def __init__(self, lab: Lab, scenario: Scenario, duration: float) -> None:
        self.lab = lab
        argv = [
            sys.executable, "-m", f"{__package__}.probe",
            "--server", str(lab.topology.service.address),
            "--interval", str(PROBE_INTERVAL),
            "--timeout", str(PROBE_TIMEOUT),
            "--duration", str(duration),
        ]  # fmt: skip
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "cwd": REPO}
        self.monitor = lab.host(scenario.router).popen(["ip", "-ts", "monitor", "route"], **pipes)
        self.probes = {}
        try:
            for client in scenario.home:
                self.probes[client] = lab.host(client).popen(argv, **pipes)
        except BaseException:
            self.kill()
            raise

    def wait_until_ready(self) -> None:
        """Wait until every probe has had its first answer (it then says `ready` on stderr)."""
        deadline = time.monotonic() + PROBE_START_TIMEOUT + 0.2 * len(self.probes)
        for client, process in self.probes.items():
            assert process.stderr is not None
            ready, _, _ = select.select([process.stderr], [], [], deadline - time.monotonic())
            if not ready or process.stderr.readline().strip() != b"ready":
                raise RuntimeError(f"the probe in {client} got no answer")

    def stop(self) -> tuple[dict[str, list[ProbeRecord]], str]:
        """Stop everything; return each client's records and the route monitor's output."""
        records = {}
        for process in self.probes.values():
            process.send_signal(signal.SIGTERM)
        for client, process in self.probes.items():
            out, err = _finish(process, timeout=10)
            if process.returncode != 0:
                raise RuntimeError(f"the probe in {client} failed: {err.decode(errors='replace')}")
            records[client] = parse_output(out.decode())
        self.monitor.terminate()
        monitor_output, _ = _finish(self.monitor, timeout=5)
        return records, monitor_output.decode(errors="replace")

    def kill(self) -> None:
        for process in (*self.probes.values(), self.monitor):
            if process.poll() is None:
                process.kill()
            _finish(process, timeout=5)


def _finish(process: subprocess.Popen[bytes], timeout: float) -> tuple[bytes, bytes]:
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()


def measure(lab: Lab, failure: Failure, scenario: Scenario, short: bool = False) -> FailureResult:
    """Make one failure of the scenario's site while the probes run; restore it afterwards."""
    window = WINDOW[(lab.mode, short)]
    site = scenario.site
    done, title = failure.describe(lab.mode, lab, site), failure.named(lab, site)
    probes = _Probes(lab, scenario, BASELINE + window + 30)
    undo: Undo | None = None
    try:
        probes.wait_until_ready()
        time.sleep(BASELINE)
        t0 = time.time()
        undo = failure.make(lab, site)
        time.sleep(max(0.0, t0 + window - time.time()))
        records, monitor_output = probes.stop()
    except BaseException:
        probes.kill()
        raise
    finally:
        restore(lab, failure, scenario, undo)
    address = str(lab.topology.service.address)
    changes = route_changes(monitor_output, address)
    outcomes = {
        client: client_outcome(client, records[client], t0, home, PROBE_TIMEOUT)
        for client, home in scenario.home.items()
    }
    return FailureResult(
        lab.mode, failure, scenario, done, t0, window, outcomes,
        first_change_ms(changes, t0), records, changes, title,
    )  # fmt: skip


def restore(lab: Lab, failure: Failure, scenario: Scenario, undo: Undo | None) -> None:
    """Undo the failure, restart the site if the failure needs it, and wait until every client
    is served as before."""
    if undo is not None:
        undo()
    if failure.restart:
        if scenario.site not in lab.state.halted:
            lab.halt(scenario.site)
        lab.start(scenario.site)
    wait_until_normal(lab, scenario)


def wait_until_normal(lab: Lab, scenario: Scenario, timeout: float = CONVERGENCE_TIMEOUT) -> None:
    """The routers prefer their own sites, BFD is up between the site and its router (python
    mode), every client is served by the site that served it before."""
    lab.wait_for_preferences(lab.normal_preferences(), timeout)
    if lab.mode == "python":
        wait_until(
            lambda: _bfd_up(lab, scenario), timeout, interval=0.1,
            what=f"{scenario.router}'s BFD to {scenario.site}",
        )  # fmt: skip
    wait_until(
        lambda: _served(lab) == scenario.home, timeout, interval=0.1,
        what="every client to be served as before the failure",
    )  # fmt: skip


def _bfd_up(lab: Lab, scenario: Scenario) -> bool:
    address = str(lab.topology.interface_towards(scenario.site, scenario.router).ip)
    try:
        peers = lab.frr(scenario.router).vtysh_json("show bfd peers json")
    except (OSError, ValueError, subprocess.SubprocessError):
        return False
    return any(p.get("peer") == address and p.get("status") == "up" for p in peers)


# --- a whole run -------------------------------------------------------------------------------


def run_failover(
    modes: Iterable[Mode],
    failures: Iterable[Failure] = FAILURES,
    short: bool = False,
    name: str = "failover",
    say: Callable[[str], None] = print,
    topology: Topology | None = None,
    site: str | None = None,
) -> list[FailureResult]:
    """Bring a lab of `topology` (the original lab's by default) up in each mode, measure each
    failure of `site`, tear the lab down."""
    results = []
    failures = list(failures)
    for mode in modes:
        lab = Lab(name, topology)
        lab.down()
        try:
            say(f"{mode} mode: bringing lab {name!r} up ({lab.topology.name})")
            lab.up(mode)
            results += _run_on(lab, failures, short, say, site)
        finally:
            lab.down()
    return results


def run_failover_on(
    lab: Lab,
    failures: Iterable[Failure] = FAILURES,
    short: bool = False,
    say: Callable[[str], None] = print,
    site: str | None = None,
) -> list[FailureResult]:
    """Measure each failure of `site` on a lab that is up, and leave it up as it was."""
    if not lab.is_up():
        raise LabError(f"lab {lab.name!r} is not up (python -m lab up --name {lab.name})")
    lab.wait_until_converged()
    return _run_on(lab, list(failures), short, say, site)


def _run_on(
    lab: Lab, failures: list[Failure], short: bool, say: Callable[[str], None], site: str | None
) -> list[FailureResult]:
    chosen = scenario(lab, site)
    wait_until_normal(lab, chosen)
    time.sleep(SETTLE_AFTER_UP)
    say(
        f"{lab.mode} mode: failing {chosen.site} (router {chosen.router}; it serves "
        f"{', '.join(chosen.affected) or 'no client'})"
    )
    if not chosen.alternative_known:
        say(
            f"    ({chosen.router} knows no other site's path: the news travels further than in "
            "the original lab, the outcomes are reported, not held to its targets)"
        )
    results = []
    for failure in failures:
        say(f"{lab.mode} mode: {failure.named(lab, chosen.site)} "
            f"({failure.describe(lab.mode, lab, chosen.site)})")  # fmt: skip
        result = measure(lab, failure, chosen, short)
        say("    " + summary_line(result))
        results.append(result)
    return results


# --- reporting ---------------------------------------------------------------------------------


def _fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def outage_text(outcome: ClientOutcome) -> str:
    if not outcome.recovered:
        return f"> {outcome.outage_ms:.0f} (not recovered)"
    return f"{outcome.outage_ms:.0f}"


def summary_line(result: FailureResult) -> str:
    """One line: each client of the failed site's outage, losses and new site; the others'
    losses; when the router's route changed."""
    affected, others = result.affected(), result.others()
    parts = [f"{o.client} outage {outage_text(o)} ms, {o.lost} lost" for o in affected]
    if len(others) <= 3:
        rest = ", ".join(f"{o.client}: {o.lost}" for o in others)
    else:
        rest = f"the {len(others)} others: {sum(o.lost for o in others)} lost"
    line = "; ".join(parts) + (f" ({rest})" if rest else "")
    for o in affected:
        line += f"; {o.client} on {o.site_after or 'nothing'} after {_fmt_ms(o.moved_ms)} ms"
    met = result.target_met()
    verdict = "" if met is None else ("  ✔ target" if met else "  ✘ target missed")
    return f"{line}; {result.router} route changed after {_fmt_ms(result.router_ms)} ms{verdict}"


def _who(names: list[str], site: str) -> str:
    return names[0] if len(names) == 1 else f"{site}'s clients"


def markdown_table(results: Iterable[FailureResult]) -> str:
    """Per mode, a table of the failures (the worst of the failed site's clients), then one of
    the clients: each client of the failed site, and any other that lost queries or moved."""
    by_mode: dict[str, list[FailureResult]] = {}
    for result in results:
        by_mode.setdefault(result.mode, []).append(result)
    parts = []
    for mode, rows in by_mode.items():
        first = rows[0]
        affected, others = first.scenario.affected, first.scenario.others
        who, rest = _who(affected, first.site), (others[0] if len(others) == 1 else "others")
        lines = [
            f"**{mode} mode**",
            "",
            f"| failure on {first.site} | what was done | {who} outage, ms "
            f"| queries lost ({who} / {rest}) | {who} moved after, ms "
            f"| {first.router} route changed after, ms | target (python mode) |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            worst = max(r.affected(), key=lambda o: (not o.recovered, o.outage_ms), default=None)
            moved = [o.moved_ms for o in r.affected() if o.moved_ms is not None]
            met = r.target_met()
            target = r.failure.target.text if r.failure.target else "—"
            if mode != "python" or not r.scenario.alternative_known:
                target = "reported"
            elif met is not None:
                target = f"{'✔' if met else '✘'} {target}"
            lost = sum(o.lost for o in r.affected())
            lines.append(
                f"| {r.title or r.failure.title} | {r.done} "
                f"| {'—' if worst is None else outage_text(worst)} "
                f"| {lost} / {sum(o.lost for o in r.others())} "
                f"| {_fmt_ms(max(moved) if moved else None)} | {_fmt_ms(r.router_ms)} | {target} |"
            )
        lines += [
            "",
            "| failure | client | served by before | outage, ms | lost | served by after "
            "| moved after, ms |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            for o in r.outcomes.values():
                if o.client not in r.scenario.affected and not o.lost and o.moved_ms is None:
                    continue
                lines.append(
                    f"| {r.title or r.failure.title} | {o.client} | {o.home} | {outage_text(o)} "
                    f"| {o.lost} | {o.site_after or '—'} | {_fmt_ms(o.moved_ms)} |"
                )
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def results_json(results: Iterable[FailureResult]) -> str:
    document = {
        "probe": {"interval_s": PROBE_INTERVAL, "timeout_s": PROBE_TIMEOUT},
        "results": [result.to_json() for result in results],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
