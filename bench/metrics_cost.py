"""What minidns's Prometheus metrics cost: queries per second without them, with them, and with
them scraped, in the same run, alternating.

    python -m bench.metrics_cost [--rounds 5] [--duration 10] [--scrape-interval 1.0]

Three minidns processes serve bench/data/dns/example.com.zone on 127.0.0.1: without
`--metrics`; with `--metrics` and nobody scraping; with `--metrics` and a scraper fetching
/metrics every `--scrape-interval` seconds during the run (Prometheus's default is 15 s, 1 s is
what the lab's test uses). dnsperf sends the cacheable mix (bench/data/dns/cacheable.txt) to
each in turn; as in bench.dns_perf, the server is pinned to the last CPU and dnsperf to the
first. Prints a Markdown table (medians of the rounds, and the ratios) and writes the raw
numbers to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.dns_perf import CACHEABLE, RESULTS, ZONE, dnsperf, free_port, machine, wait_for_answers

VARIANTS = ("no metrics", "metrics, not scraped", "metrics, scraped")


def _start(variant: str, pin: list[str], log: Path) -> tuple[subprocess.Popen[bytes], int, int]:
    port, metrics_port = free_port(), free_port()
    argv = [*pin, sys.executable, "-m", "minidns", "--zone", f"example.com={ZONE}",
            "--listen", f"127.0.0.1:{port}", "--identity", "bench"]  # fmt: skip
    if variant != "no metrics":
        argv += ["--metrics", f"127.0.0.1:{metrics_port}"]
    process = subprocess.Popen(argv, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    wait_for_answers(port, process)
    return process, port, metrics_port


def _scrape_until(
    stop: threading.Event, port: int, interval: float, scrapes: list[tuple[int, float]]
) -> None:
    """Fetch /metrics every `interval` s; record each answer's size and how long it took."""
    while not stop.wait(interval):
        started = time.perf_counter()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            size = len(response.read())
        scrapes.append((size, time.perf_counter() - started))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.metrics_cost", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--scrape-interval", type=float, default=1.0)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args(argv)
    cpus = len(__import__("os").sched_getaffinity(0))
    server_pin = ["taskset", "-c", str(cpus - 1)] if cpus > 1 else []
    client_pin = ["taskset", "-c", "0"] if cpus > 1 else []
    workdir = Path(tempfile.mkdtemp(prefix="metrics-cost-"))
    servers = {v: _start(v, server_pin, workdir / f"{i}.log") for i, v in enumerate(VARIANTS)}
    runs: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    scrapes: list[tuple[int, float]] = []
    try:
        for _, port, _ in servers.values():  # warm-up, not counted
            dnsperf(port, CACHEABLE, 2, args.clients, client_pin)
        for round_number in range(args.rounds):
            for variant, (_, port, metrics_port) in servers.items():
                stop = threading.Event()
                scraper = None
                if variant == "metrics, scraped":
                    scraper = threading.Thread(
                        target=_scrape_until,
                        args=(stop, metrics_port, args.scrape_interval, scrapes),
                    )
                    scraper.start()
                qps, _, _ = dnsperf(port, CACHEABLE, args.duration, args.clients, client_pin)
                stop.set()
                if scraper is not None:
                    scraper.join()
                runs[variant].append(qps)
                print(f"round {round_number + 1}: {variant}: {qps:,.0f} q/s", file=sys.stderr)
    finally:
        for process, _, _ in servers.values():
            process.terminate()
            process.wait(timeout=10)
    medians = {variant: statistics.median(values) for variant, values in runs.items()}
    base = medians["no metrics"]
    print(f"| minidns, cacheable mix | q/s (median of {args.rounds}) | / no metrics |")
    print("|---|---:|---:|")
    for variant in VARIANTS:
        print(f"| {variant} | {medians[variant]:,.0f} | {medians[variant] / base:.3f} |")
    scraped = medians["metrics, scraped"] / medians["metrics, not scraped"]
    size = statistics.median(s for s, _ in scrapes) if scrapes else 0
    took = statistics.median(t for _, t in scrapes) * 1000 if scrapes else 0.0
    print(
        f"\nscraping every {args.scrape_interval:g} s: {scraped:.3f} of the unscraped q/s; "
        f"{len(scrapes)} scrapes of {size:.0f} octets, {took:.1f} ms each (median, under load)"
    )
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = RESULTS / f"metrics_cost-{stamp}.json"
    out.write_text(json.dumps({"machine": machine(), "args": vars(args), "runs": runs,
                               "medians": medians}, indent=2) + "\n")  # fmt: skip
    print(f"raw numbers: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
