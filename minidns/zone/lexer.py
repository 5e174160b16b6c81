"""Splits master-file text into entries: one directive or record each (RFC 1035 §5.1).

An entry is the tokens of one line, or of several lines when parentheses are open. Comments
(``;`` to the end of the line) and the parentheses themselves are dropped. A token keeps its
escapes and, for a quoted string, its quotes: what a token means (name, string, number) is for
the reader of the entry to decide. ``key="value"`` (RFC 9460 §2.1) is one token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import ZoneError

_TOKEN = re.compile(
    r"""
      (?P<blank>[ \t\r\f\v]+)
    | (?P<comment>;.*)
    | (?P<open>\()
    | (?P<close>\))
    | (?P<token>
          (?:[^\s"();\\]|\\[^\n])+ (?:(?<==)"(?:[^"\\\n]|\\[^\n])*")?
        | "(?:[^"\\\n]|\\[^\n])*"
      )
    | (?P<bad>["\\])
    """,
    re.VERBOSE,
)
_SPECIAL = frozenset('"();\\')


@dataclass(slots=True)
class Entry:
    """The tokens of one directive or record, and where it starts."""

    line: int
    owner_omitted: bool  # RFC 1035 §5.1: a blank first column means "the previous owner"
    tokens: list[str]


def entries(text: str, path: str) -> Iterator[Entry]:
    """The entries of a master file, in order; raises ZoneError on a lexical error."""
    entry: Entry | None = None
    depth = 0
    for number, line in enumerate(text.split("\n"), 1):
        if entry is None:
            entry = Entry(number, line[:1] in (" ", "\t"), [])
        if _SPECIAL.isdisjoint(line):
            entry.tokens += line.split()
        else:
            depth = _scan(line, entry.tokens, depth, path, number)
        if depth == 0:
            if entry.tokens:
                yield entry
            entry = None
    if depth:
        assert entry is not None
        raise ZoneError(path, entry.line, "unbalanced parentheses: '(' is never closed")


def _scan(line: str, tokens: list[str], depth: int, path: str, number: int) -> int:
    """Add one line's tokens to `tokens`; return the parenthesis depth after it."""
    for match in _TOKEN.finditer(line):
        kind = match.lastgroup
        if kind == "token":
            tokens.append(match.group())
        elif kind == "open":
            depth += 1
        elif kind == "close":
            if depth == 0:
                raise ZoneError(path, number, "unbalanced parentheses: ')' without '('")
            depth -= 1
        elif kind == "bad":
            what = "unterminated quoted string" if match.group() == '"' else "\\ at end of line"
            raise ZoneError(path, number, what)
    return depth
