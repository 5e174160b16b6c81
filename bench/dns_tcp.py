"""DNS over TCP, PowerDNS 4.7 against minidns in the same run: throughput, and a well-behaved
client's share of answers while hostile clients hold connections.

    python -m bench.dns_tcp [--rounds 3] [--duration 10] [--hostile 256] [--hostile-duration 30]

Both servers serve bench/data/dns/example.com.zone on 127.0.0.1 with their default settings
(PowerDNS: bind backend); with two CPUs or more the servers are pinned to the last CPU and the
load to the first, as in bench.dns_perf.

1. Throughput: dnsperf -m tcp on the cacheable mix (bench/data/dns/cacheable.txt), `--clients`
   connections with 200 queries outstanding, `--duration` seconds per run, servers alternating,
   in rounds; the median is shown.
2. Under attack: `--hostile` TCP clients from 8 addresses (127.0.0.2-9: a few abusive hosts),
   a third each of three kinds, each reconnecting as soon as it is closed: clients that send
   5,000 queries and never read the answers, clients that trickle a query an octet a second
   (slowloris) and clients that connect and send nothing. Meanwhile a well-behaved client on
   127.0.0.1 asks one query at a time (www.example.com A) on a connection it keeps, opening a
   new one when it is closed, and counts the queries answered within 2 s.

Prints a Markdown table and writes the raw numbers as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.dns_perf import CACHEABLE, RESULTS, dnsperf, machine, start_servers, stop_servers

PDNS = "PowerDNS 4.7"
MINIDNS = "minidns"
QUERY = bytes.fromhex("abcd01000001000000000000") + b"\x03www\x07example\x03com\x00\x00\x01\x00\x01"
MX_QUERY = bytes.fromhex("abce01000001000000000000") + b"\x07example\x03com\x00\x00\x0f\x00\x01"
HOSTILE_SOURCES = [f"127.0.0.{number}" for number in range(2, 10)]
ANSWER_TIMEOUT = 2.0


@dataclass
class Run:
    test: str
    server: str
    round: int
    value: float  # q/s, or the share of the well-behaved client's queries answered
    detail: str = ""


def framed(message: bytes) -> bytes:
    return len(message).to_bytes(2, "big") + message


# Hostile clients --------------------------------------------------------------------------------


async def _never_reads(port: int, source: str, stop: float) -> None:
    flood = framed(MX_QUERY) * 5000
    while time.monotonic() < stop:
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            _, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
            writer.write(flood)
            with contextlib.suppress(OSError):
                await asyncio.wait_for(writer.drain(), stop - time.monotonic())
            while not writer.is_closing() and time.monotonic() < stop:
                await asyncio.sleep(0.5)
                if writer.transport.get_extra_info("socket") is None:
                    break
                try:
                    writer.write(framed(MX_QUERY))  # raises once the server reset it
                    await asyncio.wait_for(writer.drain(), 1.0)
                except (TimeoutError, OSError):
                    break
            writer.close()
        await asyncio.sleep(0.1)


async def _slowloris(port: int, source: str, stop: float) -> None:
    message = framed(QUERY)
    while time.monotonic() < stop:
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(source, 0)
            )
            for octet in message[:-1] * 1000:  # never the last octet
                if reader.at_eof() or time.monotonic() >= stop:
                    break
                writer.write(bytes((octet,)))
                await writer.drain()
                await asyncio.sleep(1.0)
            writer.close()
        await asyncio.sleep(0.1)


async def _silent(port: int, source: str, stop: float) -> None:
    while time.monotonic() < stop:
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(source, 0)
            )
            with contextlib.suppress(OSError, asyncio.TimeoutError):
                await asyncio.wait_for(reader.read(), max(0.0, stop - time.monotonic()))
            writer.close()
        await asyncio.sleep(0.1)


async def _hostile(port: int, count: int, duration: float) -> None:
    stop = time.monotonic() + duration
    kinds = (_never_reads, _slowloris, _silent)
    await asyncio.gather(
        *(
            kinds[number % 3](port, HOSTILE_SOURCES[number % len(HOSTILE_SOURCES)], stop)
            for number in range(count)
        )
    )


def hostile_process(port: int, count: int, duration: float) -> None:
    asyncio.run(_hostile(port, count, duration))


# The well-behaved client -------------------------------------------------------------------------


async def well_behaved(port: int, duration: float, pause: float = 0.02) -> tuple[int, int]:
    """(queries sent, queries answered within ANSWER_TIMEOUT) over `duration` seconds."""
    sent = answered = 0
    reader = writer = None
    stop = time.monotonic() + duration
    while time.monotonic() < stop:
        sent += 1
        try:
            if writer is None or writer.is_closing():
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.1", 0)),
                    ANSWER_TIMEOUT,
                )
            assert reader is not None and writer is not None
            writer.write(framed(QUERY))
            length = int.from_bytes(
                await asyncio.wait_for(reader.readexactly(2), ANSWER_TIMEOUT), "big"
            )
            reply = await asyncio.wait_for(reader.readexactly(length), ANSWER_TIMEOUT)
            answered += reply[:2] == QUERY[:2]
        except (TimeoutError, OSError, EOFError, asyncio.IncompleteReadError):
            if writer is not None:
                writer.close()
            writer = None
        await asyncio.sleep(pause)
    if writer is not None:
        writer.close()
    return sent, answered


def under_attack(port: int, hostile: int, duration: float, pin_cpu: int | None) -> Run:
    process = multiprocessing.get_context("fork").Process(
        target=hostile_process, args=(port, hostile, duration + 5)
    )
    process.start()
    try:
        if pin_cpu is not None and process.pid is not None:
            os.sched_setaffinity(process.pid, {pin_cpu})
        time.sleep(5)  # let them take the slots
        sent, answered = asyncio.run(well_behaved(port, duration))
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join()
    return Run("under attack", "", 0, answered / sent if sent else 0.0, f"{answered}/{sent}")


# The benchmark -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per dnsperf run")
    parser.add_argument("--clients", type=int, default=4, help="dnsperf -c: TCP connections")
    parser.add_argument("--hostile", type=int, default=256, help="hostile TCP clients")
    parser.add_argument("--hostile-duration", type=float, default=30.0, help="seconds")
    parser.add_argument("--no-pin", action="store_true", help="no CPU pinning")
    args = parser.parse_args(argv)
    cpus = sorted(os.sched_getaffinity(0))
    pinned = not args.no_pin and len(cpus) >= 2
    server_pin = ["taskset", "-c", str(cpus[-1])] if pinned else []
    load_pin = ["taskset", "-c", str(cpus[0])] if pinned else []
    info = machine()
    info["pinning"] = f"servers on CPU {cpus[-1]}, load on CPU {cpus[0]}" if pinned else "none"
    command = "python -m bench.dns_tcp " + " ".join(argv if argv is not None else sys.argv[1:])
    if pinned:
        os.sched_setaffinity(0, {cpus[0]})
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="dns-tcp-") as tmp:
        servers = start_servers(Path(tmp), {MINIDNS: []}, echo=False, pin=server_pin)
        try:
            for _, port in servers.values():  # warm-up, not counted
                dnsperf(port, CACHEABLE, 2, args.clients, load_pin, mode="tcp")
            for round_number in range(1, args.rounds + 1):
                for name, (_, port) in servers.items():
                    qps, _, lost = dnsperf(
                        port, CACHEABLE, args.duration, args.clients, load_pin, mode="tcp"
                    )
                    runs.append(Run("TCP q/s", name, round_number, qps, f"lost {lost}"))
                    print(f"round {round_number} TCP {name:14} {qps:10,.0f} q/s lost {lost}",
                          file=sys.stderr)  # fmt: skip
            for name, (_, port) in servers.items():
                run = under_attack(
                    port, args.hostile, args.hostile_duration, cpus[0] if pinned else None
                )
                run.server = name
                runs.append(run)
                print(f"under attack {name:14} {run.value:.1%} ({run.detail})", file=sys.stderr)
        finally:
            stop_servers(servers)
    print(
        f"Machine: {info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}, "
        f"load average at start {info['load_average_at_start']}; pinning: {info['pinning']}"
    )
    print(f"Command: `{command.strip()}`\n")  # fmt: skip
    print(table(runs))
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    result = {"machine": info, "command": command.strip(), "runs": [asdict(r) for r in runs]}
    (RESULTS / f"dns_tcp-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


def table(runs: list[Run]) -> str:
    lines = ["| test | server | result | minidns / PowerDNS |", "|---|---|---:|---:|"]
    qps = {
        server: statistics.median(
            r.value for r in runs if r.test == "TCP q/s" and r.server == server
        )
        for server in (PDNS, MINIDNS)
    }
    for server in (PDNS, MINIDNS):
        ratio = "1.00 (reference)" if server == PDNS else f"**{qps[server] / qps[PDNS]:.2f}**"
        lines.append(f"| TCP, cacheable (median q/s) | {server} | {qps[server]:,.0f} | {ratio} |")
    for run in runs:
        if run.test == "under attack":
            lines.append(
                f"| well-behaved client's queries answered under attack | {run.server} "
                f"| {run.value:.1%} ({run.detail}) | |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
