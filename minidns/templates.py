"""Packed answers shared by every name below the same closest encloser or zone cut.

For a name that does not exist (RFC 1034 §4.3.2 step 3c: NXDOMAIN, or records synthesized from
a wildcard, RFC 4592) the records of the answer depend only on the closest encloser, and for a
name at or below a zone cut (step 3b: a referral) only on the cut: never on the labels below
that *anchor*. Their packed form depends on those labels only through name compression, and
`minidns.writer` records every name it looks up while it compresses. So once a response has
been packed, its sections are a template for any other query of the same type whose name has
as many octets below the same anchor (every name from the anchor up is then at the same place
in the message), provided that no name below the anchor in that question is one the writer
looked up: then the writer would have written the very same octets. A hit copies the
template after the query's question, with the query's ID, RD and CD, and its OPT record.
(Records synthesized from a wildcard that need no compression and call for nothing more do
not even need a template: `answer.plain_rrset`.)

The check is made for every query, the one a template is made from included, and nothing is
remembered about a query that fails it, so no query can keep another from a template. Never-
repeated names under a wildcard, below a delegation or in an NXDOMAIN flood cost a descent of
the zone tree and a dict lookup.

The templates of one generation of zones take at most `max_bytes` (estimated as the answer
cache does); when the next would not fit, they are all dropped and made again.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from minidns.answer import AA, CD, NO_NAME_MATCH, OPCODE_BITS, QR, RD, REFERRAL_MATCH, Location
from minidns.query import HEADER_LENGTH, Query
from minidns.zone.model import NameKey

TEMPLATE_OVERHEAD = 400  # the dict slot, the Template, its bytes and its set of names
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
_COUNTS = struct.Struct("!HHH")
_HEADER = struct.Struct("!HHHHH")  # flags and the four counts
FLAG_BITS = AA | 0x000F  # what a template sets in the header: AA and RCODE

ShapeKey = tuple[NameKey, NameKey, int, int]  # zone, anchor, QTYPE, octets below the anchor


# Where a query's name stands: the template key, and the query's own names below the anchor.
Shape = tuple[ShapeKey, list[NameKey]]


@dataclass(frozen=True, slots=True)
class Template:
    """The sections of a response, for every query of one shape."""

    flags: int  # AA and RCODE
    counts: tuple[int, int, int]  # ANCOUNT, NSCOUNT, ARCOUNT (the OPT record not counted)
    sections: bytes
    looked_up: frozenset[NameKey]  # every name the writer looked up


class Templates:
    """Templates by shape (see the module's docstring), of one generation of zones."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._templates: dict[ShapeKey, Template] = {}

    def __len__(self) -> int:
        return len(self._templates)

    @staticmethod
    def shape(query: Query, location: Location) -> Shape | None:
        """The shape of a query whose name stands at `location` (`answer.locate`), or None
        when its answer is not the same for its neighbours."""
        zone, match, at, _ = location
        if match is not NO_NAME_MATCH and match is not REFERRAL_MATCH:
            return None
        key = query.key
        below = []
        for offset in query.offsets:
            if offset >= at:
                break
            below.append(key[offset:])
        return (zone.origin_key, key[at:], query.qtype, at), below

    def respond(self, shape: Shape, query: Query, opt: bytes | None) -> bytes | None:
        """The response from the template of `shape`, or None."""
        key, below = shape
        template = self._templates.get(key)
        if template is None or not template.looked_up.isdisjoint(below):
            return None
        wire = query.wire
        flags = QR | (query.flags & (OPCODE_BITS | RD | CD)) | template.flags
        answers, authority, additional = template.counts
        if opt is not None:
            additional += 1
        header = _HEADER.pack(flags, 1, answers, authority, additional)
        question = wire[HEADER_LENGTH : query.question_end]
        return b"".join((wire[:2], header, question, template.sections, opt or b""))

    def learn(
        self, shape: Shape, query: Query, packed: bytes, opt: bytes | None, looked_up: set[NameKey]
    ) -> None:
        """Keep the sections of a response just packed, if the query's own names below the
        anchor played no part in them."""
        key, below = shape
        if not looked_up.isdisjoint(below) or key in self._templates:
            return
        answers, authority, additional = _COUNTS.unpack_from(packed, 6)
        end = len(packed)
        if opt is not None:
            end -= len(opt)
            additional -= 1
        sections = packed[query.question_end : end]
        flags = int.from_bytes(packed[2:4], "big") & FLAG_BITS
        cost = TEMPLATE_OVERHEAD + len(sections) + sum(len(name) + 60 for name in looked_up)
        if self.size + cost > self.max_bytes:
            self.clear()
            if cost > self.max_bytes:
                return
        counts = (answers, authority, additional)
        self._templates[key] = Template(flags, counts, sections, frozenset(looked_up))
        self.size += cost

    def clear(self) -> None:
        self._templates.clear()
        self.size = 0
