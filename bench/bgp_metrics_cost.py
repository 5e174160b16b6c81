"""What minibgp's Prometheus metrics cost: the speaker's CPU time, not scraped and scraped, in
the same run, alternating.

    python -m bench.bgp_metrics_cost [--peers 10] [--prefixes 100000] [--announce 1000]
                                     [--checks 4] [--rounds 5] [--window 10] [--scrape-interval 1]

One minibgp with `--metrics` listens on 127.0.0.1; `--peers` senders (bench/bgp_sender.py,
each from its own 127.0.1.N) connect to it and each feeds it the same table of `--prefixes`
IPv4 prefixes (bench/bgp_table.py), so that it holds peers x prefixes routes; it announces
`--announce` prefixes of its own to every peer and runs `--checks` health checks (a process
check of this script, every second). Once it holds every route, the speaker's CPU time
(/proc/PID/schedstat) is read over windows of `--window` seconds, alternately without a
scrape and with /metrics fetched every `--scrape-interval` seconds (Prometheus's default is
15 s; the lab's test uses 1 s). The speaker is pinned to the last CPU. Prints a Markdown table
(medians of the rounds) and writes the raw numbers to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.bgp_table import make_feed
from bench.dns_perf import RESULTS, free_port, machine
from minibgp.control import ControlError, request

SPEAKER_ASN, SENDER_ASN = 64520, 65001


def cpu_seconds(pid: int) -> float:
    """Time the process has run on a CPU (all its threads), in seconds."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def config(
    port: int, metrics_port: int, socket: Path, peers: int, announce: int, checks: int
) -> str:
    lines = [
        "[speaker]",
        f"asn = {SPEAKER_ASN}",
        'router_id = "127.0.0.1"',
        f'listen = "127.0.0.1:{port}"',
        f'control_socket = "{socket}"',
        f'metrics = "127.0.0.1:{metrics_port}"',
    ]
    for n in range(1, peers + 1):
        lines += [
            "",
            "[[peer]]",
            f'address = "127.0.1.{n}"',
            f"asn = {SENDER_ASN}",
            "passive = true",
        ]
    names = [f"self-{n}" for n in range(checks)]
    for name in names:
        lines += ["", "[[check]]", f'name = "{name}"', 'kind = "process"', f"pid = {os.getpid()}"]
    for n in range(announce):
        lines += ["", "[[announce]]", f'prefix = "198.18.{n // 256}.{n % 256}/32"']
        if n == 0 and names:
            lines.append("checks = [" + ", ".join(f'"{name}"' for name in names) + "]")
    return "\n".join(lines) + "\n"


def held(socket: Path) -> int:
    try:
        neighbors = request(socket, "show neighbors")["neighbors"]
    except (ControlError, OSError):
        return 0
    return sum(int(n["prefixes_received"]) for n in neighbors if n["state"] == "Established")


def scrape(port: int) -> tuple[int, float]:
    """One fetch of /metrics: its size in octets and the seconds it took."""
    started = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        size = len(response.read())
    return size, time.perf_counter() - started


def window(pid: int, seconds: float, metrics_port: int | None, interval: float,
           scrapes: list[tuple[int, float]]) -> float:  # fmt: skip
    """The speaker's CPU seconds over `seconds`, scraped every `interval` if `metrics_port`."""
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    next_scrape = start
    while (now := time.monotonic()) < start + seconds:
        if metrics_port is not None and now >= next_scrape:
            scrapes.append(scrape(metrics_port))
            next_scrape += interval
        time.sleep(min(0.05, max(0.0, start + seconds - now)))
    return (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bgp_metrics_cost",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--peers", type=int, default=10, help="senders (default 10)")
    parser.add_argument("--prefixes", type=int, default=100_000, help="per sender (default 100k)")
    parser.add_argument("--announce", type=int, default=1000, help="prefixes we announce")
    parser.add_argument("--checks", type=int, default=4, help="health checks (default 4)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--window", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--scrape-interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    cpus = len(os.sched_getaffinity(0))
    pin = ["taskset", "-c", str(cpus - 1)] if cpus > 1 else []
    workdir = Path(tempfile.mkdtemp(prefix="bgp-metrics-cost-"))
    feed = make_feed(args.prefixes, next_hop="127.0.1.1")
    feed_path = workdir / "feed.bin"
    feed_path.write_bytes(feed.messages)
    port, metrics_port, socket = free_port(), free_port(), workdir / "minibgp.sock"
    (workdir / "minibgp.toml").write_text(
        config(port, metrics_port, socket, args.peers, args.announce, args.checks)
    )
    repo = Path(__file__).resolve().parents[1]
    speaker = subprocess.Popen(
        [*pin, sys.executable, "-m", "minibgp", "--config", str(workdir / "minibgp.toml")],
        stdout=(workdir / "minibgp.log").open("wb"), stderr=subprocess.STDOUT, cwd=repo,
    )  # fmt: skip
    senders = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.bgp_sender",
                "--feed",
                str(feed_path),
                "--connect",
                f"127.0.0.1:{port}",
                "--bind",
                f"127.0.1.{n}",
                "--router-id",
                f"127.0.1.{n}",
                "--asn",
                str(SENDER_ASN),
            ],
            stdout=subprocess.DEVNULL,
            cwd=repo,
        )
        for n in range(1, args.peers + 1)
    ]
    unscraped: list[float] = []
    scraped: list[float] = []
    scrapes: list[tuple[int, float]] = []
    try:
        wanted = args.peers * feed.prefix_count
        deadline = time.monotonic() + 300
        while held(socket) < wanted:
            if time.monotonic() > deadline or speaker.poll() is not None:
                raise SystemExit(f"the speaker never held {wanted} routes; see {workdir}")
            time.sleep(0.5)
        time.sleep(2)  # let the last of it settle
        scrape(metrics_port)  # warm-up, not counted
        for round_number in range(args.rounds):
            unscraped.append(window(speaker.pid, args.window, None, 0, scrapes))
            scraped.append(
                window(speaker.pid, args.window, metrics_port, args.scrape_interval, scrapes)
            )
            print(f"round {round_number + 1}: CPU {unscraped[-1]:.2%} not scraped, "
                  f"{scraped[-1]:.2%} scraped", file=sys.stderr)  # fmt: skip
    finally:
        for process in [*senders, speaker]:
            process.terminate()
        for process in [*senders, speaker]:
            process.wait(timeout=10)
    shutil.rmtree(workdir)  # kept when the run fails, for its log
    idle, busy = statistics.median(unscraped), statistics.median(scraped)
    size = statistics.median(s for s, _ in scrapes)
    took = statistics.median(t for _, t in scrapes)
    per_scrape = (busy - idle) * args.scrape_interval
    print(
        f"minibgp holding {args.peers} x {feed.prefix_count:,} routes from {args.peers} peers, "
        f"announcing {args.announce} prefixes to each, {args.checks} health checks:\n"
    )
    median = f"median of {args.rounds} windows of {args.window:g} s"
    print(f"| speaker's CPU ({median}) | share of one CPU |")
    print("|---|---:|")
    print(f"| not scraped | {idle:.2%} |")
    print(f"| scraped every {args.scrape_interval:g} s | {busy:.2%} |")
    print(f"| cost of scraping | {busy - idle:.2%} |")
    print(
        f"\n{len(scrapes)} scrapes of {size:,.0f} octets, {took * 1000:.1f} ms each from request "
        f"to last octet (median); about {per_scrape * 1000:.1f} ms of the speaker's CPU each, "
        f"{per_scrape / 15:.3%} of a CPU at Prometheus's default 15 s interval"
    )
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = RESULTS / f"bgp_metrics_cost-{stamp}.json"
    out.write_text(json.dumps({
        "machine": machine(), "args": vars(args), "unscraped": unscraped, "scraped": scraped,
        "scrape_octets": size, "scrape_seconds": took,
    }, indent=2) + "\n")  # fmt: skip
    print(f"raw numbers: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
