"""A million records: minidns against PowerDNS 4.7 (bind backend), same zone, same run.

    python -m bench.dns_scale [--records 1000000] [--rounds 3] [--duration 5]

Generates the zone (bench/big_zone.py: A, AAAA, MX, TXT, CNAME, names under empty
non-terminals, wildcards, delegations), then for each server, one after the other:

- load: seconds from the start of the process until it answers the zone's SOA, and its peak
  resident memory then (VmHWM);
- queries per second with dnsperf (-c 4 -q 200, like bench/dns_perf.py), on names never asked
  before in the run (dnsperf -n 1: no query is sent twice), for each kind: existing names,
  names under a wildcard, names under a delegation (referrals), NXDOMAIN; and existing names
  over TCP. Also the CPU time (user and system, every thread) each server spent per query
  answered: on a loaded machine, where queries per second say as much about the neighbours
  as about the servers, it still compares the work each does;
- reload: the zone file is replaced by one with a new serial and the server told to reload
  (PowerDNS: `pdns_control bind-reload-now`, minidns: SIGHUP); meanwhile a UDP and a TCP
  prober each ask for an existing name every 10 ms, one query at a time, 2 s timeout. A probe
  fails when it gets no answer, or an answer that is not NOERROR with the record. Reported:
  the seconds until the new serial is served, failed probes, and the largest gap between two
  answered probes;
- the peak resident memory at the end (VmHWM).

Servers are pinned to the last CPU and dnsperf to the first, as in bench/dns_perf.py
(`--no-pin` to leave them to the scheduler). Each (kind, server) pair runs once per round,
alternating servers. Prints a Markdown table (medians over rounds; ratios minidns / PowerDNS)
and writes the raw numbers as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.big_zone import KINDS, ORIGIN, SERIAL, BigZone, queries, write_zone
from bench.dns_perf import RESULTS, free_port, machine, run_dnsperf

HERE = Path(__file__).resolve().parent
SERVERS = ("PowerDNS 4.7", "minidns")
ZONE_NAME = ORIGIN.rstrip(".")
# Queries written for one dnsperf run (-n 1: each sent at most once); more than a run sends.
QUERIES_PER_RUN = {"existing": 600_000, "wildcard": 1_000_000, "referral": 1_000_000,
                   "nxdomain": 1_000_000, "tcp": 300_000}  # fmt: skip


@dataclass
class Measure:
    server: str
    load_seconds: float = 0.0
    rss_after_load_mb: float = 0.0
    peak_rss_mb: float = 0.0
    qps: dict[str, list[float]] = field(default_factory=dict)
    cpu_us: dict[str, list[float]] = field(default_factory=dict)  # CPU time per query answered
    lost: dict[str, list[int]] = field(default_factory=dict)
    reload_seconds: float = 0.0
    probes: int = 0
    failed_probes: int = 0
    largest_gap_ms: float = 0.0


def wire_query(name: str, rtype: int, qid: int) -> bytes:
    labels = [label.encode() for label in name.rstrip(".").split(".")]
    encoded = b"".join(bytes((len(label),)) + label for label in labels) + b"\x00"
    header = qid.to_bytes(2, "big") + b"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    return header + encoded + rtype.to_bytes(2, "big") + b"\x00\x01"


def soa_serial(response: bytes) -> int | None:
    """The SOA serial in a NOERROR answer to an SOA query, or None."""
    if len(response) < 12 or response[3] & 0xF or response[6:8] == b"\x00\x00":
        return None
    return int.from_bytes(response[-20:-16], "big")


def ask_udp(port: int, wire: bytes, timeout: float) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(timeout)
        udp.sendto(wire, ("127.0.0.1", port))
        try:
            return udp.recv(65535)
        except OSError:
            return None


def ask_tcp(port: int, wire: bytes, timeout: float) -> bytes | None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as tcp:
            tcp.sendall(len(wire).to_bytes(2, "big") + wire)
            data = b""
            while len(data) < 2 or len(data) < 2 + int.from_bytes(data[:2], "big"):
                chunk = tcp.recv(65535)
                if not chunk:
                    return None
                data += chunk
            return data[2:]
    except OSError:
        return None


def cpu_seconds(pid: int) -> float:
    """The CPU time a process (every thread) has used, user and system (proc(5))."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _field(output: str, label: str) -> str:
    match = re.search(rf"{label}:\s+([\d.]+)", output)
    if match is None:
        raise RuntimeError(f"dnsperf printed no {label!r}:\n{output}")
    return match.group(1)


def vm_hwm_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def start(
    name: str, zone: Path, workdir: Path, port: int, pin: list[str]
) -> subprocess.Popen[bytes]:
    workdir.mkdir(exist_ok=True)
    if name == "minidns":
        command = [sys.executable, "-m", "minidns", "--zone", f"{ZONE_NAME}={zone}",
                   "--listen", f"127.0.0.1:{port}", "--identity", "bench"]  # fmt: skip
    else:
        (workdir / "named.conf").write_text(
            f'zone "{ZONE_NAME}" {{ type master; file "{zone}"; }};\n'
        )
        (workdir / "pdns").mkdir(exist_ok=True)
        command = ["pdns_server", "--no-config", "--daemon=no", "--guardian=no",
                   f"--socket-dir={workdir / 'pdns'}", "--launch=bind",
                   f"--bind-config={workdir / 'named.conf'}", "--local-address=127.0.0.1",
                   f"--local-port={port}", "--loglevel=3"]  # fmt: skip
    return subprocess.Popen(
        [*pin, *command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=HERE.parent
    )


def wait_for_serial(
    port: int, process: subprocess.Popen[bytes], serial: int, timeout: float = 300
) -> float:
    """Seconds until the server answers the zone's SOA with `serial` (bounded)."""
    started = time.monotonic()
    soa = wire_query(ORIGIN, 6, 1)
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        response = ask_udp(port, soa, 0.2)
        if response is not None and soa_serial(response) == serial:
            return time.monotonic() - started
        if response is not None:
            time.sleep(0.02)
    raise RuntimeError(f"no answer with serial {serial} in {timeout} s")


class Prober(threading.Thread):
    """Asks for existing names one at a time, every `interval` seconds, until stopped."""

    def __init__(self, port: int, tcp: bool, made: BigZone, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.port, self.tcp, self.interval = port, tcp, interval
        self.names = [name for name, rtype in made.existing if rtype == "A"]
        self.stopping = threading.Event()
        self.sent = self.failed = 0
        self.largest_gap = 0.0

    def run(self) -> None:
        rng = random.Random(f"probe{self.tcp}")
        last_answer = time.monotonic()
        ask = ask_tcp if self.tcp else ask_udp
        while not self.stopping.is_set():
            wire = wire_query(f"{rng.choice(self.names)}.{ORIGIN}", 1, self.sent % 65536)
            response = ask(self.port, wire, 2.0)
            self.sent += 1
            now = time.monotonic()
            if response is None or response[3] & 0xF or response[6:8] == b"\x00\x00":
                self.failed += 1
            else:
                self.largest_gap = max(self.largest_gap, now - last_answer)
                last_answer = now
            self.stopping.wait(self.interval)


def reload_under_probes(
    name: str,
    process: subprocess.Popen[bytes],
    port: int,
    zone: Path,
    workdir: Path,
    made: BigZone,
    serial: int,
    measure: Measure,
) -> None:
    staged = zone.with_suffix(".next")
    write_zone(staged, made.records, serial=serial)
    probers = [Prober(port, tcp, made) for tcp in (False, True)]
    for prober in probers:
        prober.start()
    time.sleep(1.0)  # probes answered before the reload too
    os.replace(staged, zone)
    started = time.monotonic()
    if name == "minidns":
        os.kill(process.pid, signal.SIGHUP)
    else:
        # pdns_control gives up waiting for the reply after a few seconds (exit status 2)
        # while the reload goes on: the new serial below says when it is done.
        subprocess.run(
            ["pdns_control", f"--socket-dir={workdir / 'pdns'}", "bind-reload-now", ZONE_NAME],
            capture_output=True, timeout=600,
        )  # fmt: skip
    wait_for_serial(port, process, serial)
    measure.reload_seconds = time.monotonic() - started
    time.sleep(1.0)
    for prober in probers:
        prober.stopping.set()
        prober.join(timeout=10)
    measure.probes = sum(prober.sent for prober in probers)
    measure.failed_probes = sum(prober.failed for prober in probers)
    measure.largest_gap_ms = 1000 * max(prober.largest_gap for prober in probers)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def table(measures: dict[str, Measure]) -> str:
    pdns, mine = measures["PowerDNS 4.7"], measures["minidns"]
    lines = [
        "| measure | PowerDNS 4.7 | minidns | minidns / PowerDNS |",
        "|---|---:|---:|---:|",
        f"| load (s) | {pdns.load_seconds:.1f} | {mine.load_seconds:.1f} | "
        f"{mine.load_seconds / pdns.load_seconds:.2f} |",
        f"| RSS once loaded (MB) | {pdns.rss_after_load_mb:.0f} | {mine.rss_after_load_mb:.0f} | "
        f"{mine.rss_after_load_mb / pdns.rss_after_load_mb:.2f} |",
        f"| peak RSS, at the end (MB) | {pdns.peak_rss_mb:.0f} | {mine.peak_rss_mb:.0f} | "
        f"{mine.peak_rss_mb / pdns.peak_rss_mb:.2f} |",
    ]
    for kind in (*KINDS, "tcp"):
        theirs = statistics.median(pdns.qps[kind])
        ours = statistics.median(mine.qps[kind])
        label = "existing names over TCP" if kind == "tcp" else f"never repeated: {kind}"
        lines.append(f"| {label} (q/s) | {theirs:,.0f} | {ours:,.0f} | {ours / theirs:.2f} |")
    for kind in (*KINDS, "tcp"):
        theirs = statistics.median(pdns.cpu_us[kind])
        ours = statistics.median(mine.cpu_us[kind])
        label = "existing names over TCP" if kind == "tcp" else kind
        lines.append(
            f"| CPU per query, {label} (µs) | {theirs:.1f} | {ours:.1f} | "
            f"{theirs / ours:.2f} (inverse) |"
        )
    if not pdns.reload_seconds:
        return "\n".join(lines)
    lines.append(
        f"| reload (s) | {pdns.reload_seconds:.1f} | {mine.reload_seconds:.1f} | "
        f"{mine.reload_seconds / pdns.reload_seconds:.2f} |"
    )
    lines.append(
        f"| reload: failed probes | {pdns.failed_probes} of {pdns.probes} | "
        f"{mine.failed_probes} of {mine.probes} | |"
    )
    lines.append(
        f"| reload: largest gap between answers (ms) | {pdns.largest_gap_ms:.0f} | "
        f"{mine.largest_gap_ms:.0f} | |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per dnsperf run")
    parser.add_argument("--clients", type=int, default=4, help="dnsperf -c")
    parser.add_argument("--no-pin", action="store_true", help="no CPU pinning")
    parser.add_argument("--only", choices=SERVERS, help="measure one server only")
    parser.add_argument("--no-reload", action="store_true", help="leave out the reload")
    args = parser.parse_args(argv)
    cpus = sorted(os.sched_getaffinity(0))
    pinned = not args.no_pin and len(cpus) >= 2
    server_pin = ["taskset", "-c", str(cpus[-1])] if pinned else []
    load_pin = ["taskset", "-c", str(cpus[0])] if pinned else []
    info = machine()
    info["pinning"] = f"servers on CPU {cpus[-1]}, dnsperf on CPU {cpus[0]}" if pinned else "none"
    command = "python -m bench.dns_scale " + " ".join(argv if argv is not None else sys.argv[1:])
    servers = [args.only] if args.only else list(SERVERS)
    measures = {name: Measure(name) for name in servers}
    with tempfile.TemporaryDirectory(prefix="dns-scale-") as tmp:
        workdir = Path(tmp)
        zone = workdir / "scale.zone"
        made = write_zone(zone, args.records)
        print(f"{zone}: {made.records} records", file=sys.stderr)
        processes: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
        try:
            for name in servers:  # one at a time: a load has the CPU to itself
                port = free_port()
                process = start(name, zone, workdir / name.split()[0], port, server_pin)
                processes[name] = (process, port)
                measures[name].load_seconds = wait_for_serial(port, process, SERIAL)
                measures[name].rss_after_load_mb = vm_hwm_mb(process.pid)
                print(f"{name}: loaded in {measures[name].load_seconds:.1f} s, "
                      f"{measures[name].rss_after_load_mb:.0f} MB", file=sys.stderr)  # fmt: skip
            runs = 0
            cursors = dict.fromkeys(servers, 0)  # into the existing names, per server
            for round_number in range(1, args.rounds + 1):
                for kind in (*KINDS, "tcp"):
                    for name in servers:
                        process, port = processes[name]
                        runs += 1
                        path = workdir / "queries.txt"
                        source = "existing" if kind == "tcp" else kind
                        count = QUERIES_PER_RUN[kind]
                        with open(path, "w") as out:
                            out.writelines(queries(made, source, count, f"r{runs}", cursors[name]))
                        if source == "existing":
                            cursors[name] += count
                        mode = "tcp" if kind == "tcp" else "udp"
                        cpu = cpu_seconds(process.pid)
                        output = run_dnsperf(port, path, args.duration, args.clients,
                                             load_pin, mode, ("-n", "1"))  # fmt: skip
                        cpu = cpu_seconds(process.pid) - cpu
                        qps = float(_field(output, "Queries per second"))
                        done = int(_field(output, "Queries completed"))
                        lost = int(_field(output, "Queries lost"))
                        measure = measures[name]
                        measure.qps.setdefault(kind, []).append(qps)
                        measure.cpu_us.setdefault(kind, []).append(1e6 * cpu / max(done, 1))
                        measure.lost.setdefault(kind, []).append(lost)
                        print(f"round {round_number} {kind:9} {name:13} {qps:10,.0f} q/s "
                              f"{measure.cpu_us[kind][-1]:6.1f} us CPU/query lost {lost}",
                              file=sys.stderr)  # fmt: skip
            for serial, name in enumerate([] if args.no_reload else servers, SERIAL + 1):
                process, port = processes[name]
                reload_under_probes(
                    name, process, port, zone, workdir / name.split()[0], made, serial,
                    measures[name],
                )  # fmt: skip
                print(f"{name}: reload {measures[name].reload_seconds:.1f} s, "
                      f"{measures[name].failed_probes} of {measures[name].probes} probes "
                      f"failed, largest gap {measures[name].largest_gap_ms:.0f} ms",
                      file=sys.stderr)  # fmt: skip
            for name in servers:
                measures[name].peak_rss_mb = vm_hwm_mb(processes[name][0].pid)
        finally:
            for process, _ in processes.values():
                stop(process)
    print(f"Machine: {info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}, "
          f"load average at start {info['load_average_at_start']}; "
          f"pinning: {info['pinning']}")  # fmt: skip
    print(f"Command: `{command.strip()}` ({made.records} records, {args.rounds} rounds of "
          f"{args.duration} s per kind and server)\n")  # fmt: skip
    if len(servers) == 2:
        print(table(measures))
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    result = {"machine": info, "command": command, "records": made.records,
              "measures": [asdict(measure) for measure in measures.values()]}  # fmt: skip
    (RESULTS / f"dns_scale-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
