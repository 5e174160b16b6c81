"""Response messages written from RRsets in wire form, names compressed (RFC 1035 §4.1.4).

An RRset to write is an `RRsetRef`: its owner, its TYPE, its number of records and its records
as a zone node holds them (`minidns.zone.model`: each record starts with a pointer to the
question's name). When the owner is the question's name (None) and no name in the RDATA is
compressed, those bytes go into the message as they are. Otherwise each record gets its owner
and, for the types RFC 1035 defines with names in their RDATA, those names compressed.

Compression is case-insensitive (RFC 4343 §4): a name that differs from an earlier one only
in case points at it, and so shows its case, as PowerDNS's answers do. Names are compressed
in the RDATA of NS, MD, MF, CNAME, SOA, MB, MG, MR, PTR and MX (RFC 3597 §4); never in the
others (SRV, RFC 2782; DNAME, RFC 6672 §2.5; RP, NAPTR, ...), whose names are not offered to
later names either.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from minidns.zone.model import OWNER_POINTER, RECORD_HEAD

HEADER_LENGTH = 12
POINTER_LIMIT = 0x4000  # a pointer has 14 bits
_HEADER_COUNTS = struct.Struct("!HHHHH")  # flags, QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT

RRsetRef = tuple[bytes | None, int, int, bytes]  # owner (None: the question's), TYPE, count,
# records

# RDATA layouts with compressed names (RFC 1035 §3.3): octets before the name(s), names.
ONE_NAME = frozenset((2, 3, 4, 5, 7, 8, 9, 12))  # NS, MD, MF, CNAME, MB, MG, MR, PTR
SOA = 6
MX = 15
COMPRESSED = ONE_NAME | {SOA, MX}


def name_end(wire: bytes, position: int = 0) -> int:
    """Where the uncompressed name at `position` ends."""
    while length := wire[position]:
        position += length + 1
    return position + 1


class MessageWriter:
    """The sections of one message, after a question of `question_length` octets whose first
    name, `question_key`, has its labels at `question_offsets` (None: no question)."""

    def __init__(
        self,
        question_length: int,
        question_key: bytes = b"",
        question_offsets: Sequence[int] = (),
        looked_up: set[bytes] | None = None,
    ) -> None:
        self.parts: list[bytes] = []
        self.offset = HEADER_LENGTH + question_length
        self._question_key = question_key
        self._question_offsets = question_offsets
        self._names: dict[bytes, int] | None = None  # name key -> where it is in the message
        self._looked_up = looked_up  # when given, every name key looked up goes in

    def rrsets(self, rrsets: list[RRsetRef]) -> int:
        """Write RRsets; the number of records written."""
        count = 0
        parts = self.parts
        for owner, rtype, records_count, records in rrsets:
            count += records_count
            compressed = rtype in COMPRESSED
            if owner is None and not compressed:
                parts.append(records)
                self.offset += len(records)
                continue
            owner_pointer = None if owner is None else b""  # b"": written with the first record
            position = 0
            while position < len(records):
                start = position + RECORD_HEAD
                end = start + int.from_bytes(records[start - 2 : start], "big")
                if owner_pointer is None:
                    parts.append(OWNER_POINTER)
                    self.offset += 2
                elif owner_pointer:
                    parts.append(owner_pointer)
                    self.offset += 2
                else:
                    assert owner is not None
                    owner_pointer = self.name(owner)
                if compressed:
                    parts.append(records[position + 2 : start - 2])  # TYPE, CLASS, TTL
                    self.offset += 8
                    self._compressed_rdata(rtype, records[start:end])
                else:
                    parts.append(records[position + 2 : end])
                    self.offset += end - position - 2
                position = end
        return count

    def raw(self, data: bytes) -> None:
        """Octets that need no compression (an OPT record)."""
        self.parts.append(data)
        self.offset += len(data)

    def name(self, wire: bytes) -> bytes:
        """Write a name, compressed against the names before it. Returns a pointer to the
        whole name, which the same name can be written as from now on, or b"" if there is
        none (the root, or a name past where pointers reach)."""
        names = self._names
        if names is None:
            names = self._question_names()
        folded = wire.lower()
        offset = self.offset
        position = 0
        while length := wire[position]:
            suffix = folded[position:]
            pointer = names.get(suffix)
            if pointer is not None:
                self.parts.append(wire[:position] + (0xC000 | pointer).to_bytes(2, "big"))
                self.offset = offset + position + 2
                break
            if offset + position < POINTER_LIMIT:
                names[suffix] = offset + position
            position += length + 1
        else:
            self.parts.append(wire[: position + 1])
            self.offset = offset + position + 1
        whole = names.get(folded)
        return b"" if whole is None else (0xC000 | whole).to_bytes(2, "big")

    def _question_names(self) -> dict[bytes, int]:
        key = self._question_key
        names = {key[at:]: HEADER_LENGTH + at for at in self._question_offsets}
        if self._looked_up is not None:
            names = _Recorder(names, self._looked_up)
        self._names = names
        return names

    def _compressed_rdata(self, rtype: int, rdata: bytes) -> None:
        length_at = len(self.parts)
        self.parts.append(b"")  # RDLENGTH, known once the RDATA is written
        self.offset += 2
        start = self.offset
        if rtype == MX:
            self.raw(rdata[:2])
            self.name(rdata[2:])
        elif rtype == SOA:
            second = name_end(rdata)
            self.name(rdata[:second])
            third = name_end(rdata, second)
            self.name(rdata[second:third])
            self.raw(rdata[third:])
        else:
            self.name(rdata)
        self.parts[length_at] = (self.offset - start).to_bytes(2, "big")

    def message(
        self, message_id: bytes, flags: int, counts: tuple[int, int, int, int], question: bytes
    ) -> bytes:
        """The whole message: the header, the question as given, and what was written."""
        header = message_id + _HEADER_COUNTS.pack(flags, *counts)
        return header + question + b"".join(self.parts)


class _Recorder(dict[bytes, int]):
    """The names of a message, noting each name looked up (for `minidns.templates`)."""

    def __init__(self, names: dict[bytes, int], looked_up: set[bytes]) -> None:
        super().__init__(names)
        self.looked_up = looked_up

    def get(self, key: bytes, default: int | None = None) -> int | None:  # type: ignore[override]
        self.looked_up.add(key)
        return super().get(key, default)
