"""How `lab ui` holds up on a big topology: the time to the first whole picture in a real
browser, the browser's work per second while the page follows the lab, and what the server
sends.

    sudo .venv/bin/python -m bench.ui_scale --routers 100          # a generated topology
    sudo .venv/bin/python -m bench.ui_scale --name NAME            # a lab already up

With `--routers N`, a topology of N routers is generated (`python -m lab generate`), brought up
in python mode under the lab name `--name` (default `uiscale`, prefixed with $ABDT_TEST_TAG)
and torn down at the end. `python -m lab ui --port 0` serves the page; Debian's chromium
(headless, through chromium-driver) opens it and the bench reads:

- first picture: from navigation to the end of drawing the snapshot (the page's
  `snapshot-drawn` performance mark), and the snapshot's size;
- the page's main thread, busy share over `--duration` seconds (Chrome's TaskDuration and
  ScriptDuration, through the DevTools protocol), and its JavaScript heap;
- the event stream, read by the bench itself over the same window: updates per second and
  octets per update;
- the `lab ui` process's CPU over the window.

Prints a Markdown table and writes the numbers as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lab.generate import generate
from lab.lab import Lab
from lab.topology import parse_text

RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--window-size=1400,1000")  # fmt: skip


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_events(url: str, stop: threading.Event, sizes: dict[str, list[int]]) -> None:
    """Read the event stream until `stop`; the size of each event by its kind."""
    base, token = url.split("/#token=")
    with urllib.request.urlopen(f"{base}/events?token={token}", timeout=30) as stream:
        kind, size = "", 0
        while not stop.is_set():
            line = stream.readline()
            if not line:
                return
            size += len(line)
            if line.startswith(b"event: "):
                kind = line[7:].strip().decode()
            elif line == b"\n" and kind:
                sizes.setdefault(kind, []).append(size)
                kind, size = "", 0


def measure(url: str, ui_pid: int, duration: float) -> dict[str, Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="abd-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    sizes: dict[str, list[int]] = {}
    stop = threading.Event()
    try:
        driver.execute_cdp_cmd("Performance.enable", {})
        driver.get(url)
        deadline = time.monotonic() + 120
        first = None
        while first is None and time.monotonic() < deadline:
            first = driver.execute_script(
                "const m = performance.getEntriesByName('snapshot-drawn');"
                "return m.length ? m[0].startTime : null;"
            )
            time.sleep(0.1)
        if first is None:
            raise SystemExit("the page never drew its snapshot")
        time.sleep(3)  # past the first updates
        reader = threading.Thread(target=read_events, args=(url, stop, sizes), daemon=True)
        reader.start()

        def metrics() -> dict[str, float]:
            answer = driver.execute_cdp_cmd("Performance.getMetrics", {})
            return {m["name"]: m["value"] for m in answer["metrics"]}

        before, cpu_before, started = metrics(), cpu_seconds(ui_pid), time.monotonic()
        time.sleep(duration)
        after, cpu_after, elapsed = metrics(), cpu_seconds(ui_pid), time.monotonic() - started
        stop.set()
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    updates = sizes.get("update", [])
    return {
        "first_picture_ms": round(first),
        "snapshot_octets": sizes.get("snapshot", [0])[0],
        "busy_share": round((after["TaskDuration"] - before["TaskDuration"]) / elapsed, 4),
        "script_share": round((after["ScriptDuration"] - before["ScriptDuration"]) / elapsed, 4),
        "layout_share": round((after["LayoutDuration"] - before["LayoutDuration"]) / elapsed, 4),
        "style_share": round(
            (after["RecalcStyleDuration"] - before["RecalcStyleDuration"]) / elapsed, 4
        ),
        "js_heap_mib": round(after["JSHeapUsedSize"] / 2**20, 1),
        "updates_per_s": round(len(updates) / elapsed, 1),
        "update_octets_median": int(statistics.median(updates)) if updates else 0,
        "update_octets_per_s": round(sum(updates) / elapsed),
        "ui_cpu_share": round((cpu_after - cpu_before) / elapsed, 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ui_scale",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--name", default="uiscale", help="the lab (default uiscale)")
    parser.add_argument("--routers", type=int, help="generate and bring up this many routers")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured")
    args = parser.parse_args(argv)
    name = args.name if args.routers is None else os.environ.get("ABDT_TEST_TAG", "") + args.name
    lab = Lab(name)
    if args.routers is not None:
        text = generate(args.routers)
        path = Path(tempfile.gettempdir()) / f"internet-{args.routers}.toml"
        path.write_text(text)
        lab = Lab(name, parse_text(text, path))
        lab.down()
        print(f"bringing up {args.routers} routers as lab {name!r} ...", file=sys.stderr)
        lab.up("python")
    ui = subprocess.Popen(
        [sys.executable, "-m", "lab", "ui", "--name", name, "--port", "0"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert ui.stdout is not None
        match = re.search(r"http://\S+/#token=\S+", ui.stdout.readline())
        if not match:
            raise SystemExit("lab ui did not print its address")
        result = measure(match.group(0), ui.pid, args.duration)
    finally:
        ui.send_signal(signal.SIGINT)
        ui.wait(timeout=20)
        if args.routers is not None:
            lab.down()
            path.unlink(missing_ok=True)
    topology = lab.topology
    lanes = len(topology.clients) * len(topology.families)
    result = {"topology": topology.name, "nodes": len(topology.nodes),
              "clients": len(topology.clients), "lanes": lanes, **result}  # fmt: skip
    print("| topology | nodes | probe lanes | first picture | snapshot | page busy (script) | "
          "updates/s | octets/update | `lab ui` CPU |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    busy = f"{result['busy_share']:.1%} ({result['script_share']:.1%})"
    print(f"| {result['topology']} | {result['nodes']} | {lanes} | "
          f"{result['first_picture_ms']} ms | {result['snapshot_octets'] / 1024:.0f} KiB | "
          f"{busy} | {result['updates_per_s']} | {result['update_octets_median']:,} | "
          f"{result['ui_cpu_share']:.1%} |")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"ui_scale-{stamp}.json"
    command = "python -m bench.ui_scale " + " ".join(argv or sys.argv[1:])
    document = {"bench": "ui_scale", "command": command, "result": result}
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"raw numbers: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
