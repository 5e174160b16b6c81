"""`python -m lab COMMAND`: the lab's command line.

    up [--mode python|reference]   bring the lab up (python mode: minibgp + minidns on the servers)
    down                           end every daemon, delete every namespace (also after a crash)
    status                         nodes, daemons, BGP sessions, which server each router prefers
    exec NODE -- CMD...            run CMD in NODE's namespace (the lab's `vagrant ssh NODE`)
    halt NODE / start NODE         switch a node off (daemons end, links down) and on again
    demo [--mode python|reference|both]   the seed's scenarios, narrated and checked
    failover [--mode python|reference|both] [--topology FILE] [--site SITE] [--json]
             [--png FILE] [--short] [--failure KEY]
                                   fail a site in each way, measure what the clients see
    capture NODE [--write F.pcap] [--count N] [--filter F]   tcpdump on the node's link
    catchment [--json] [--png FILE]   which site each client reaches: DNS (NSID) and Verfploeter
                                   (pings from the sites) side by side, with each router's path
    te SITE ACTION [VALUE] [--json]   traffic engineering: prepend N, med N|none, community C,
                                   no-community C, withdraw, announce, restore; the catchment
                                   before and after, and how long the clients took to settle
    ui [--port P] [--address A]    a live web page of the lab (127.0.0.1:8080 by default)
    render --node NODE --out DIR   a node's configs, as the lab and the Vagrant machines use them

Every command takes `--name NAME` (default "default") to pick one of several labs.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import sys
from pathlib import Path

from .render import MODES


def main(argv: list[str] | None = None) -> int:
    argv, command_argv = split_node_command(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    if command_argv is not None:
        if args.command != "exec":
            print(f"lab {args.command}: takes no command after --", file=sys.stderr)
            return 2
        args.argv = command_argv
    missing = _missing_extra(args)
    if missing:
        print(f"lab {args.command}: needs {' and '.join(missing)}, from the lab extra: "
              "pip install 'anycast-bgp-dns[lab]'", file=sys.stderr)  # fmt: skip
        return 2
    # SIGTERM unwinds like Ctrl-C, so that `up` and `demo` tear down what they started.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if args.command not in ("render", "generate") and os.geteuid() != 0:
        print("lab: needs root (network namespaces)", file=sys.stderr)
        return 1
    try:
        code: int = args.handler(args)
        sys.stdout.flush()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`lab status | head -1`): say nothing more, like any Unix tool.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except Exception as error:
        from .lab import LabError
        from .nodes import DaemonError
        from .topology import TopologyError

        if isinstance(error, LabError | TopologyError | DaemonError | TimeoutError):
            print(f"lab: {error}", file=sys.stderr)
            return 1
        raise
    return code


def split_node_command(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """The lab's own arguments, and the command to run in a node (None: there is none).

    The command follows `--`. `exec NODE CMD ...` without `--` works too: the command starts
    at the first word after the node that is not the lab's `--name NAME`.
    """
    if "--" in argv:
        split = argv.index("--")
        return argv[:split], argv[split + 1 :]
    if argv[:1] != ["exec"]:
        return argv, None
    own, rest = argv[:1], argv[1:]
    node_seen = False
    while rest:
        word = rest[0]
        if word == "--name" and len(rest) > 1:
            own, rest = [*own, *rest[:2]], rest[2:]
        elif word.startswith("--name=") or word in ("-h", "--help"):
            own, rest = [*own, word], rest[1:]
        elif not node_seen:
            own, rest, node_seen = [*own, word], rest[1:], True
        else:
            break
    return own, rest


def _missing_extra(args: argparse.Namespace) -> list[str]:
    """The modules of the `lab` extra this command needs and this Python lacks."""
    needed = ["matplotlib"] if getattr(args, "png", None) else []
    if args.command == "ui":
        needed += ["aiohttp", "numpy"]
    return [name for name in needed if importlib.util.find_spec(name) is None]


def _prog() -> str:
    """The name in usage lines: `python -m lab` in a checkout, or the installed `anycast-lab`."""
    return "python -m lab" if Path(sys.argv[0]).name == "__main__.py" else "anycast-lab"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_prog(),
        description="The seed's anycast DNS lab in network namespaces.",
        epilog="Every command takes --name NAME (default: default) to pick one of several labs; "
        f"{_prog()} COMMAND --help says more.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--name", default="default", help="which lab (default: %(default)s)")
        return sub

    up = command("up", "bring the lab up")
    mode_help = "python: minibgp + minidns on the servers; reference: FRR + PowerDNS, as the seed"
    up.add_argument(
        "--mode", choices=MODES, default="python", help=f"{mode_help} (default: python)"
    )
    up.add_argument(
        "--topology", type=Path, metavar="FILE",
        help="a topology file (default: lab/topologies/seed.toml); later commands need only --name",
    )  # fmt: skip
    up.set_defaults(handler=_up)
    command("down", "tear the lab down").set_defaults(handler=_down)
    command("status", "show nodes, daemons, BGP sessions and preferences").set_defaults(
        handler=_status
    )
    exec_ = command("exec", "run a command in a node's namespace: exec NODE -- CMD ...")
    exec_.add_argument("node", help="a node of the topology, e.g. client1")
    exec_.set_defaults(argv=[])
    exec_.set_defaults(handler=_exec)
    for name, help_text, handler in (
        ("halt", "switch a node off (daemons end, links down)", _halt),
        ("start", "switch a halted node on again", _start),
    ):
        sub = command(name, help_text)
        sub.add_argument("node", help="a node of the topology, e.g. server1")
        sub.set_defaults(handler=handler)
    demo = command("demo", "run the seed's scenarios, narrated and checked")
    demo.add_argument(
        "--mode", choices=(*MODES, "both"), default="both", help=f"{mode_help}; or both (default)"
    )
    demo.add_argument(
        "--topology", type=Path, metavar="FILE",
        help="check this topology instead: every client answered over each family, its site",
    )  # fmt: skip
    demo.set_defaults(handler=_demo, name="demo")
    failover = command(
        "failover",
        "fail a site in each way and measure each client's outage and the site it moves to: "
        "on a lab of --topology (the seed's by default) brought up for it, or on the running lab "
        "named by --name",
    )
    failover.add_argument(
        "--mode", choices=(*MODES, "both"),
        help=f"{mode_help}; or both (the default, for a lab brought up for it)",
    )  # fmt: skip
    failover.add_argument(
        "--topology", type=Path, metavar="FILE",
        help="bring a lab of this topology up (default: the running lab of --name if it is up, "
        "else lab/topologies/seed.toml)",
    )  # fmt: skip
    failover.add_argument(
        "--site", help="the site to fail (default: server1 in the seed, else the one that "
        "serves the most clients)",
    )  # fmt: skip
    failover.add_argument("--json", action="store_true", help="print the results as JSON")
    failover.add_argument("--png", type=Path, metavar="FILE", help="draw the timeline as a PNG")
    failover.add_argument(
        "--short", action="store_true", help="shorter observation windows (for the tests)"
    )
    failover.add_argument(
        "--failure",
        action="append",
        metavar="KEY",
        help="only this failure (repeatable): drain, speaker-stopped, dns-killed, host-hung, "
        "link-silent, link-down, halt",
    )
    failover.set_defaults(handler=_failover, name="failover")
    capture = command("capture", "tcpdump on a node's link (Ctrl-C to stop)")
    capture.add_argument("node", help="the node whose link to listen on, e.g. server1")
    capture.add_argument("--write", metavar="FILE.pcap", help="write a pcap file for Wireshark")
    capture.add_argument("--count", type=int, metavar="N", help="stop after N packets")
    capture.add_argument(
        "--interface", metavar="NAME", help="the link to listen on (default: the node's first)"
    )
    capture.add_argument(
        "--filter", help='a tcpdump filter, e.g. "udp port 53" (default: everything)'
    )
    capture.set_defaults(handler=_capture)
    catchment = command(
        "catchment",
        "which site each client reaches, by DNS (NSID) and by Verfploeter (pings from the sites); "
        "exit status 1 when the two disagree or a client is not served",
    )
    catchment.add_argument("--json", action="store_true", help="print the catchment as JSON")
    catchment.add_argument("--png", type=Path, metavar="FILE", help="draw the catchment as a PNG")
    catchment.add_argument(
        "--rounds", type=int, default=3, metavar="N",
        help="DNS queries per client and family (default: %(default)s)",
    )  # fmt: skip
    catchment.add_argument(
        "--timeout", type=float, default=1.0, metavar="S",
        help="seconds a query or echo request may take (default: %(default)s)",
    )  # fmt: skip
    catchment.set_defaults(handler=_catchment)
    te = command(
        "te",
        "traffic engineering: change what a site announces while the lab runs, and see the "
        "catchment before and after; exit status 1 when it did not settle or the two methods "
        "disagree afterwards",
    )
    te.add_argument("site", help="an anycast site of the topology, e.g. server1")
    te.add_argument(
        "action",
        choices=("prepend", "med", "community", "no-community", "withdraw", "announce", "restore"),
        metavar="ACTION",
        help="prepend N (0: none), med N|none, community C (e.g. no-export, 64500:1), "
        "no-community C, withdraw, announce (again, after withdraw), restore (as the topology "
        "file says)",
    )
    te.add_argument("value", nargs="?", help="N or C, for the actions that take one")
    te.add_argument("--json", action="store_true", help="print the result as JSON")
    te.add_argument(
        "--quiet", type=float, default=1.0, metavar="S",
        help="seconds without a client moving before the catchment counts as settled "
        "(default: %(default)s)",
    )  # fmt: skip
    te.add_argument(
        "--timeout", type=float, default=60.0, metavar="S",
        help="seconds to wait for the catchment to settle (default: %(default)s)",
    )  # fmt: skip
    te.set_defaults(handler=_te)
    ui = command("ui", "serve a live web page of the lab, with its actions")
    ui.add_argument("--port", type=int, default=8080, help="default: %(default)s (0: any free)")
    ui.add_argument(
        "--address", default="127.0.0.1", help="listen here (default: %(default)s, loopback only)"
    )
    ui.add_argument(
        "--probe-interval", type=float, metavar="S",
        help="seconds between each client's probe queries (default: 0.1, longer with many "
        "clients: at most 400 queries a second in all)",
    )  # fmt: skip
    ui.set_defaults(handler=_ui)
    generate = command("generate", "write a topology shaped like the Internet, of any size")
    generate.add_argument("--routers", type=int, default=100, help="default: %(default)s")
    generate.add_argument("--sites", type=int, default=6, help="default: %(default)s")
    generate.add_argument("--clients", type=int, help="default: one per enterprise network")
    generate.add_argument("--seed", type=int, default=1, help="default: %(default)s")
    generate.add_argument("--ipv4-only", action="store_true", help="no IPv6")
    generate.add_argument("--out", type=Path, metavar="FILE", help="default: standard output")
    generate.set_defaults(handler=_generate)
    render = command("render", "write the configs rendered from a topology")
    render.add_argument(
        "--topology", type=Path, metavar="FILE", help="default: lab/topologies/seed.toml"
    )
    render.add_argument("--node", help="the node whose files to write")
    render.add_argument(
        "--mode", choices=MODES, default="python", help=f"{mode_help} (default: python)"
    )
    render.add_argument("--out", type=Path, metavar="DIR", help="where to write --node's files")
    render.add_argument(
        "--run-dir",
        metavar="DIR",
        help="where the files will live when used, as written inside them (default: --out)",
    )
    render.set_defaults(handler=_render)
    return parser


def _lab(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from .lab import Lab
    from .topology import load

    topology = getattr(args, "topology", None)
    return Lab(args.name, load(topology) if topology is not None else None)


def _up(args: argparse.Namespace) -> int:
    import time

    lab = _lab(args)
    started = time.monotonic()
    if not lab.up(args.mode):
        print(f"lab {lab.name!r} is already up in {lab.mode} mode ({lab.topology.name})")
        return 0
    for warning in lab.warnings:
        print(f"lab: {warning}", file=sys.stderr)
    topology = lab.topology
    print(
        f"lab {lab.name!r} is up in {args.mode} mode: {topology.name}, {len(topology.nodes)} "
        f"nodes, converged in {time.monotonic() - started:.1f} s; "
        f"try: python -m lab status --name {lab.name}"
    )
    return 0


def _down(args: argparse.Namespace) -> int:
    removed = _lab(args).down()
    print(f"lab {args.name!r} is down" + (f" (removed {len(removed)} things)" if removed else ""))
    return 0


def _status(args: argparse.Namespace) -> int:
    from .status import format_status

    print(format_status(_lab(args)))
    return 0


def _exec(args: argparse.Namespace) -> int:
    argv: list[str] = args.argv
    if not argv:
        print("lab exec: give a command after --", file=sys.stderr)
        return 2
    command = _lab(args).exec_argv(args.node, argv)
    os.execvp(command[0], command)  # stdout, stderr and exit code are the command's own


def _halt(args: argparse.Namespace) -> int:
    stopped = _lab(args).halt(args.node)
    names = ", ".join(d.name for d in stopped) or "no daemons"
    print(f"{args.node} halted ({names} stopped, links down)")
    return 0


def _start(args: argparse.Namespace) -> int:
    started = _lab(args).start(args.node)
    names = ", ".join(f"{d.name} (pid {d.pid})" for d in started) or "no daemons"
    print(f"{args.node} started: links up, {names}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo, run_topology_demo
    from .topology import load

    modes = MODES if args.mode == "both" else (args.mode,)
    if args.topology is not None:
        return 0 if run_topology_demo(load(args.topology), modes, name=args.name) else 1
    return 0 if run_demo(modes, name=args.name) else 1


def _failover(args: argparse.Namespace) -> int:
    from .failover import (
        FAILURE_KEYS,
        FAILURES,
        markdown_table,
        results_json,
        run_failover,
        run_failover_on,
    )
    from .topology import load

    unknown = sorted(set(args.failure or []) - set(FAILURE_KEYS))
    if unknown:
        known = ", ".join(FAILURE_KEYS)
        print(f"lab failover: no failure {unknown[0]!r} ({known})", file=sys.stderr)
        return 2
    failures = [f for f in FAILURES if not args.failure or f.key in args.failure]
    progress = sys.stderr if args.json else sys.stdout

    def say(text: str) -> None:
        print(text, file=progress, flush=True)

    running = _lab(args)
    if args.topology is None and running.is_up():
        if args.mode not in (None, running.mode):
            print(f"lab failover: lab {running.name!r} is up in {running.mode} mode, not "
                  f"{args.mode}", file=sys.stderr)  # fmt: skip
            return 2
        say(f"on the running lab {running.name!r} ({running.topology.name}, {running.mode} mode)")
        results = run_failover_on(running, failures, args.short, say, args.site)
    else:
        modes = MODES if args.mode in (None, "both") else (args.mode,)
        topology = None if args.topology is None else load(args.topology)
        results = run_failover(
            modes, failures, args.short, args.name, say, topology=topology, site=args.site
        )
    if args.png:
        from .timeline import draw_timeline

        draw_timeline(results, args.png)
        say(f"timeline written to {args.png}")
    if args.json:
        print(results_json(results))
    else:
        print()
        print(markdown_table(results))
    missed = [r for r in results if r.target_met() is False]
    return 1 if missed else 0


def _capture(args: argparse.Namespace) -> int:
    from .capture import tcpdump_argv

    lab = _lab(args)
    argv = tcpdump_argv(
        lab.topology, args.node, args.interface, args.write, args.count,
        args.filter.split() if args.filter else [],
    )  # fmt: skip
    command = lab.exec_argv(args.node, argv)
    os.execvp(command[0], command)


def _catchment(args: argparse.Namespace) -> int:
    import json

    from .catchment import measure
    from .catchment.report import format_table

    if not 1 <= args.rounds <= 100 or not 0.01 <= args.timeout <= 10:
        print("lab catchment: --rounds 1 to 100, --timeout 0.01 to 10 seconds", file=sys.stderr)
        return 2
    lab = _lab(args)
    catchment = measure(lab, rounds=args.rounds, timeout=args.timeout)
    if args.json:
        print(json.dumps(catchment.to_json(), indent=2))
    else:
        print(format_table(catchment))
    if args.png:
        try:
            from .catchment.picture import draw_catchment
        except ImportError as error:
            print(f"lab catchment: {error.name} is missing: pip install 'anycast-bgp-dns[lab]'",
                  file=sys.stderr)  # fmt: skip
            return 1
        draw_catchment(catchment, lab.topology, args.png)
        print(f"picture written to {args.png}", file=sys.stderr if args.json else sys.stdout)
    return 0 if catchment.agree else 1


def _te(args: argparse.Namespace) -> int:
    import json

    from .te import TeAction, TeError, run_te
    from .te.report import format_result

    try:
        action = TeAction.parse([args.action, *([args.value] if args.value is not None else [])])
    except TeError as error:
        print(f"lab te: {error}", file=sys.stderr)
        return 2
    if not 0.1 <= args.quiet <= 600 or not 1 <= args.timeout <= 3600:
        print("lab te: --quiet 0.1 to 600 seconds, --timeout 1 to 3600", file=sys.stderr)
        return 2
    result = run_te(_lab(args), args.site, action, quiet=args.quiet, timeout=args.timeout)
    print(json.dumps(result.to_json(), indent=2) if args.json else format_result(result))
    return 0 if result.ok else 1


def _ui(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    try:
        from .ui.server import serve
    except ImportError as error:
        print(
            f"lab ui: {error.name} is missing: pip install 'anycast-bgp-dns[lab]'", file=sys.stderr
        )
        return 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.probe_interval is not None and not 0.01 <= args.probe_interval <= 10:
        print("lab ui: --probe-interval between 0.01 and 10 seconds", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(args.name, args.address, args.port, args.probe_interval))
    except OSError as error:
        print(f"lab ui: cannot listen on {args.address}:{args.port}: {error}", file=sys.stderr)
        return 1
    return 0


def _generate(args: argparse.Namespace) -> int:
    from .generate import generate
    from .topology import parse_text

    try:
        text = generate(args.routers, args.sites, args.clients, args.seed, not args.ipv4_only)
    except ValueError as error:
        print(f"lab generate: {error}", file=sys.stderr)
        return 2
    topology = parse_text(text, args.out or Path("generated.toml"))  # what `up` will check
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
        print(
            f"{args.out}: {len(topology.routers)} routers in {len(topology.ases())} ASes, "
            f"{len(topology.sites)} sites, {len(topology.clients)} clients, "
            f"{len(topology.links)} links"
        )
    return 0


def _render(args: argparse.Namespace) -> int:
    from .render import node_files
    from .topology import SEED_TOPOLOGY, load

    topology = load(args.topology or SEED_TOPOLOGY)
    if not args.node or not args.out:
        print("lab render: give --node and --out", file=sys.stderr)
        return 2
    run_dir = args.run_dir or str(args.out.resolve())
    node = topology.node(args.node)
    files = node_files(topology, node, args.mode, run_dir)
    if not files.files:
        print(
            f"lab render: {node.name} is a {node.role} and runs no daemon in {args.mode} mode: "
            "nothing to render",
            file=sys.stderr,
        )
        return 1
    for path in files.write(args.out):
        print(path)
    return 0
