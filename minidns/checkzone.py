"""`python -m minidns check-zone FILE [--origin ORIGIN]`: what minidns thinks of a zone file.

Like named-checkzone and pdnsutil check-zone: every error (a record that does not read, a rule
a zone breaks: CNAME and other data, ...) and every warning, each as ``file:line: error:`` or
``warning:``, then a summary line; the exit code is 1 when there is an error, 0 otherwise.
Reading goes on past a bad record, so one run lists them all.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from minidns.zone.checks import ZoneReport
from minidns.zone.errors import ZoneError
from minidns.zone.masterfile import load_master_file

_FIRST_ORIGIN = re.compile(r"^\$ORIGIN[ \t]+(\S+)", re.IGNORECASE | re.MULTILINE)


def default_origin(path: Path) -> str:
    """The zone's origin when none is given: the file's first ``$ORIGIN``, else its name
    without ``.zone`` or ``.db`` (and without a ``db.`` in front)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            head = file.read(65536)
    except OSError:
        head = ""
    match = _FIRST_ORIGIN.search(head)
    if match:
        return match.group(1)
    name = path.name.removeprefix("db.")
    for suffix in (".zone", ".db"):
        name = name.removesuffix(suffix)
    return name


def check_zone(path: Path, origin: str) -> tuple[ZoneReport, str]:
    """The errors and warnings of a zone file, and the summary line."""
    report = ZoneReport(check=True)
    try:
        zone = load_master_file(path, origin, report)
    except ZoneError as error:  # the file cannot be read at all, or the origin is bad
        report.errors.append(error)
        return report, f"zone {origin}: not loaded"
    records = sum(len(rrset.rdatas) for rrset in zone.rrsets())
    errors = _count(len(report.errors), "error")
    warnings = _count(len(report.warnings), "warning")
    return report, f"zone {zone.origin}: {_count(records, 'record')}, {errors}, {warnings}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number:,} {noun}s"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m minidns check-zone",
        description="List the errors and warnings of an RFC 1035 zone file, as minidns reads it "
        "(exit code 1 when there is an error).",
    )
    parser.add_argument("file", type=Path, help="the zone file")
    parser.add_argument(
        "--origin",
        help="the zone's name (default: the file's first $ORIGIN, else its name without .zone)",
    )
    args = parser.parse_args(argv)
    origin = args.origin or default_origin(args.file)
    report, summary = check_zone(args.file, origin)
    found = [(e.path, e.line, "error", e.reason) for e in report.errors]
    found += [(w.path, w.line, "warning", w.reason) for w in report.warnings]
    for path, line, kind, reason in sorted(found, key=lambda item: (item[0], item[1])):
        print(f"{path}:{line}: {kind}: {reason}" if line else f"{path}: {kind}: {reason}")
    print(summary)
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
