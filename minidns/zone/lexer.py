"""Splits master-file text into entries: one directive or record each (RFC 1035 §5.1).

An entry is the tokens of one line, or of several lines when parentheses are open. Comments
(``;`` to the end of the line) and the parentheses themselves are dropped. A token keeps its
escapes and, for a quoted string, its quotes: what a token means (name, string, number) is for
the reader of the entry to decide. ``key="value"`` (RFC 9460 §2.1) is one token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
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
SPECIAL = frozenset('"();\\')
_OUTSIDE = frozenset("();")  # special outside a quoted string


@dataclass(slots=True)
class Entry:
    """The tokens of one directive or record, and where it starts."""

    line: int
    owner_omitted: bool  # RFC 1035 §5.1: a blank first column means "the previous owner"
    tokens: list[str]


def entries(lines: Iterable[str] | str, path: str) -> Iterator[Entry]:
    """The entries of a master file (its text, or its lines), in order; raises ZoneError on a
    lexical error."""
    lexer = Lexer(path)
    for number, line in enumerate(lines.split("\n") if isinstance(lines, str) else lines, 1):
        entry = lexer.feed(number, line)
        if entry is not None:
            yield entry
    lexer.close()


class Lexer:
    """Lines in, entries out: `feed` gives each entry on its last line."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.entry: Entry | None = None  # an entry that parentheses keep open
        self.depth = 0

    def feed(self, number: int, line: str) -> Entry | None:
        """The entry that ends on line `number`, if one does."""
        entry = self.entry
        if entry is None:
            entry = Entry(number, line[:1] in (" ", "\t"), [])
        if self.depth == 0 and (tokens := plain_tokens(line)) is not None:
            entry.tokens += tokens
        elif SPECIAL.isdisjoint(line):
            entry.tokens += line.split()
        else:
            self.depth = _scan(line, entry.tokens, self.depth, self.path, number)
        if self.depth:
            self.entry = entry
            return None
        self.entry = None
        return entry if entry.tokens else None

    def close(self) -> None:
        """The end of the file: an entry still open is an error."""
        if self.entry is not None:
            raise ZoneError(
                self.path, self.entry.line, "unbalanced parentheses: '(' is never closed"
            )


def plain_tokens(line: str) -> list[str] | None:
    """The tokens of a line that is a whole entry by itself and needs no scanner: no
    parentheses, comment or escape, and at most one quoted string, as its last token (a TXT
    record's usual line). None for any other line."""
    if SPECIAL.isdisjoint(line):
        return line.split()
    first = line.find('"')
    last = line.rfind('"')
    if last == first or line.find('"', first + 1) != last or not line[first - 1 : first].isspace():
        return None
    if line[last + 1 :].strip() or "\\" in line or not _OUTSIDE.isdisjoint(line):
        return None
    return [*line[:first].split(), line[first : last + 1]]


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
