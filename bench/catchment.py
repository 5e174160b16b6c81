"""How long `python -m lab catchment` takes on a running topology.

    sudo .venv/bin/python -m bench.catchment                                # global.toml
    sudo .venv/bin/python -m bench.catchment --topology lab/topologies/three-sites.toml
    sudo .venv/bin/python -m bench.catchment --mode reference --runs 10

Brings the topology up (a lab named `benchcatch`, torn down afterwards), waits until it has
converged, then runs the command as a user would, `--runs` times each: `lab catchment --json`
(DNS from every client over each family, Verfploeter from every site, every router's path),
and `lab catchment --json --png FILE` (the same and the picture). Reports the wall time of the
whole command (interpreter start, imports and topology included) and the measurement's own
duration (the JSON's `duration_s`), median and worst, and checks that every run found both
methods agreeing. Prints a Markdown table; writes the numbers as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from lab.lab import Lab
from lab.render import MODES, Mode
from lab.topology import TOPOLOGIES, load

RESULTS = Path(__file__).resolve().parent / "results"
REPO = RESULTS.parent.parent
LAB_NAME = "benchcatch"
TARGET_S = 10.0  # `lab catchment` on global.toml


def run(lab: Lab, extra: list[str]) -> tuple[float, float, bool]:
    """One `lab catchment --json` command: (wall seconds, measurement seconds, agree)."""
    argv = [sys.executable, "-m", "lab", "catchment", "--name", lab.name, "--json", *extra]
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=120)
    wall = time.monotonic() - started
    if result.returncode not in (0, 1):
        raise RuntimeError(f"lab catchment failed: {result.stderr[-2000:]}")
    document = json.loads(result.stdout)
    return wall, float(document["duration_s"]), bool(document["agree"])


def measure(topology_path: Path, mode: Mode, runs: int) -> list[dict[str, object]]:
    topology = load(topology_path)
    lab = Lab(os.environ.get("ABDT_TEST_TAG", "") + LAB_NAME, topology)
    lab.down()
    try:
        lab.up(mode)
        picture = Path(tempfile.gettempdir()) / f"{lab.name}-catchment.png"
        results = []
        for variant, extra in (("table", []), ("with --png", ["--png", str(picture)])):
            samples = [run(lab, extra) for _ in range(runs)]
            walls = [wall for wall, _, _ in samples]
            durations = [duration for _, duration, _ in samples]
            results.append({
                "topology": topology.name,
                "mode": mode,
                "variant": variant,
                "clients": len(topology.clients),
                "sites": len(topology.sites),
                "routers": len(topology.routers),
                "families": len(topology.families),
                "runs": runs,
                "wall_median_s": round(statistics.median(walls), 2),
                "wall_max_s": round(max(walls), 2),
                "measurement_median_s": round(statistics.median(durations), 3),
                "measurement_max_s": round(max(durations), 3),
                "all_agree": all(agree for _, _, agree in samples),
            })  # fmt: skip
        picture.unlink(missing_ok=True)
        return results
    finally:
        lab.down()


def markdown(results: list[dict[str, object]]) -> str:
    lines = [
        "| topology | mode | command | client networks / sites / routers | wall, s: median "
        "(worst) | measurement, s: median (worst) | methods agree |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['topology']} | {r['mode']} | {r['variant']} | {r['clients']} (IPv4"
            f"{' and IPv6' if r['families'] == 2 else ''}) / {r['sites']} / {r['routers']} | "
            f"{r['wall_median_s']} "
            f"({r['wall_max_s']}) | {r['measurement_median_s']} ({r['measurement_max_s']}) | "
            f"{'every run' if r['all_agree'] else 'NOT in every run'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.catchment", description=__doc__)
    parser.add_argument("--topology", type=Path, default=TOPOLOGIES / "global.toml")
    parser.add_argument("--mode", choices=MODES, default="python")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"{args.topology.name}, {args.mode} mode ...", file=sys.stderr, flush=True)
    results = measure(args.topology, args.mode, args.runs)
    print(markdown(results))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    document = {
        "bench": "catchment",
        "command": "python -m bench.catchment " + " ".join(argv or sys.argv[1:]),
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "load_average": os.getloadavg(),
        },
        "target_s": TARGET_S,
        "results": results,
    }
    path = RESULTS / f"catchment-{stamp}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"written to {path.relative_to(REPO)}", file=sys.stderr)
    worst = max(float(r["wall_max_s"]) for r in results)  # type: ignore[arg-type]
    return 0 if worst <= TARGET_S and all(r["all_agree"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
