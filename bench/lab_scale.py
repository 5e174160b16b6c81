"""How fast a topology comes up and converges, and how much memory the lab takes.

    sudo .venv/bin/python -m bench.lab_scale                          # global.toml, both modes
    sudo .venv/bin/python -m bench.lab_scale --routers 100 --mode python   # a generated one
    sudo .venv/bin/python -m bench.lab_scale --topology FILE --mode reference

For each mode: the seconds `up` takes to make the namespaces and links and start every daemon,
then the seconds until the lab has converged (every BGP session up, no router's table changing,
every client answered over each family: `Lab.wait_until_converged`), and the memory of every
process of the lab once converged: resident (RSS) and proportional (PSS, each shared page
divided among the processes that share it: what the lab adds to the machine), in all and per
router (zebra + bgpd + bfdd). Prints a Markdown table and writes the numbers as JSON to
bench/results/. The lab is named `benchscale` and torn down afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from lab.generate import generate
from lab.lab import Lab
from lab.netns import pids_in
from lab.render import MODES, Mode
from lab.topology import TOPOLOGIES, Topology, load, parse_text

RESULTS = Path(__file__).resolve().parent / "results"
LAB_NAME = "benchscale"
FRR_DAEMONS = ("zebra", "bgpd", "bfdd")


def memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process in KiB, from /proc/PID/smaps_rollup; (0, 0) if it is gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0, 0
    fields = {}
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) == 3 and parts[2] == "kB":
            fields[parts[0].rstrip(":")] = int(parts[1])
    return fields.get("Rss", 0), fields.get("Pss", 0)


def measure(topology: Topology, mode: Mode) -> dict[str, object]:
    lab = Lab(os.environ.get("ABDT_TEST_TAG", "") + LAB_NAME, topology)
    lab.down()
    try:
        started = time.monotonic()
        lab.up(mode, wait=False)
        started_daemons = time.monotonic() - started
        converged = lab.wait_until_converged(timeout=300)
        total = time.monotonic() - started
        pids = {pid for namespace in lab.namespaces() for pid in pids_in(namespace)}
        rss = pss = 0
        for pid in pids:
            process_rss, process_pss = memory_kib(pid)
            rss, pss = rss + process_rss, pss + process_pss
        router_rss = router_pss = 0
        for daemon in lab.state.daemons:
            if daemon.name in FRR_DAEMONS and lab.topology.node(daemon.node).role == "router":
                daemon_rss, daemon_pss = memory_kib(daemon.pid)
                router_rss, router_pss = router_rss + daemon_rss, router_pss + daemon_pss
        routers = len(topology.routers)
        return {
            "topology": topology.name,
            "mode": mode,
            "nodes": len(topology.nodes),
            "routers": routers,
            "sites": len(topology.sites),
            "clients": len(topology.clients),
            "links": len(topology.links),
            "processes": len(pids),
            "up_s": round(started_daemons, 2),
            "converged_s": round(converged, 2),
            "total_s": round(total, 2),
            "rss_mib": round(rss / 1024, 1),
            "pss_mib": round(pss / 1024, 1),
            "rss_per_router_mib": round(router_rss / 1024 / routers, 1),
            "pss_per_router_mib": round(router_pss / 1024 / routers, 1),
            "s_per_router": round(total / routers, 3),
        }
    finally:
        lab.down()


def markdown(results: list[dict[str, object]]) -> str:
    lines = [
        "| topology | mode | routers / nodes | up, s | converged, s | total, s | RSS, MiB | "
        "PSS, MiB | per router: RSS / PSS, MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['topology']} | {r['mode']} | {r['routers']} / {r['nodes']} | {r['up_s']} | "
            f"{r['converged_s']} | {r['total_s']} | {r['rss_mib']} | {r['pss_mib']} | "
            f"{r['rss_per_router_mib']} / {r['pss_per_router_mib']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lab_scale", description=__doc__)
    parser.add_argument("--topology", type=Path, help="default: lab/topologies/global.toml")
    parser.add_argument("--routers", type=int, help="a generated topology of this many routers")
    parser.add_argument("--mode", choices=(*MODES, "both"), default="both")
    args = parser.parse_args(argv)
    if args.routers is not None:
        text = generate(args.routers)
        path = Path(tempfile.gettempdir()) / f"internet-{args.routers}.toml"
        path.write_text(text)
        topology = parse_text(text, path)
    else:
        topology = load(args.topology or TOPOLOGIES / "global.toml")
    modes: tuple[Mode, ...] = MODES if args.mode == "both" else (args.mode,)
    results = []
    for mode in modes:
        print(f"{topology.name}, {mode} mode ...", file=sys.stderr, flush=True)
        results.append(measure(topology, mode))
    print(markdown(results))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    document = {
        "bench": "lab_scale",
        "command": "python -m bench.lab_scale " + " ".join(argv or sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release()},
        "results": results,
    }
    path = RESULTS / f"lab_scale-{stamp}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"written to {path.relative_to(RESULTS.parent.parent)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
