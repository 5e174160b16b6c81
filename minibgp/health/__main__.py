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
import tomllib
from pathlib import Path

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
        document = tomllib.loads(args.config.read_text())
        checks = parse_checks(document.get("check", []))
        prefixes = {
            str(table.get("prefix")): parse_announce_checks(
                table.get("checks", []), f"announce[{index}].checks", checks
            )
            for index, table in enumerate(document.get("announce", []))
        }
    except (OSError, tomllib.TOMLDecodeError, HealthConfigError) as error:
        print(f"{args.config}: {error}", file=sys.stderr)
        return 2
    asyncio.run(_run(HealthMonitor(list(checks.values()), prefixes, _print_change)))
    return 0


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
