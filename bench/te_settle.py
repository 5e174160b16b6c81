"""How long a traffic-engineering action takes to reach the clients (`python -m lab te`).

    sudo .venv/bin/python -m bench.te_settle                       # global.toml, both modes
    sudo .venv/bin/python -m bench.te_settle --mode python --rounds 5
    sudo .venv/bin/python -m bench.te_settle --topology lab/topologies/three-sites.toml \
        --site site-west

Brings the topology up (a lab named `benchte`, torn down afterwards) with the lab's short timers
(keepalive 1 s, hold 3 s, no MRAI), then on one site (`--site`; by default the one that serves
the most clients) runs a round of actions `--rounds` times: prepend 1, prepend 0, community
no-export, restore, withdraw, announce. Each is `lab.te.run_te`, what `python -m lab te` runs:
the catchment by both methods before, the action, DNS snapshots of every client over each family
every 20 ms until no client has moved for a second, the catchment after. The settle time is from
the moment the command starts changing the speaker to the snapshot that saw the last client
move. Reports per action the median and worst settle time, the clients that moved, whether both
methods agreed afterwards (a client no site serves any more, as NO_EXPORT can leave one, counts
as agreeing when neither method sees a site), against the target: visible to the clients within
2 s. Prints a Markdown table; writes every result as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from lab.catchment import measure
from lab.lab import Lab
from lab.render import MODES, Mode
from lab.te import TeAction, TeResult, run_te
from lab.topology import TOPOLOGIES, Topology, load

RESULTS = Path(__file__).resolve().parent / "results"
LAB_NAME = "benchte"
ROUND = ("prepend 1", "prepend 0", "community no-export", "restore", "withdraw", "announce")
TARGET_S = 2.0


def busiest_site(lab: Lab) -> str:
    served = Counter(site for site in measure(lab, verfploeter=False).sites_of(4).values())
    return served.most_common(1)[0][0] or lab.topology.sites[0].name


def run_mode(topology: Topology, mode: Mode, site: str | None, rounds: int) -> list[TeResult]:
    lab = Lab(os.environ.get("ABDT_TEST_TAG", "") + LAB_NAME, topology)
    lab.down()
    results = []
    try:
        lab.up(mode)
        chosen = site or busiest_site(lab)
        for round_ in range(rounds):
            for text in ROUND:
                result = run_te(lab, chosen, TeAction.parse(text.split()))
                moved = len(result.settled.moved())
                print(
                    f"{mode} round {round_ + 1}: {chosen} {text}: settled in "
                    f"{result.settled.settle_time * 1000:.0f} ms, {moved} client network(s) "
                    f"moved, {len(_unserved(result))} unserved after, "
                    f"{'agree' if _consistent(result) else 'DISAGREE'}",
                    file=sys.stderr,
                    flush=True,
                )
                results.append(result)
    finally:
        lab.down()
    return results


def summary(mode: Mode, results: list[TeResult]) -> list[dict[str, object]]:
    rows = []
    for text in ROUND:
        mine = [r for r in results if str(r.action) == text]
        times = [r.settled.settle_time for r in mine]
        rows.append(
            {
                "mode": mode,
                "site": mine[0].site,
                "action": text,
                "runs": len(mine),
                "settle_median_s": round(statistics.median(times), 3),
                "settle_worst_s": round(max(times), 3),
                "moved": sorted({len(r.settled.moved()) for r in mine}),
                "all_settled": all(r.settled.settled for r in mine),
                "all_agree": all(_consistent(r) for r in mine),
                "unserved_after": sorted({len(_unserved(r)) for r in mine}),
                "target_met": all(r.settled.settled for r in mine) and max(times) <= TARGET_S,
            }
        )
    return rows


def _unserved(result: TeResult) -> list[str]:
    """The client networks no site serves after the action (NO_EXPORT can do that)."""
    return [f"{e.client} IPv{e.family}" for e in result.after.clients if e.site is None]


def _consistent(result: TeResult) -> bool:
    """Both methods name the same site for every client, or neither sees one."""
    return all(e.verdict in ("agree", "unanswered") for e in result.after.clients)


def markdown(rows: list[dict[str, object]]) -> str:
    lines = [
        "| mode | action | settled, median | worst | client networks moved | unserved after "
        f"| both methods agree | ≤ {TARGET_S:g} s |",
        "|---|---|---:|---:|---|---|---|---|",
    ]
    for row in rows:
        moved = "/".join(str(m) for m in row["moved"])  # type: ignore[attr-defined]
        unserved = "/".join(str(u) for u in row["unserved_after"])  # type: ignore[attr-defined]
        lines.append(
            f"| {row['mode']} | `te {row['site']} {row['action']}` "
            f"| {float(row['settle_median_s']) * 1000:.0f} ms "  # type: ignore[arg-type]
            f"| {float(row['settle_worst_s']) * 1000:.0f} ms "  # type: ignore[arg-type]
            f"| {moved} | {unserved} | {'✔' if row['all_agree'] else '✘'} "
            f"| {'✔' if row['target_met'] else '✘'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.te_settle", description=__doc__)
    parser.add_argument("--topology", type=Path, default=TOPOLOGIES / "global.toml")
    parser.add_argument("--mode", choices=(*MODES, "both"), default="both")
    parser.add_argument("--site", help="default: the site that serves the most clients")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    topology = load(args.topology)
    modes: tuple[Mode, ...] = MODES if args.mode == "both" else (args.mode,)
    rows: list[dict[str, object]] = []
    runs: list[dict[str, object]] = []
    for mode in modes:
        results = run_mode(topology, mode, args.site, args.rounds)
        rows += summary(mode, results)
        runs += [
            {"mode": mode, **{k: v for k, v in r.to_json().items() if k not in ("before", "after")}}
            for r in results
        ]
    table = markdown(rows)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"te_settle-{stamp}.json"
    document = {
        "command": "python -m bench.te_settle " + " ".join(argv or sys.argv[1:]),
        "topology": topology.name,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average": os.getloadavg(),
        },
        "target_s": TARGET_S,
        "summary": rows,
        "runs": runs,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\n(written to {path.relative_to(RESULTS.parent.parent)})", file=sys.stderr)
    return 0 if all(row["target_met"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
