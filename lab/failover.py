"""`python -m lab failover`: fail server1 in each way there is, and measure what the clients see.

A probe in each client (`lab.probe`, a DNS query to 169.254.0.1 every 10 ms, NSID telling who
answered) runs while one failure is made on server1; `ip -ts monitor route` in router1's namespace
records when router1's route to 169.254.0.1 changed. After each failure server1 is restored and
the next one waits until client1 is served by server1 again. Per failure and client: the outage
(first lost query to the next answer), the queries lost, when client1 moved to server2, and when
router1's route changed (`lab.outage` computes them from the records).

The failures, in order (`FAILURES`): planned drain, speaker stopped, DNS process killed, host
hung, link silent, link down, halt. In reference mode (FRR + PowerDNS on the servers, the seed's
way) the same failures are made with FRR's and PowerDNS's means; the results are reported, not
held to the targets, which are for python mode.
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
from .lab import CONVERGENCE_TIMEOUT, Lab
from .netns import pids_in
from .outage import ClientOutcome, client_outcome, first_change_ms, route_changes
from .probe import ProbeRecord, parse_output
from .render import Mode

REPO = Path(__file__).resolve().parents[1]
SERVER = "server1"  # the server that fails
ROUTER = "router1"  # its router, whose route change is timed
HOME = {"client1": "server1", "client2": "server2"}  # who serves each client normally
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
class Target:
    """What python mode must achieve (issue 5), checked on client1's outcome."""

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
    """One way for server1 to fail: how it is made in each mode, and how it is undone."""

    key: str
    title: str
    python: str  # what is done, as a person would type it
    reference: str
    target: Target | None
    make: Callable[[Lab], Undo | None]  # make the failure; return what undoes it, if anything
    restart: bool = True  # whether server1 is halted and started again afterwards


# --- making the failures -----------------------------------------------------------------------


def _daemon_pid(lab: Lab, name: str) -> int:
    [daemon] = [d for d in lab.daemons_of(SERVER) if d.name == name]
    return daemon.pid


def _minibgp_socket(lab: Lab) -> Path:
    return lab.run_dir(SERVER) / "minibgp.sock"


def _server_vtysh(lab: Lab, *lines: str) -> None:
    lab.frr(SERVER).vtysh("configure terminal", f"router bgp {_server_asn(lab)}", *lines)


def _server_asn(lab: Lab) -> int:
    asn = lab.topology.node(SERVER).asn
    assert asn is not None
    return asn


def make_drain(lab: Lab) -> Undo:
    """python: minibgp's drain (RFC 8326) through its control socket, what `python -m minibgp
    drain --no-wait` sends; reference: FRR's `bgp graceful-shutdown` on server1's bgpd."""
    if lab.mode == "python":
        socket = _minibgp_socket(lab)
        request(socket, "drain", wait=False)
        return lambda: _ignore_errors(lambda: request(socket, "undrain"))
    _server_vtysh(lab, "bgp graceful-shutdown")
    return lambda: _server_vtysh(lab, "no bgp graceful-shutdown")


def make_speaker_stopped(lab: Lab) -> None:
    """SIGTERM to the BGP speaker: minibgp (which drains first) or FRR's bgpd."""
    os.kill(_daemon_pid(lab, "minibgp" if lab.mode == "python" else "bgpd"), signal.SIGTERM)


def make_dns_killed(lab: Lab) -> None:
    """SIGKILL to the DNS server: minidns or pdns_server."""
    os.kill(_daemon_pid(lab, "minidns" if lab.mode == "python" else "pdns_server"), signal.SIGKILL)


def make_host_hung(lab: Lab) -> Undo:
    """SIGSTOP to every process in server1's namespace; SIGCONT undoes it."""
    pids = pids_in(lab.host(SERVER).name)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)

    def resume() -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    return resume


def _link_ends(lab: Lab) -> list[tuple[str, str]]:
    """(node, interface) of both ends of server1's link to router1."""
    return [
        (SERVER, lab.topology.interface_towards(SERVER, ROUTER).name),
        (ROUTER, lab.topology.interface_towards(ROUTER, SERVER).name),
    ]


def make_link_silent(lab: Lab) -> Undo:
    """A `blackhole` qdisc on both ends of the link: every packet is dropped, carrier stays up.
    (netem and tc's ingress filters are not available here; blackhole drops what a device
    sends, so one on each end silences both directions.)"""
    ends = _link_ends(lab)
    for node, interface in ends:
        lab.host(node).run(["tc", "qdisc", "add", "dev", interface, "root", "blackhole"])

    def clear() -> None:
        for node, interface in ends:
            lab.host(node).run(["tc", "qdisc", "del", "dev", interface, "root"], check=False)

    return clear


def make_link_down(lab: Lab) -> None:
    """server1's interface to router1 down: router1's end loses carrier."""
    node, interface = _link_ends(lab)[0]
    lab.host(node).ip("link", "set", interface, "down")


def make_halt(lab: Lab) -> None:
    """`lab halt server1`: daemons stopped (the speaker first), then links down."""
    lab.halt(SERVER)


def _ignore_errors(action: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):
        action()


FAILURES: tuple[Failure, ...] = (
    Failure(
        "drain",
        "planned drain",
        "minibgp drain (GRACEFUL_SHUTDOWN, withdraw after drain_time)",
        "FRR `bgp graceful-shutdown` on server1",
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
        "SIGSTOP every process of server1",
        "SIGSTOP every process of server1",
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
        "ip link set eth-router1 down (server1)",
        "ip link set eth-router1 down (server1)",
        Target("outage ≤ 100 ms", max_outage_ms=100),
        make_link_down,
    ),
    Failure(
        "halt",
        "halt server1",
        "lab halt server1 (minibgp drains, then links down)",
        "lab halt server1 (pdns_server, bgpd, zebra stopped, then links down)",
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
    t0: float
    window: float
    outcomes: dict[str, ClientOutcome]
    router_ms: float | None
    records: dict[str, list[ProbeRecord]] = field(repr=False)
    route_changes: list[float] = field(repr=False)

    @property
    def done(self) -> str:
        return self.failure.python if self.mode == "python" else self.failure.reference

    def target_met(self, target: Target | None = None) -> bool | None:
        """Whether client1's outcome meets the target (None: no target, or reference mode)."""
        target = target or self.failure.target
        if target is None or self.mode != "python":
            return None
        return target.met(self.outcomes["client1"])

    def to_json(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "failure": self.failure.key,
            "title": self.failure.title,
            "done": self.done,
            "window_s": self.window,
            "router1_route_changed_ms": _rounded(self.router_ms),
            "clients": {client: o.to_json() for client, o in self.outcomes.items()},
            "target": self.failure.target.text if self.failure.target else None,
            "target_met": self.target_met(),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class _Probes:
    """The probes in both clients and the route monitor in router1, for one failure."""

    def __init__(self, lab: Lab, duration: float) -> None:
        self.lab = lab
        argv = [
            sys.executable, "-m", f"{__package__}.probe",
            "--server", str(lab.topology.service.address),
            "--interval", str(PROBE_INTERVAL),
            "--timeout", str(PROBE_TIMEOUT),
            "--duration", str(duration),
        ]  # fmt: skip
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "cwd": REPO}
        self.monitor = lab.host(ROUTER).popen(["ip", "-ts", "monitor", "route"], **pipes)
        self.probes = {client: lab.host(client).popen(argv, **pipes) for client in HOME}

    def wait_until_ready(self) -> None:
        """Wait until every probe has had its first answer (it then says `ready` on stderr)."""
        deadline = time.monotonic() + PROBE_START_TIMEOUT
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


def measure(lab: Lab, failure: Failure, short: bool = False) -> FailureResult:
    """Make one failure while the probes run; restore server1 afterwards."""
    window = WINDOW[(lab.mode, short)]
    probes = _Probes(lab, BASELINE + window + 30)
    undo: Undo | None = None
    try:
        probes.wait_until_ready()
        time.sleep(BASELINE)
        t0 = time.time()
        undo = failure.make(lab)
        time.sleep(max(0.0, t0 + window - time.time()))
        records, monitor_output = probes.stop()
    except BaseException:
        probes.kill()
        raise
    finally:
        restore(lab, failure, undo)
    address = str(lab.topology.service.address)
    changes = route_changes(monitor_output, address)
    outcomes = {
        client: client_outcome(client, records[client], t0, home, PROBE_TIMEOUT)
        for client, home in HOME.items()
    }
    return FailureResult(
        lab.mode, failure, t0, window, outcomes, first_change_ms(changes, t0), records, changes
    )


def restore(lab: Lab, failure: Failure, undo: Undo | None) -> None:
    """Undo the failure, restart server1 if the failure needs it, and wait until client1 is
    served by server1 again."""
    if undo is not None:
        undo()
    if failure.restart:
        if SERVER not in lab.state.halted:
            lab.halt(SERVER)
        lab.start(SERVER)
    wait_until_normal(lab)


def wait_until_normal(lab: Lab, timeout: float = CONVERGENCE_TIMEOUT) -> None:
    """The routers prefer their own servers, BFD is up (python mode), each client is answered
    by its own server."""
    lab.wait_for_preferences(lab.normal_preferences(), timeout)
    if lab.mode == "python":
        wait_until(lambda: _bfd_up(lab), timeout, interval=0.1, what="router1's BFD to server1")
    for client, home in HOME.items():
        wait_until(
            lambda client=client, home=home: _served_by(lab, client) == home,
            timeout,
            interval=0.1,
            what=f"{client} to be served by {home}",
        )


def _bfd_up(lab: Lab) -> bool:
    address = str(lab.topology.interface_towards(SERVER, ROUTER).ip)
    try:
        peers = lab.frr(ROUTER).vtysh_json("show bfd peers json")
    except (OSError, ValueError, subprocess.SubprocessError):
        return False
    return any(p.get("peer") == address and p.get("status") == "up" for p in peers)


def _served_by(lab: Lab, client: str) -> str | None:
    argv = ["dig", "+short", "+time=1", "+tries=1", "CH", "TXT", "id.server"]
    result = lab.host(client).run([*argv, f"@{lab.topology.service.address}"], check=False)
    answer = result.stdout.strip().strip('"')
    return answer or None


# --- a whole run -------------------------------------------------------------------------------


def run_failover(
    modes: Iterable[Mode],
    failures: Iterable[Failure] = FAILURES,
    short: bool = False,
    name: str = "failover",
    say: Callable[[str], None] = print,
) -> list[FailureResult]:
    """Bring a lab up in each mode, measure each failure, tear the lab down."""
    results = []
    failures = list(failures)
    for mode in modes:
        lab = Lab(name)
        lab.down()
        try:
            say(f"{mode} mode: bringing lab {name!r} up")
            lab.up(mode)
            wait_until_normal(lab)
            time.sleep(SETTLE_AFTER_UP)
            for failure in failures:
                say(f"{mode} mode: {failure.title} ({_done(failure, mode)})")
                result = measure(lab, failure, short)
                say("    " + summary_line(result))
                results.append(result)
        finally:
            lab.down()
    return results


def _done(failure: Failure, mode: Mode) -> str:
    return failure.python if mode == "python" else failure.reference


# --- reporting ---------------------------------------------------------------------------------


def _fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def outage_text(outcome: ClientOutcome) -> str:
    if not outcome.recovered:
        return f"> {outcome.outage_ms:.0f} (not recovered)"
    return f"{outcome.outage_ms:.0f}"


def summary_line(result: FailureResult) -> str:
    one, two = result.outcomes["client1"], result.outcomes["client2"]
    met = result.target_met()
    verdict = "" if met is None else ("  ✔ target" if met else "  ✘ target missed")
    return (
        f"client1 outage {outage_text(one)} ms, {one.lost} lost (client2: {two.lost}); "
        f"client1 on server2 after {_fmt_ms(one.moved_ms)} ms; "
        f"router1 route changed after {_fmt_ms(result.router_ms)} ms{verdict}"
    )


TABLE_HEADER = (
    "| failure on server1 | what was done | client1 outage, ms | queries lost (client1 / client2) "
    "| client1 on server2 after, ms | router1 route changed after, ms | target (python mode) |\n"
    "|---|---|---|---|---|---|---|"
)


def markdown_table(results: Iterable[FailureResult]) -> str:
    """One Markdown table per mode."""
    by_mode: dict[str, list[FailureResult]] = {}
    for result in results:
        by_mode.setdefault(result.mode, []).append(result)
    parts = []
    for mode, rows in by_mode.items():
        lines = [f"**{mode} mode**", "", TABLE_HEADER]
        for r in rows:
            one, two = r.outcomes["client1"], r.outcomes["client2"]
            met = r.target_met()
            target = r.failure.target.text if r.failure.target else "—"
            if mode != "python":
                target = "reported"
            elif met is not None:
                target = f"{'✔' if met else '✘'} {target}"
            lines.append(
                f"| {r.failure.title} | {r.done} | {outage_text(one)} | {one.lost} / {two.lost} "
                f"| {_fmt_ms(one.moved_ms)} | {_fmt_ms(r.router_ms)} | {target} |"
            )
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def results_json(results: Iterable[FailureResult]) -> str:
    document = {
        "probe": {"interval_s": PROBE_INTERVAL, "timeout_s": PROBE_TIMEOUT},
        "results": [result.to_json() for result in results],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
