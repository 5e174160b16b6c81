"""The kinds of bad input minidns meets on its query path, what each gets, and their counts.

Every query that is dropped, or answered FORMERR or SERVFAIL because of what it holds, is
counted here by kind: `BadInputCounts.totals` is what metrics read. The log gets at most one
line per kind per report (the shell asks for a report every few seconds), never a traceback,
so a flood of bad packets costs the log a few lines.
"""

from __future__ import annotations

import threading
from enum import Enum

SAMPLE_OCTETS = 48  # of the last bad message of each kind, shown in hex in the log


class BadInput(Enum):
    """A kind of bad input: what was wrong, and what the query got."""

    SHORT = ("fewer octets than a DNS header", "dropped")
    RESPONSE = ("a response (QR=1), not a query", "dropped")
    TRUNCATED = ("cut short inside a field", "FORMERR")
    QUESTION_COUNT = ("not exactly one question (RFC 9619)", "FORMERR")
    LABEL_TYPE = ("an extended or reserved label type (RFC 6891 §5)", "FORMERR")
    NAME_TOO_LONG = ("a name longer than 255 octets (RFC 1035 §2.3.4)", "FORMERR")
    BAD_POINTER = ("a compression pointer not to an earlier name (RFC 1035 §4.1.4)", "FORMERR")
    BAD_OPT = ("a malformed EDNS OPT record (RFC 6891 §6.1)", "FORMERR")
    UNANSWERABLE = ("an answer that could not be built", "SERVFAIL")
    INTERNAL_ERROR = ("an error inside minidns", "no answer")

    def __init__(self, description: str, outcome: str) -> None:
        self.description = description
        self.outcome = outcome


class BadInputCounts:
    """How many messages of each kind of bad input were seen, and a sample of each.

    Safe to call from several threads (the UDP receive threads and the event loop).
    """

    def __init__(self) -> None:
        self.totals: dict[BadInput, int] = dict.fromkeys(BadInput, 0)
        self._reported: dict[BadInput, int] = dict.fromkeys(BadInput, 0)
        self._samples: dict[BadInput, tuple[bytes, str]] = {}
        self._lock = threading.Lock()

    def add(self, kind: BadInput, message: bytes, detail: str = "") -> None:
        """Count one message of `kind`; `detail` says more (e.g. the error raised)."""
        with self._lock:
            self.totals[kind] += 1
            self._samples[kind] = (message[:SAMPLE_OCTETS], detail)

    def add_error(
        self, kind: BadInput, message: bytes, error: BaseException, client: str = ""
    ) -> None:
        """Count one message of `kind` (from `client`, if known) that raised `error`."""
        detail = f"{type(error).__name__}: {error}"
        self.add(kind, message, f"from {client}, {detail}" if client else detail)

    def report(self) -> list[str]:
        """One line per kind seen since the last report."""
        lines = []
        with self._lock:
            for kind, total in self.totals.items():
                new = total - self._reported[kind]
                if not new:
                    continue
                self._reported[kind] = total
                sample, detail = self._samples[kind]
                noun = "message" if new == 1 else "messages"
                line = f"bad input, {new} {noun}: {kind.description} -> {kind.outcome}"
                if detail:
                    line += f" ({detail})"
                lines.append(f"{line}; the last began {sample.hex()}")
        return lines
