"""Command line: run the speaker, or talk to a running one, or explain a message.

minibgp --config FILE runs the speaker; `minibgp COMMAND` (check, decode, show, announce,
withdraw, restore, drain, undrain) does the rest. `--help` of each, or docs/commands.md, says how.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from minibgp import systemd
from minibgp.config import (
    CONTROL_SOCKET_DIR,
    ConfigError,
    Listen,
    control_socket_path,
    load_config,
    metrics_address,
)
from minibgp.control import ControlError, request, request_steps
from minibgp.control.client import parse_line, request_lines
from minibgp.control.text import (
    render_announcement,
    render_announcements,
    render_checks,
    render_neighbors,
    routes_json_text,
    routes_text,
)
from minibgp.describe import explain_hex, parse_hex
from minibgp.router_id import default_router_id
from minibgp.wire.context import CodecContext

# The commands beside running the speaker, with their one-line help.
COMMANDS = {
    "check": "check a config file and print what it means",
    "decode": "explain one BGP message given in hex, field by field",
    "show": "ask a running speaker for its neighbors, routes, announcements or health checks",
    "announce": "announce a prefix, or change what it is announced with, while the speaker runs",
    "withdraw": "stop announcing a prefix, while the speaker runs",
    "restore": "undo the runtime changes of a prefix: announce it as the config says",
    "drain": "graceful drain (RFC 8326): announce with GRACEFUL_SHUTDOWN, wait, withdraw",
    "undrain": "announce the drained routes normally again",
}


def _prog() -> str:
    """The name in usage lines: `minibgp` (the console script) or `python -m minibgp`."""
    return "python -m minibgp" if Path(sys.argv[0]).name == "__main__.py" else "minibgp"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in COMMANDS:
        try:
            return _subcommand(args)
        except BrokenPipeError:  # `show routes | head`: the reader has gone, nothing is wrong
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # quiet exit flush
            return 1
    return _run(args)


# -- python -m minibgp --config FILE ------------------------------------------------------------


def _run(argv: list[str]) -> int:
    commands = "\n".join(f"  {name:<9} {text}" for name, text in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog=_prog(),
        description="A BGP-4 speaker (RFC 4271) that announces anycast prefixes to routers.",
        epilog=f"""\
commands ({_prog()} COMMAND --help for each):
{commands}

signals:
  SIGHUP   read the config again; announce or withdraw only the difference (a bad config is
           logged and the running one kept)
  SIGTERM  withdraw every route, Cease to every peer, exit (with drain_on_sigterm: drain first)
""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        required=True,
        type=Path,
        metavar="FILE",
        help="the TOML config: [speaker], [[peer]], [[announce]], [[check]] (docs/minibgp.md)",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="log every BGP message sent and received, decoded field by field",
    )
    parser.add_argument(
        "--metrics",
        type=_metrics_address,
        metavar="ADDR:PORT",
        help="serve Prometheus metrics at http://ADDR:PORT/metrics (default: the config's "
        "speaker.metrics, else off)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more (debug)")
    args = parser.parse_args(argv)
    _setup_logging(logging.DEBUG if args.verbose else logging.INFO)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    from minibgp.speaker import run_speaker

    try:
        return asyncio.run(run_speaker(args.config, trace=args.trace, metrics=args.metrics))
    except ConfigError as exc:
        logging.getLogger("minibgp").error("%s", exc)
        return 2
    except LookupError as exc:  # no router id to be found
        logging.getLogger("minibgp").error("%s", exc)
        return 2
    except OSError as exc:
        logging.getLogger("minibgp").error("cannot start: %s", exc)
        return 1


def _metrics_address(text: str) -> Listen:
    try:
        return metrics_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _setup_logging(level: int) -> None:
    logging.basicConfig(
        level=level,
        # the journal stamps each line with the time already
        format="%(levelname)-7s %(message)s"
        if systemd.stderr_is_journal()
        else "%(asctime)s %(levelname)-7s %(message)s",
        stream=sys.stderr,
    )


# -- subcommands ---------------------------------------------------------------------------------


def _subcommand(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=_prog())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, details: str = "") -> argparse.ArgumentParser:
        description = COMMANDS[name][0].upper() + COMMANDS[name][1:] + "." + details
        return sub.add_parser(
            name,
            help=COMMANDS[name],
            description=description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    check = command("check", "\nExit 2 with the file and the reason when it is not valid.")
    check.add_argument(
        "--config", required=True, type=Path, metavar="FILE", help="the config file to check"
    )

    decode = command(
        "decode",
        "\nEach field with the RFC section it comes from; malformed input ends with the"
        "\nNOTIFICATION it would get, and the exit status is 1.",
    )
    decode.add_argument(
        "hex",
        nargs="+",
        metavar="HEX",
        help="the whole message in hex, marker included (spaces allowed)",
    )
    decode.add_argument(
        "--two-octet-as",
        action="store_true",
        help="read AS numbers in UPDATEs as 2 octets (a session without RFC 6793)",
    )

    show = command("show")
    show.add_argument(
        "what",
        choices=("neighbors", "routes", "announcements", "checks"),
        metavar="WHAT",
        help="neighbors: one line per session, like vtysh; routes: received and advertised, "
        "per peer; announcements: each prefix, where it comes from, why it is (not) announced; "
        "checks: each health check, its last result, and the prefixes that depend on them",
    )
    show.add_argument("--json", action="store_true", help="print the speaker's answer as JSON")
    show.add_argument("--peer", metavar="ADDRESS", help="only this peer (neighbors, routes)")
    show.add_argument(
        "--prefix", metavar="PREFIX", help="routes: only this prefix and those inside it"
    )
    show.add_argument(
        "--limit", type=int, metavar="N", help="routes: at most N received and N advertised a peer"
    )

    announce = command(
        "announce",
        "\nEach option given replaces that attribute; the others stay as they are (for a new"
        "\nprefix: none). Only the difference is sent. Runtime changes last until the speaker"
        "\nstops or `restore` undoes them, and survive SIGHUP; health checks still decide.",
    )
    announce.add_argument("prefix", metavar="PREFIX", help="e.g. 169.254.0.1/32")
    announce.add_argument(
        "--prepend", type=int, metavar="N", help="our AS N extra times in the AS path (0..32)"
    )
    announce.add_argument("--med", metavar="N", help="MULTI_EXIT_DISC (0..4294967295), or none")
    announce.add_argument(
        "--community",
        action="append",
        dest="communities",
        metavar="C",
        help="ASN:VALUE or a well-known name such as no-export (repeatable: the whole list), "
        "or none",
    )
    announce.add_argument(
        "--large-community",
        action="append",
        dest="large_communities",
        metavar="C",
        help="GLOBAL:LOCAL1:LOCAL2 (repeatable: the whole list), or none",
    )
    announce.add_argument("--next-hop", metavar="ADDRESS", help="the next hop, or self")
    announce.add_argument(
        "--peer",
        action="append",
        dest="peers",
        metavar="ADDRESS",
        help="only to this peer (repeatable: the whole list), or all",
    )
    withdraw = command("withdraw", "\nUntil announce or restore; a SIGHUP keeps it withdrawn.")
    restore = command("restore", "\nA prefix added at runtime is withdrawn.")
    for runtime_command in (withdraw, restore):
        runtime_command.add_argument("prefix", metavar="PREFIX", help="e.g. 169.254.0.1/32")

    drain = command(
        "drain",
        "\nEvery route (or those chosen) is announced again with the GRACEFUL_SHUTDOWN community"
        "\n65535:0, so that the routers move traffic elsewhere while this server still answers;"
        "\nthen it is withdrawn. The sessions stay up. Prints each step as it happens.",
    )
    drain.add_argument(
        "--prefix",
        action="append",
        dest="prefixes",
        metavar="PREFIX",
        help="only this prefix (repeatable)",
    )
    drain.add_argument(
        "--peer",
        action="append",
        dest="peers",
        metavar="ADDRESS",
        help="only to this peer (repeatable)",
    )
    drain.add_argument(
        "--time",
        type=float,
        dest="drain_time",
        metavar="SECONDS",
        help="between the GRACEFUL_SHUTDOWN announcement and the withdraw "
        "(default: the config's speaker.drain_time; 0 withdraws at once)",
    )
    drain.add_argument(
        "--no-wait", action="store_true", help="return once the drain has begun, not withdrawn"
    )
    undrain = command("undrain")
    for speaker_command in (show, announce, withdraw, restore, drain, undrain):
        where = speaker_command.add_mutually_exclusive_group()
        where.add_argument(
            "--socket",
            type=Path,
            metavar="PATH",
            help=f"the speaker's control socket (default: the only one in {CONTROL_SOCKET_DIR})",
        )
        where.add_argument(
            "--config",
            type=Path,
            metavar="FILE",
            help="the speaker's config, which says where its control socket is",
        )

    args = parser.parse_args(argv)
    if args.command == "check":
        return _check(args.config)
    if args.command == "decode":
        return _decode(" ".join(args.hex), two_octet_as=args.two_octet_as)
    if args.command in ("drain", "undrain"):
        return _drain(args)
    if args.command in ("announce", "withdraw", "restore"):
        return _runtime(args)
    return _show(args)


def _check(path: Path) -> int:
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    router_id = config.speaker.router_id
    print(f"{path}: OK")
    print(f"  AS {config.speaker.asn}, router id {router_id or 'highest local IPv4 address'}")
    for peer in config.peers:
        extras = [
            "passive" if peer.passive else "",
            "TCP MD5" if peer.password else "",
            f"GTSM {peer.ttl_security} hop(s)" if peer.ttl_security else "",
            "BFD" if peer.bfd else "",
        ]
        extra = ", ".join(e for e in extras if e)
        print(f"  peer {peer.address} AS {peer.asn}" + (f" ({extra})" if extra else ""))
    speaker = config.speaker
    print(
        f"  drain: GRACEFUL_SHUTDOWN for {speaker.drain_time:g} s, then withdraw; "
        f"SIGTERM {'drains first' if speaker.drain_on_sigterm else 'withdraws at once'}"
    )
    for announcement in config.announcements:
        to = ", ".join(map(str, announcement.peers)) if announcement.peers else "every peer"
        checks = f" while {', '.join(announcement.checks)} pass" if announcement.checks else ""
        print(f"  announce {announcement.prefix} to {to}{checks}")
    return 0


def _decode(text: str, two_octet_as: bool) -> int:
    """0: the message is acceptable; 1: it calls for a NOTIFICATION; 2: it is not hex."""
    try:
        octets = parse_hex(text)
    except ValueError as exc:
        print(f"not hexadecimal: {exc}", file=sys.stderr)
        return 2
    if not octets:
        print("nothing to decode: give the message in hex", file=sys.stderr)
        return 2
    explanation = explain_hex(text, CodecContext(four_octet_as=not two_octet_as))
    print(explanation.text)
    return 0 if explanation.answer is None else 1


def _control_socket(args: argparse.Namespace) -> Path:
    if args.socket is not None:
        return Path(args.socket)
    if args.config is not None:
        config = load_config(args.config)
        return control_socket_path(config, config.speaker.router_id or default_router_id())
    sockets = sorted(CONTROL_SOCKET_DIR.glob("*.sock")) if CONTROL_SOCKET_DIR.is_dir() else []
    if len(sockets) == 1:
        return sockets[0]
    found = f" (found {len(sockets)} in {CONTROL_SOCKET_DIR})" if sockets else ""
    raise ControlError(f"which speaker? give --socket PATH or --config FILE{found}")


def _drain(args: argparse.Namespace) -> int:
    """drain: print each step as the speaker reports it; undrain: the neighbors after."""
    try:
        path = _control_socket(args)
        if args.command == "undrain":
            print(render_neighbors(request(path, "undrain")))
            return 0
        arguments = {
            key: value
            for key, value in (
                ("prefixes", args.prefixes),
                ("peers", args.peers),
                ("drain_time", args.drain_time),
            )
            if value is not None
        }
        for step in request_steps(path, "drain", None, wait=not args.no_wait, **arguments):
            print(_drain_step_text(step), flush=True)
            if step.get("final") and "neighbors" in step:
                print(render_neighbors(step))
    except (ControlError, ConfigError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _drain_step_text(step: dict[str, Any]) -> str:
    drain = step["drain"]
    elapsed = f"{drain['seconds_since_start']:.3f} s"
    if step["step"] == "graceful-shutdown":
        return (
            f"graceful shutdown: announced with GRACEFUL_SHUTDOWN (65535:0); "
            f"withdrawing in {drain['drain_time']:g} s"
        )
    if step["step"] == "withdrawn":
        return f"withdrawn after {elapsed}"
    return f"undrained after {elapsed} (python -m minibgp undrain), routes announced again"


def _show(args: argparse.Namespace) -> int:
    filters = {"peer": args.peer, "prefix": args.prefix, "limit": args.limit}
    arguments = {key: value for key, value in filters.items() if value is not None}
    try:
        path = _control_socket(args)
        if args.what == "routes":
            # As it comes, a line at a time: a full table is never held here either.
            lines = request_lines(path, "show routes", **arguments)
            parse = functools.partial(parse_line, path)
            if args.json:
                out = routes_json_text(lines, parse)
            else:
                out = (f"{text}\n" for text in routes_text(lines, parse))
            for text in out:
                sys.stdout.write(text)
            return 0
        answer = request(path, f"show {args.what}", **arguments)
    except (ControlError, ConfigError) as exc:
        sys.stdout.flush()
        print(exc, file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(answer, indent=2))
    elif args.what == "neighbors":
        print(render_neighbors(answer))
    elif args.what == "checks":
        print(render_checks(answer))
    else:
        print(render_announcements(answer))
    return 0


def _runtime(args: argparse.Namespace) -> int:
    """announce, withdraw, restore: print the announcement as the speaker now has it."""
    try:
        arguments = _announce_arguments(args) if args.command == "announce" else {}
        path = _control_socket(args)
        answer = request(path, args.command, prefix=args.prefix, **arguments)
    except (ControlError, ConfigError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    if "warning" in answer:
        print(f"warning: {answer['warning']}", file=sys.stderr)
    print(render_announcement(answer))
    return 0


def _announce_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The `announce` request's arguments from the options given (none: nothing changes)."""
    arguments: dict[str, Any] = {}
    if args.prepend is not None:
        arguments["as_path_prepend"] = args.prepend
    if args.med is not None:
        if args.med != "none" and not args.med.isdigit():
            raise ValueError(f"--med: {args.med!r} is not a number (or none)")
        arguments["med"] = None if args.med == "none" else int(args.med)
    for key in ("communities", "large_communities"):
        values = getattr(args, key)
        if values is not None:
            arguments[key] = [] if values == ["none"] else values
    if args.next_hop is not None:
        arguments["next_hop"] = None if args.next_hop == "self" else args.next_hop
    if args.peers is not None:
        arguments["peers"] = None if args.peers == ["all"] else args.peers
    return arguments
