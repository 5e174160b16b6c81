"""What the MinRouteAdvertisementInterval does to convergence after a withdrawal, on global.toml.

    sudo .venv/bin/python -m bench.withdraw_convergence                  # MRAI 0 and 30 s
    sudo .venv/bin/python -m bench.withdraw_convergence --mrai 30 --site site-fra --verbose

Brings global.toml up in python mode (a lab named `benchmrai`, torn down afterwards), then for
each MRAI value sets `neighbor X advertisement-interval SECONDS` on every router's eBGP sessions
through its vty (RFC 4271 §9.2.1.1; §10 suggests 30 s for eBGP; iBGP keeps FRR's 0) and makes
four events, each measured until nothing has changed for MRAI + 5 seconds:

    one site withdraws    `lab te SITE withdraw`: its clients must find another site
    it announces again    `lab te SITE announce`
    every site withdraws  the prefix is gone from the whole topology (Labovitz's Tdown)
    every site announces  it comes back (Tup)

During each, every router's best path to 169.254.0.1/32 is read from its bgpd (one vty
connection per router, all of them every few tens of milliseconds) and every client asks the
anycast address (NSID), so that the path hunting shows: each router's sequence of best paths,
and how many of them were not its final choice. Reported per event: when the last router
changed (converged), when the last client changed, how long clients went unanswered, the
best-path changes in all and at the busiest router, and the UPDATE messages the routers
received (`show bgp neighbors json`, both families). Prints a Markdown table; writes everything
as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lab.lab import Lab
from lab.te import TeAction, change
from lab.topology import TOPOLOGIES, load
from lab.vty import VtyError

RESULTS = Path(__file__).resolve().parent / "results"
LAB_NAME = "benchmrai"
EXTRA_QUIET = 5.0  # seconds beyond the MRAI without a change before an event counts as over
TIMEOUT = 900.0
DNS_TIMEOUT = 0.1


@dataclass
class Event:
    """What happened from t0 until nothing changed for the quiet time."""

    mrai: int
    name: str
    paths: dict[str, list[tuple[float, str | None]]] = field(default_factory=dict)
    clients: dict[str, list[tuple[float, str | None]]] = field(default_factory=dict)
    updates: int = 0
    sweeps: int = 0
    duration: float = 0.0

    def converged(self) -> float:
        """Seconds from t0 to the last best-path change at any router (0: none changed)."""
        return max((changes[-1][0] for changes in self.paths.values() if changes), default=0.0)

    def clients_settled(self) -> float:
        return max((changes[-1][0] for changes in self.clients.values() if changes), default=0.0)

    def path_changes(self) -> int:
        return sum(len(changes) for changes in self.paths.values())

    def busiest(self) -> tuple[str, int]:
        counts = Counter({router: len(changes) for router, changes in self.paths.items()})
        return counts.most_common(1)[0] if counts else ("-", 0)

    def transient(self) -> int:
        """Best paths a router held on the way, that were not its last choice (path hunting)."""
        return sum(max(0, len(changes) - 1) for changes in self.paths.values())

    def unanswered(self) -> dict[str, float]:
        """Client → seconds it went without an answer before it was answered again."""
        found = {}
        for client, changes in self.clients.items():
            total, since = 0.0, None
            for at, site in changes:
                if site is None and since is None:
                    since = at
                elif site is not None and since is not None:
                    total, since = total + at - since, None
            if total:
                found[client] = total
        return found

    def unserved(self) -> list[str]:
        """The clients no site answered at the end (every site withdrawn)."""
        return [
            client for client, changes in self.clients.items() if changes and not changes[-1][1]
        ]


class Watch:
    """Every router's best path and every client's site, read again and again."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.prefix = str(lab.topology.service.anycast.network)
        self.vtys = {router.name: lab.vty(router.name) for router in lab.topology.routers}
        self.clients = [client.name for client in lab.topology.clients]

    def close(self) -> None:
        for vty in self.vtys.values():
            vty.close()

    def paths(self) -> dict[str, str | None]:
        """Router → "AS path (site)" of its best path, None without one."""
        found: dict[str, str | None] = {}
        for router, vty in self.vtys.items():
            try:
                view = vty.json(f"show bgp ipv4 unicast {self.prefix} json")
            except VtyError:
                found[router] = None
                continue
            best = [p for p in view.get("paths", []) if p.get("bestpath", {}).get("overall")]
            if not best:
                found[router] = None
                continue
            as_path = best[0].get("aspath", {}).get("string", "")
            hops = best[0].get("nexthops", [{}])
            site = self.lab.site_of_path(hops[0].get("ip", "") if hops else "", as_path)
            found[router] = f"{as_path} ({site})"
        return found

    def sites(self) -> dict[str, str | None]:
        answers = self.lab.ask(self.clients, 4, timeout=DNS_TIMEOUT)
        return {client: answer.site for client, answer in answers.items()}

    def updates_received(self) -> int:
        total = 0
        for vty in self.vtys.values():
            for neighbor in vty.json("show bgp neighbors json").values():
                if isinstance(neighbor, dict):
                    total += int(neighbor.get("messageStats", {}).get("updatesRecv", 0))
        return total

    def wait_until_quiet(self, quiet: float) -> None:
        """Until no router has received an UPDATE for `quiet` seconds: a changed MRAI makes FRR
        send its routes again, themselves held back by the new MRAI."""
        count, since = self.updates_received(), time.monotonic()
        while time.monotonic() - since < quiet:
            time.sleep(1.0)
            now = self.updates_received()
            if now != count:
                count, since = now, time.monotonic()

    def follow(self, event: Event, make: list[tuple[str, TeAction]], quiet: float) -> Event:
        """Make the changes (site, action) at t0 and follow until `quiet` seconds pass quietly."""
        paths, sites = self.paths(), self.sites()
        updates = self.updates_received()
        event.paths = {router: [] for router in paths}
        event.clients = {client: [] for client in sites}
        t0 = time.monotonic()
        for changed, action in make:
            change(self.lab, changed, action)
        last = t0
        while True:
            now = time.monotonic()
            for router, path in self.paths().items():
                if path != paths[router]:
                    paths[router] = path
                    event.paths[router].append((now - t0, path))
                    last = now
            for client, site in self.sites().items():
                if site != sites[client]:
                    sites[client] = site
                    event.clients[client].append((now - t0, site))
                    last = now
            event.sweeps += 1
            now = time.monotonic()
            if now - last >= quiet or now - t0 >= TIMEOUT:
                event.duration = now - t0
                break
            time.sleep(0.01)
        event.updates = self.updates_received() - updates
        return event


def set_mrai(lab: Lab, seconds: int) -> None:
    """`advertisement-interval` on every router's eBGP sessions (iBGP keeps FRR's default, 0)."""
    for router in lab.topology.routers:
        lines = [f"router bgp {router.asn}"] + [
            f" neighbor {n.address} advertisement-interval {seconds}"
            for n in lab.topology.neighbors(router.name)
            if not n.internal
        ]
        with lab.vty(router.name) as vty:
            vty.configure(*lines)


def run(topology_path: Path, mrais: list[int], site: str, verbose: bool) -> list[Event]:
    topology = load(topology_path)
    lab = Lab(os.environ.get("ABDT_TEST_TAG", "") + LAB_NAME, topology)
    lab.down()
    events: list[Event] = []
    withdraw, announce = TeAction("withdraw"), TeAction("announce")
    everywhere = [s.name for s in topology.sites]
    try:
        lab.up("python")
        watch = Watch(lab)
        try:
            for mrai in mrais:
                set_mrai(lab, mrai)
                watch.wait_until_quiet(mrai + EXTRA_QUIET)
                quiet = mrai + EXTRA_QUIET
                for name, make in (
                    (f"{site} withdraws", [(site, withdraw)]),
                    (f"{site} announces again", [(site, announce)]),
                    ("every site withdraws", [(s, withdraw) for s in everywhere]),
                    ("every site announces again", [(s, announce) for s in everywhere]),
                ):
                    print(f"MRAI {mrai} s: {name} ...", file=sys.stderr, flush=True)
                    event = watch.follow(Event(mrai, name), make, quiet)
                    print("    " + line(event), file=sys.stderr, flush=True)
                    if verbose:
                        print(timeline(event), file=sys.stderr, flush=True)
                    events.append(event)
        finally:
            watch.close()
    finally:
        lab.down()
    return events


def line(event: Event) -> str:
    router, most = event.busiest()
    unanswered = event.unanswered()
    return (
        f"routers converged after {event.converged():.2f} s, clients after "
        f"{event.clients_settled():.2f} s; {event.path_changes()} best-path changes "
        f"({event.transient()} on the way; {most} at {router}), {event.updates} UPDATEs; "
        f"{len(unanswered)} client(s) unanswered for a while, up to "
        f"{max(unanswered.values(), default=0.0):.2f} s; {len(event.unserved())} at the end"
    )


def timeline(event: Event) -> str:
    """Each router's best paths in order, with their times: the path hunting."""
    lines = []
    for router, changes in event.paths.items():
        if changes:
            steps = "  →  ".join(f"{at:.2f} s {path or 'no route'}" for at, path in changes)
            lines.append(f"      {router}: {steps}")
    return "\n".join(lines)


def markdown(events: list[Event]) -> str:
    lines = [
        "| eBGP MRAI | event | routers converged | clients settled | best-path changes "
        "(on the way) | busiest router | UPDATEs received | clients unanswered a while, longest "
        "| unanswered at the end |",
        "|---:|---|---:|---:|---:|---|---:|---|---:|",
    ]
    for event in events:
        router, most = event.busiest()
        unanswered = event.unanswered()
        longest = max(unanswered.values(), default=0.0)
        lines.append(
            f"| {event.mrai} s | {event.name} | {event.converged():.2f} s "
            f"| {event.clients_settled():.2f} s | {event.path_changes()} ({event.transient()}) "
            f"| {router} ({most}) | {event.updates} | {len(unanswered)}, {longest:.2f} s "
            f"| {len(event.unserved())} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.withdraw_convergence", description=__doc__
    )
    parser.add_argument("--topology", type=Path, default=TOPOLOGIES / "global.toml")
    parser.add_argument("--mrai", type=int, nargs="+", default=[0, 30], metavar="S")
    parser.add_argument("--site", default="site-nyc", help="the site that withdraws alone")
    parser.add_argument("--verbose", action="store_true", help="every router's path changes")
    args = parser.parse_args(argv)
    events = run(args.topology, args.mrai, args.site, args.verbose)
    print(markdown(events))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"withdraw_convergence-{stamp}.json"
    by_event = []
    for event in events:
        record = asdict(event)
        record.update(
            converged_s=round(event.converged(), 3),
            clients_settled_s=round(event.clients_settled(), 3),
            path_changes=event.path_changes(),
            transient_paths=event.transient(),
            unanswered_s={c: round(s, 3) for c, s in event.unanswered().items()},
            unserved=event.unserved(),
        )
        by_event.append(record)
    document = {
        "command": "python -m bench.withdraw_convergence " + " ".join(argv or sys.argv[1:]),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average": os.getloadavg(),
        },
        "events": by_event,
    }
    path.write_text(json.dumps(document, indent=1) + "\n")
    print(f"\n(written to {path.relative_to(RESULTS.parent.parent)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
