"""What the clients lose, over each family, when a failed site comes back.

    sudo .venv/bin/python -m bench.site_restart                    # three-sites.toml, python
    sudo .venv/bin/python -m bench.site_restart --rounds 5 --failure halt --failure dns-killed

Brings the topology up (a lab named `benchsr`, torn down afterwards) and on one site (`--site`;
by default the one that serves the most clients) makes each `--failure` of `lab failover`
`--rounds` times, with a probe (`lab.probe`, one query every 10 ms, lost after 100 ms) per client
and per family running throughout. The failure is undone as `lab failover` undoes it (the site
halted and started again for most) and the probes run on until every client is served as before
and one more second. Reports per failure and family the queries lost from the moment the
restore began, and in how many rounds any were; the target is none. Prints a Markdown table;
writes every result as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from lab import failover
from lab.lab import Lab
from lab.probe import parse_output
from lab.render import MODES, Mode
from lab.topology import TOPOLOGIES, load

RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]
LAB_NAME = "benchsr"
FAILED_FOR = 2.5  # seconds the site stays failed, as `lab failover`'s python-mode window
AFTER = 1.0  # seconds of probing once every client is served as before


@dataclass(frozen=True)
class Restart:
    """One round: the queries each (client, family) lost once the restore began."""

    failure: str
    family: int
    client: str
    lost: int
    first_lost_ms: float | None  # after the restore began
    last_lost_ms: float | None


def one_round(lab: Lab, failure: failover.Failure, scenario: failover.Scenario) -> list[Restart]:
    service = lab.topology.service
    servers = {4: str(service.address)}
    if service.address6 is not None:
        servers[6] = str(service.address6)
    probes = {}
    try:
        for client in scenario.home:
            for family, server in servers.items():
                argv = [sys.executable, "-m", "lab.probe", "--server", server, "--interval", "0.01",
                        "--timeout", "0.1", "--duration", "60"]  # fmt: skip
                probes[client, family] = lab.host(client).popen(
                    argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO
                )
        for process in probes.values():
            assert process.stderr is not None
            if process.stderr.readline().strip() != b"ready":
                raise RuntimeError("a probe got no answer")
        undo = failure.make(lab, scenario.site)
        time.sleep(FAILED_FOR)
        restore_began = time.time()
        failover.restore(lab, failure, scenario, undo)
        time.sleep(AFTER)
    finally:
        for process in probes.values():
            process.send_signal(signal.SIGTERM)
    results = []
    for (client, family), process in probes.items():
        out, _ = process.communicate(timeout=10)
        lost = [r for r in parse_output(out.decode()) if r.sent >= restore_began and not r.answered]
        first, last = (
            ((lost[0].sent - restore_began) * 1000, (lost[-1].sent - restore_began) * 1000)
            if lost
            else (None, None)
        )
        results.append(Restart(failure.key, family, client, len(lost), first, last))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topology", default=str(TOPOLOGIES / "three-sites.toml"))
    parser.add_argument("--mode", choices=MODES, default="python")
    parser.add_argument("--site", help="the site to fail (default: the busiest)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--failure", action="append", choices=failover.FAILURE_KEYS,
                        help="repeatable (default: dns-killed, link-down, halt)")  # fmt: skip
    args = parser.parse_args()
    mode: Mode = args.mode
    keys = args.failure or ["dns-killed", "link-down", "halt"]
    failures = [f for f in failover.FAILURES if f.key in keys]
    lab = Lab(os.environ.get("ABDT_TEST_TAG", "") + LAB_NAME, load(Path(args.topology)))
    lab.down()
    results: list[Restart] = []
    try:
        lab.up(mode)
        scenario = failover.scenario(lab, args.site)
        failover.wait_until_normal(lab, scenario)
        for _ in range(args.rounds):
            for failure in failures:
                results += one_round(lab, failure, scenario)
    finally:
        lab.down()
    print(f"{lab.topology.name}, {mode} mode, {scenario.site} failed and restored, "
          f"{args.rounds} round(s); clients {', '.join(scenario.affected)}\n")  # fmt: skip
    print(
        "| failure | family | queries lost after the restore began (per round, max over "
        "clients) | rounds with a loss | when (ms after the restore began) |"
    )
    print("|---|---|---|---|---|")
    for failure in failures:
        for family in sorted({r.family for r in results}):
            rows = [r for r in results if r.failure == failure.key and r.family == family]
            per_round = [
                max(r.lost for r in rows[i : i + len(scenario.home)])
                for i in range(0, len(rows), len(scenario.home))
            ]
            lossy = [r for r in rows if r.lost]
            when = (
                f"{min(r.first_lost_ms or 0 for r in lossy):.0f}-"
                f"{max(r.last_lost_ms or 0 for r in lossy):.0f}"
                if lossy
                else "-"
            )
            rounds_lossy = sum(1 for lost in per_round if lost)
            print(f"| {failure.key} | IPv{family} | {' '.join(map(str, per_round))} | "
                  f"{rounds_lossy} of {len(per_round)} | {when} |")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"site_restart-{stamp}.json"
    out.write_text(json.dumps({
        "machine": platform.node(), "cpus": os.cpu_count(), "topology": lab.topology.name,
        "mode": mode, "site": scenario.site, "rounds": args.rounds,
        "results": [asdict(r) for r in results],
    }, indent=1) + "\n")  # fmt: skip
    print(f"\nwritten {out.relative_to(REPO)}")
    return 0 if all(r.lost == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
