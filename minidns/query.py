"""Reading a query message (RFC 1035 §4.1) into what `minidns.answer` reads, or saying why not.

Read: the header, the question and the OPT record (RFC 6891). The other records of the
answer, authority and additional sections are framed (their names checked, their RDATA
skipped) but not kept: an authoritative server has no use for them. Labels are octets
(RFC 2181 §11): any octet is accepted in a label, as on the wire.

Whatever cannot be read raises :class:`MalformedQuery`, with the kind of bad input and, when
the question was read, its wire form, for a FORMERR that repeats it. The work is linear in the
length of the message: the question's name is the message's first, so no pointer may appear in
it (a pointer refers to an earlier name, RFC 1035 §4.1.4), and the names of other records are
skipped, their pointers checked but never followed.
"""

from __future__ import annotations

from dataclasses import dataclass

from dnslib import OPCODE, QTYPE, RR, DNSHeader, DNSLabel, DNSQuestion, DNSRecord

from minidns.badinput import BadInput
from minidns.edns import EdnsFormatError, parse_options

HEADER_LENGTH = 12
QR_BIT = 0x80  # in the third octet of the header (RFC 1035 §4.1.1)
MAX_NAME_LENGTH = 255  # RFC 1035 §2.3.4, in octets on the wire
POINTER = 0xC0  # RFC 1035 §4.1.4: the two high bits of a label-length octet
LABEL_TYPE_BITS = 0xC0  # 0b01 (extended, RFC 6891 §5) and 0b10 (reserved) are neither
FIXED_RR_FIELDS = 10  # TYPE, CLASS, TTL, RDLENGTH (RFC 1035 §4.1.3)
QUESTION_FIELDS = 4  # QTYPE, QCLASS (RFC 1035 §4.1.2)
# Opcodes whose messages have one question (RFC 9619; RFC 1996 §3.7 NOTIFY; RFC 2136 §2.3 UPDATE)
ONE_QUESTION_OPCODES = frozenset((OPCODE.QUERY, OPCODE.NOTIFY, OPCODE.UPDATE))


class MalformedQuery(Exception):
    """A message that cannot be read as a query: its kind, and its question if it was read."""

    def __init__(self, kind: BadInput, question: bytes = b"") -> None:
        super().__init__(kind.description)
        self.kind = kind
        self.question = question


@dataclass(frozen=True)
class Query:
    """A query as read: the message for `minidns.answer`, and its question section's wire form
    (names uncompressed, as a response repeats it)."""

    message: DNSRecord
    question: bytes


def read_query(wire: bytes) -> Query:
    """The query in `wire`, which is at least a header long and has QR=0."""
    header = _header(wire)
    opcode = (header.bitmap >> 11) & 0xF
    count = header.q
    if count > 1 or (count == 0 and opcode == OPCODE.QUERY):
        raise MalformedQuery(BadInput.QUESTION_COUNT)
    position = HEADER_LENGTH
    questions = []
    if count:
        labels, position = _read_name(wire, position)
        end = position + QUESTION_FIELDS
        if end > len(wire):
            raise MalformedQuery(BadInput.TRUNCATED)
        qtype = int.from_bytes(wire[position : position + 2], "big")
        qclass = int.from_bytes(wire[position + 2 : end], "big")
        questions.append(DNSQuestion(DNSLabel(labels), qtype, qclass))
        position = end
    question = wire[HEADER_LENGTH:position]
    try:
        _, position = _skip_records(wire, position, header.a + header.auth, additional=False)
        opts, position = _skip_records(wire, position, header.ar, additional=True)
        if len(opts) > 1:  # RFC 6891 §6.1.1: at most one OPT
            raise MalformedQuery(BadInput.BAD_OPT)
    except MalformedQuery as error:
        raise MalformedQuery(error.kind, question) from None
    message = DNSRecord(header, questions, ar=opts)
    return Query(message, question)


def _header(wire: bytes) -> DNSHeader:
    fields = [int.from_bytes(wire[i : i + 2], "big") for i in range(0, HEADER_LENGTH, 2)]
    return DNSHeader(*fields)


def _read_name(wire: bytes, position: int) -> tuple[tuple[bytes, ...], int]:
    """The labels of the uncompressed name at `position`, and where it ends."""
    labels: list[bytes] = []
    length = 1  # the root label's length octet
    end = len(wire)
    while True:
        if position >= end:
            raise MalformedQuery(BadInput.TRUNCATED)
        octet = wire[position]
        if octet == 0:
            return tuple(labels), position + 1
        if octet & LABEL_TYPE_BITS == POINTER:
            raise MalformedQuery(BadInput.BAD_POINTER)  # no earlier name to point at
        if octet & LABEL_TYPE_BITS:
            raise MalformedQuery(BadInput.LABEL_TYPE)
        length += 1 + octet
        if length > MAX_NAME_LENGTH:
            raise MalformedQuery(BadInput.NAME_TOO_LONG)
        start = position + 1
        position = start + octet
        if position > end:
            raise MalformedQuery(BadInput.TRUNCATED)
        labels.append(bytes(wire[start:position]))


def _skip_name(wire: bytes, position: int) -> int:
    """Where the name at `position` ends; its pointer, if any, checked but not followed."""
    name_start = position
    length = 1
    end = len(wire)
    while True:
        if position >= end:
            raise MalformedQuery(BadInput.TRUNCATED)
        octet = wire[position]
        if octet == 0:
            return position + 1
        if octet & LABEL_TYPE_BITS == POINTER:
            if position + 2 > end:
                raise MalformedQuery(BadInput.TRUNCATED)
            target = ((octet & 0x3F) << 8) | wire[position + 1]
            if not HEADER_LENGTH <= target < name_start:  # RFC 1035 §4.1.4: a prior name
                raise MalformedQuery(BadInput.BAD_POINTER)
            return position + 2
        if octet & LABEL_TYPE_BITS:
            raise MalformedQuery(BadInput.LABEL_TYPE)
        length += 1 + octet
        if length > MAX_NAME_LENGTH:
            raise MalformedQuery(BadInput.NAME_TOO_LONG)
        position += 1 + octet


def _skip_records(
    wire: bytes, position: int, count: int, *, additional: bool
) -> tuple[list[RR], int]:
    """The OPT records among the next `count` records, and where the records end.

    Only the additional section's OPT records are read (RFC 6891 §6.1.1); others are skipped.
    """
    opts = []
    for _ in range(count):
        owner = position
        position = _skip_name(wire, position)
        rdata_start = position + FIXED_RR_FIELDS
        if rdata_start > len(wire):
            raise MalformedQuery(BadInput.TRUNCATED)
        rtype = int.from_bytes(wire[position : position + 2], "big")
        rdata_end = rdata_start + int.from_bytes(wire[rdata_start - 2 : rdata_start], "big")
        if rdata_end > len(wire):
            raise MalformedQuery(BadInput.TRUNCATED)
        if additional and rtype == QTYPE.OPT:
            opts.append(_opt(wire, owner, position, rdata_start, rdata_end))
        position = rdata_end
    return opts, position


def _opt(wire: bytes, owner: int, fields: int, rdata_start: int, rdata_end: int) -> RR:
    """An OPT record (RFC 6891 §6.1.2): the payload size in CLASS, flags in TTL, options."""
    if fields != owner + 1:  # the owner is the root: one zero octet
        raise MalformedQuery(BadInput.BAD_OPT)
    try:
        options = parse_options(wire[rdata_start:rdata_end])
    except EdnsFormatError:
        raise MalformedQuery(BadInput.BAD_OPT) from None
    payload = int.from_bytes(wire[fields + 2 : fields + 4], "big")
    ttl = int.from_bytes(wire[fields + 4 : fields + 8], "big")
    return RR(DNSLabel(()), QTYPE.OPT, payload, ttl, options)
