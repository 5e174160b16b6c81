"""PowerDNS's regression zones as the comparisons give them to both servers.

The corpus keeps records that break rules minidns checks at load, as named-checkzone does, while
PowerDNS serves them: a wildcard owning both a CNAME and an A (example.com, kept there to test
what PowerDNS answers with such data) and a TXT string of 340 octets (test.com, test.dyndns,
addzone.com). Both servers get copies without the A, and with the string written as the
255-octet strings PowerDNS cuts it into. `tests/minidns/test_zone_checks.py` checks that
minidns and named-checkzone refuse the files as they are.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ZONES = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpora" / "pdns-regression"
ZONES = ZONES / "zones"

MAX_STRING = 255  # RFC 1035 §3.3
# The A beside the CNAME of *.mixed-wc.example.com.
MIXED_WILDCARD_A = re.compile(r"^\*\.mixed-wc\s+IN\s+A\s.*$", re.MULTILINE)
QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def split_long_strings(text: str) -> str:
    """Quoted strings over 255 octets (without escapes) as several strings of 255 at most."""

    def split(match: re.Match[str]) -> str:
        string = match.group(1)
        if len(string.encode()) <= MAX_STRING or "\\" in string:
            return match.group()
        pieces = [string[i : i + MAX_STRING] for i in range(0, len(string), MAX_STRING)]
        return " ".join(f'"{piece}"' for piece in pieces)

    return QUOTED.sub(split, text)


def make_loadable(zones: Path) -> None:
    """Rewrite the corpus copy in `zones` as described above."""
    example = zones / "example.com"
    example.write_text(
        MIXED_WILDCARD_A.sub("; *.mixed-wc A left out: a CNAME is there", example.read_text())
    )
    for path in zones.iterdir():
        if path.is_file():
            text = path.read_text(errors="surrogateescape")
            fixed = split_long_strings(text)
            if fixed != text:
                path.write_text(fixed, errors="surrogateescape")


def loadable_copy(target: Path) -> Path:
    """A copy of the corpus's zone files in `target` (``.orig`` files under their served
    names), made loadable as above."""
    target.mkdir(parents=True, exist_ok=True)
    for path in ZONES.iterdir():
        if path.is_file() and not path.name.startswith("."):
            shutil.copyfile(path, target / path.name.removesuffix(".orig"))
    make_loadable(target)
    return target
