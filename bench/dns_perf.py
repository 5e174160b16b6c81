"""dnsperf against PowerDNS 4.7 and minidns: same zone, same machine, same run, alternating.

    python -m bench.dns_perf [--rounds 3] [--duration 10] [--workers 1 2] [--no-pin]

Both servers serve bench/data/dns/example.com.zone on 127.0.0.1 (PowerDNS with its default
settings and the bind backend). On a machine with two CPUs or more, every server is pinned to
the last CPU and dnsperf to the first (taskset), so that each server, C or Python, threads or
not, gets exactly one CPU and the load generator never competes with it; `--no-pin` lets the
scheduler place them (then `--workers 2` makes sense). Each server first gets a 2 s warm-up
run that is not counted. Two query mixes: (a) cacheable, bench/data/dns/cacheable.txt
(A, MX, SOA, NS and NXDOMAIN names, repeated); (b) never repeated, random labels under the
zone's wildcard and under NXDOMAIN names (fresh names each run). Each round runs every
(mix, server) pair once, in turn. Prints a Markdown table (median of the rounds) and writes
the raw numbers as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "dns"
RESULTS = HERE / "results"
ZONE = DATA / "example.com.zone"
CACHEABLE = DATA / "cacheable.txt"
ECHO = "uvloop echo, no DNS (ceiling)"


@dataclass
class Run:
    mix: str
    server: str
    round: int
    qps: float
    latency_ms: float
    lost: int


def free_port() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


def wait_for_answers(port: int, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Until the server answers a query (bounded by `timeout`)."""
    query = (
        bytes.fromhex("abcd01000001000000000000") + b"\x03www\x07example\x03com\x00\x00\x01\x00\x01"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(0.3)
            udp.sendto(query, ("127.0.0.1", port))
            try:
                udp.recv(512)
                return
            except TimeoutError:
                continue
    raise RuntimeError("server did not answer")


def never_repeated(path: Path, count: int, tag: str) -> None:
    """`count` names never asked before: half under the wildcard, half NXDOMAIN."""
    alphabet = string.ascii_lowercase + string.digits
    rng = random.Random(tag)
    with open(path, "w") as out:
        for number in range(count):
            label = "".join(rng.choices(alphabet, k=8))
            parent = "wild" if number % 2 == 0 else "nx"
            out.write(f"{tag}{number}{label}.{parent}.example.com A\n")


def run_dnsperf(
    port: int,
    queries: Path,
    duration: int,
    clients: int,
    pin: list[str],
    mode: str = "udp",
    options: tuple[str, ...] = (),
) -> str:
    """What one dnsperf run prints (-c clients, -q 200 outstanding)."""
    return subprocess.run(
        [*pin, "dnsperf", "-m", mode, "-s", "127.0.0.1", "-p", str(port), "-d", str(queries),
         "-l", str(duration), "-c", str(clients), "-q", "200", *options],
        capture_output=True, text=True, timeout=duration + 60, check=True,
    ).stdout  # fmt: skip


def dnsperf(
    port: int,
    queries: Path,
    duration: int,
    clients: int,
    pin: list[str],
    mode: str = "udp",
    options: tuple[str, ...] = (),
) -> tuple[float, float, int]:
    """(queries per second, average latency in ms, queries lost) of one dnsperf run over
    `mode` (udp or tcp), with more dnsperf `options`."""
    output = run_dnsperf(port, queries, duration, clients, pin, mode, options)
    qps = float(re.search(r"Queries per second:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = float(re.search(r"Average Latency \(s\):\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    lost = int(re.search(r"Queries lost:\s+(\d+)", output).group(1))  # type: ignore[union-attr]
    return qps, latency * 1000, lost


def machine() -> dict[str, str]:
    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def minidns_variants(workers: list[int], single: bool) -> dict[str, list[str]]:
    """The minidns command lines to measure, by name: one per worker count, and with
    `single` one more that moves one UDP datagram per system call (`--udp-batch 1`)."""
    variants = {
        "minidns" if count == 1 else f"minidns --workers {count}": ["--workers", str(count)]
        for count in workers
    }
    if single:
        variants["minidns --udp-batch 1"] = ["--udp-batch", "1"]
    return variants


def start_servers(
    workdir: Path, variants: dict[str, list[str]], echo: bool, pin: list[str]
) -> dict[str, tuple[subprocess.Popen[bytes], int]]:
    """PowerDNS, minidns (once per variant) and the echo server, each on a free port;
    `pin` prefixes every command (taskset)."""
    servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    named_conf = workdir / "named.conf"
    named_conf.write_text(f'zone "example.com" {{ type master; file "{ZONE}"; }};\n')
    (workdir / "pdns").mkdir()
    port = free_port()
    servers["PowerDNS 4.7"] = (
        subprocess.Popen(
            [
                *pin,
                "pdns_server",
                "--no-config",
                "--daemon=no",
                "--guardian=no",
                f"--socket-dir={workdir / 'pdns'}",
                "--launch=bind",
                f"--bind-config={named_conf}",
                "--local-address=127.0.0.1",
                f"--local-port={port}",
                "--loglevel=3",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        port,
    )
    for name, options in variants.items():
        port = free_port()
        servers[name] = (
            subprocess.Popen(
                [
                    *pin,
                    sys.executable,
                    "-m",
                    "minidns",
                    "--zone",
                    f"example.com={ZONE}",
                    "--listen",
                    f"127.0.0.1:{port}",
                    "--identity",
                    "bench",
                    *options,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=HERE.parent,
            ),
            port,
        )
    if echo:
        port = free_port()
        servers[ECHO] = (
            subprocess.Popen(
                [*pin, sys.executable, "-m", "bench.udp_echo", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=HERE.parent,
            ),
            port,
        )
    for process, port in servers.values():
        wait_for_answers(port, process)
    return servers


def stop_servers(servers: dict[str, tuple[subprocess.Popen[bytes], int]]) -> None:
    for process, _ in servers.values():
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
    for process, _ in servers.values():
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def table(runs: list[Run], servers: list[str]) -> str:
    lines = [
        "| query mix | server | q/s (median) | avg latency (ms) | minidns / PowerDNS |",
        "|---|---|---:|---:|---:|",
    ]
    for mix in ("cacheable", "never repeated"):
        reference = statistics.median(
            r.qps for r in runs if r.mix == mix and r.server == servers[0]
        )
        for server in servers:
            mine = [r for r in runs if r.mix == mix and r.server == server]
            if not mine:
                continue
            qps = statistics.median(r.qps for r in mine)
            latency = statistics.median(r.latency_ms for r in mine)
            ratio = "1.00 (reference)" if server == servers[0] else f"{qps / reference:.2f}"
            if server == ECHO:
                ratio = f"({qps / reference:.2f})"
            lines.append(f"| {mix} | {server} | {qps:,.0f} | {latency:.3f} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per dnsperf run")
    parser.add_argument("--clients", type=int, default=4, help="dnsperf -c")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=None, help="default: 1 (2 too with --no-pin)"
    )
    parser.add_argument("--no-pin", action="store_true", help="no CPU pinning (see above)")
    parser.add_argument(
        "--no-echo", action="store_true", help="leave out bench.udp_echo, the asyncio ceiling"
    )
    parser.add_argument(
        "--no-single",
        action="store_true",
        help="leave out minidns --udp-batch 1 (one datagram per system call)",
    )
    args = parser.parse_args(argv)
    cpus = sorted(os.sched_getaffinity(0))
    pinned = not args.no_pin and len(cpus) >= 2
    server_pin = ["taskset", "-c", str(cpus[-1])] if pinned else []
    load_pin = ["taskset", "-c", str(cpus[0])] if pinned else []
    workers = args.workers or ([1] if pinned else [1, 2])
    info = machine()
    info["pinning"] = f"servers on CPU {cpus[-1]}, dnsperf on CPU {cpus[0]}" if pinned else "none"
    command = "python -m bench.dns_perf " + " ".join(argv if argv is not None else sys.argv[1:])
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="dns-perf-") as tmp:
        workdir = Path(tmp)
        variants = minidns_variants(workers, single=not args.no_single)
        servers = start_servers(workdir, variants, echo=not args.no_echo, pin=server_pin)
        try:
            for _, port in servers.values():  # warm-up, not counted
                dnsperf(port, CACHEABLE, 2, args.clients, load_pin)
            for round_number in range(1, args.rounds + 1):
                for mix in ("cacheable", "never repeated"):
                    for name, (_, port) in servers.items():
                        if name == ECHO and mix != "cacheable":
                            continue  # the echo answers any name the same
                        if mix == "cacheable":
                            queries = CACHEABLE
                        else:
                            queries = workdir / "fresh.txt"
                            never_repeated(queries, 1_500_000, f"r{round_number}{len(runs)}x")
                        qps, latency, lost = dnsperf(
                            port, queries, args.duration, args.clients, load_pin
                        )
                        runs.append(Run(mix, name, round_number, qps, latency, lost))
                        print(f"round {round_number} {mix:15} {name:22} {qps:10,.0f} q/s "
                              f"{latency:.3f} ms lost {lost}", file=sys.stderr)  # fmt: skip
        finally:
            stop_servers(servers)
    names = list(servers)
    print(f"Machine: {info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}, "
          f"load average at start {info['load_average_at_start']}; "
          f"pinning: {info['pinning']}")  # fmt: skip
    print(f"Command: `{command.strip()}` ({args.rounds} rounds of {args.duration} s each)\n")
    print(table(runs, names))
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    result = {"machine": info, "command": command, "runs": [asdict(run) for run in runs]}
    (RESULTS / f"dns_perf-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
