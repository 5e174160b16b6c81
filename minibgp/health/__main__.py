"""`python -m minibgp.health --config server1.toml`: run a config's health checks on their own.

Useful to tune a check before the speaker uses it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time
from pathlib import Path

from minibgp.config_file import ConfigError, error_at, parse_toml, read_text
from minibgp.health.checks import Check
from minibgp.health.config import HealthConfigError, parse_announce_checks, parse_checks
from minibgp.health.runner import HealthMonitor

EPILOG = """\
example:
  python -m minibgp.health --config /etc/minibgp/minibgp.toml

output, one JSON object per change on standard output (failures are logged on standard error):
  {"time": UNIX_TIME, "prefix": "169.254.0.1/32", "up": true}
  {"time": UNIX_TIME, "prefix": "169.254.0.1/32", "up": false}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m minibgp.health",
        description="Run a minibgp config's health checks as the speaker would; print each change.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        required=True,
        type=Path,
        metavar="FILE",
        help="the speaker's TOML file: its [[check]] tables and each [[announce]]'s checks",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log every failed probe (debug)"
    )
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(message)s")
    try:
        checks, prefixes = _read_checks(args.config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    asyncio.run(_run(HealthMonitor(list(checks.values()), prefixes, _print_change)))
    return 0


def _read_checks(path: Path) -> tuple[dict[str, Check], dict[str, tuple[str, ...]]]:
    """The [[check]]s of a config, and the checks of each announced prefix."""
    text = read_text(path)
    document = parse_toml(text, str(path))
    announce = document.get("announce", [])
    try:
        checks = parse_checks(document.get("check", []))
        if not isinstance(announce, list) or not all(isinstance(t, dict) for t in announce):
            raise HealthConfigError("announce", "must be an array of tables ([[announce]])")
        prefixes = {
            str(table.get("prefix")): parse_announce_checks(
                table.get("checks", []), f"announce[{index}].checks", checks
            )
            for index, table in enumerate(announce)
        }
    except HealthConfigError as error:
        raise error_at(str(path), text, error.key, error.reason) from None
    return checks, prefixes


def _print_change(prefix: str, up: bool) -> None:
    print(json.dumps({"time": time.time(), "prefix": prefix, "up": up}), flush=True)


async def _run(monitor: HealthMonitor) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    monitor.start()
    try:
        await stop.wait()
    finally:
        await monitor.close()


if __name__ == "__main__":
    sys.exit(main())
