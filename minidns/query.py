"""A query message read from its bytes: header, question and EDNS (RFC 1035 §4.1, RFC 6891).

No general-purpose codec: one walk over the octets, linear in the message's length, which keeps
labels as octets (RFC 2181 §11: any octet may be in a label, UTF-8 or not) and reads only what
an answer depends on. The other records a query may carry are framed (their names checked,
their RDATA skipped) so that a message cut short is caught, and the OPT record is read where it
is, in the additional section.

Whatever cannot be read raises :class:`MalformedQuery`, with its kind of bad input
(`minidns.badinput`: dropped, or FORMERR) and, when the question was read, its wire form, for
a FORMERR that repeats it: fewer octets than a header, a response, not exactly one question
(none is fine for NOTIFY and UPDATE), a message cut short, a label length octet of 0x40-0xBF
(the extended and reserved label types, RFC 6891 §5), a name over 255 octets (RFC 1035 §2.3.4),
a compression pointer in the question (its name is the message's first: there is nothing
before it to point at) or one elsewhere that is not to an earlier name (RFC 1035 §4.1.4), and
an OPT record that is malformed, not owned by the root, or not the only one (RFC 6891 §6.1).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from minidns.badinput import BadInput
from minidns.edns import OPTION_NSID, QueryEdns, udp_limit

HEADER_LENGTH = 12
QR = 0x8000  # in the header's second 16 bits (RFC 1035 §4.1.1)
OPCODE_BITS = 0x7800
MAX_NAME_LENGTH = 255  # RFC 1035 §2.3.4, in octets on the wire
MAX_LABEL_LENGTH = 63
POINTER = 0xC0  # RFC 1035 §4.1.4: the two high bits of a label-length octet
FIXED_RR_FIELDS = 10  # TYPE, CLASS, TTL, RDLENGTH (RFC 1035 §4.1.3)
OPT = 41  # RFC 6891 §6.1.1
ROOT_OPT = b"\x00\x00\x29"  # an OPT record's owner (the root) and TYPE
_HEADER = struct.Struct("!HHHHH")  # after the ID: flags, QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT
_QUESTION_FIELDS = struct.Struct("!HH")  # QTYPE, QCLASS


class MalformedQuery(Exception):
    """A message that cannot be read as a query: its kind, and its question if it was read."""

    def __init__(self, kind: BadInput, question: bytes = b"") -> None:
        super().__init__(kind.description)
        self.kind = kind
        self.question = question


@dataclass(slots=True)
class Query:
    """What minidns reads in a query message."""

    wire: bytes  # the message as received
    flags: int  # the header's second 16 bits (QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE)
    question_count: int
    question_end: int  # where the question section ends in `wire`
    name: bytes  # the question's name, uncompressed wire form, case as received
    key: bytes  # the same, ASCII letters lowercased (RFC 4343): a zone's name key
    offsets: list[int]  # where each of its labels starts (model.label_offsets)
    qtype: int
    qclass: int
    edns: QueryEdns | None  # None: no OPT record
    cache_key: bytes | None  # what the answer depends on, or None: not to be cached
    canonical: bool  # `wire` after its ID is nothing but the question (no options, padding)
    name_end: int  # where the question's name ends in `wire`

    @property
    def question(self) -> bytes:
        """The question section, as a response repeats it."""
        return self.wire[HEADER_LENGTH : self.question_end]


def read_query(wire: bytes) -> Query:
    """The query in `wire`; raises MalformedQuery when there is none to read."""
    end = len(wire)
    if end < HEADER_LENGTH:
        raise MalformedQuery(BadInput.SHORT)
    flags, question_count, answers, authority, additional = _HEADER.unpack_from(wire, 2)
    if flags & QR:
        raise MalformedQuery(BadInput.RESPONSE)
    offsets = []
    position = HEADER_LENGTH
    if question_count == 1:
        while True:  # the question's name: uncompressed labels (RFC 1035 §4.1.2)
            if position >= end:
                raise MalformedQuery(BadInput.TRUNCATED)
            length = wire[position]
            if not length:
                break
            if length > MAX_LABEL_LENGTH:
                kind = BadInput.BAD_POINTER if length >= POINTER else BadInput.LABEL_TYPE
                raise MalformedQuery(kind)
            offsets.append(position - HEADER_LENGTH)
            position += length + 1
        if position - HEADER_LENGTH >= MAX_NAME_LENGTH:
            raise MalformedQuery(BadInput.NAME_TOO_LONG)  # with the root label: over 255
        position += 5  # the root label, QTYPE and QCLASS
        if position > end:
            raise MalformedQuery(BadInput.TRUNCATED)
        qtype, qclass = _QUESTION_FIELDS.unpack_from(wire, position - 4)
        name = wire[HEADER_LENGTH : position - 4]
    elif question_count or not flags & OPCODE_BITS:
        raise MalformedQuery(BadInput.QUESTION_COUNT)  # RFC 9619; none for NOTIFY, UPDATE
    else:
        qtype = qclass = 0
        name = b""
    question_end = position
    edns: QueryEdns | None = None
    if not (answers or authority or additional):
        records_end = position
    elif (
        additional == 1 and not (answers or authority) and wire[position : position + 3] == ROOT_OPT
    ):
        edns, records_end = _read_opt(wire, position + 1, question_end)  # the usual case
    else:
        edns, records_end = _read_records(wire, position, answers + authority, additional)
    key = name.lower()  # length octets are below 64: only letters change (RFC 4343 §3)
    cache_key = None
    canonical = False
    if question_count and records_end == end and not flags & OPCODE_BITS:
        if edns is None:
            if not (answers or authority or additional):
                cache_key = wire[2:4] + key + wire[position - 4 : position]
                canonical = True
        elif additional == 1 and not (answers or authority or edns.version):
            cache_key = wire[2:4] + key + wire[position - 4 : position] + edns_key(edns)
            # no options but an empty NSID: the bytes say nothing the key does not
            canonical = end - question_end == 11 + 4 * edns.nsid
    return Query(
        wire, flags, question_count, question_end, name, key, offsets, qtype, qclass, edns,
        cache_key, canonical, HEADER_LENGTH + len(name),
    )  # fmt: skip


def edns_key(edns: QueryEdns) -> bytes:
    """The EDNS facts that change an answer: DO, NSID asked, the UDP size limit."""
    return b"E" + bytes((edns.dnssec_ok, edns.nsid)) + udp_limit(edns.payload).to_bytes(2, "big")


def _read_records(
    wire: bytes, position: int, others: int, additional: int
) -> tuple[QueryEdns | None, int]:
    """Frame the `others` answer and authority records and the `additional` ones that follow
    `position` (the question's end): the OPT record's EDNS facts, and where the records end."""
    question = wire[HEADER_LENGTH:position]
    question_end = position
    edns: QueryEdns | None = None
    end = len(wire)
    try:
        for index in range(others + additional):
            owner = position
            position = _skip_name(wire, position)
            if position + FIXED_RR_FIELDS > end:
                raise MalformedQuery(BadInput.TRUNCATED)
            if index >= others and wire[position : position + 2] == b"\x00\x29":  # OPT
                if edns is not None or position != owner + 1:  # RFC 6891 §6.1.1, §6.1.2
                    raise MalformedQuery(BadInput.BAD_OPT)
                edns, position = _read_opt(wire, position, question_end)
                continue
            position += FIXED_RR_FIELDS + int.from_bytes(wire[position + 8 : position + 10], "big")
            if position > end:
                raise MalformedQuery(BadInput.TRUNCATED)
    except MalformedQuery as error:
        raise MalformedQuery(error.kind, question) from None
    return edns, position


def _skip_name(wire: bytes, position: int) -> int:
    """Where the name at `position` ends; its pointer, if any, checked but not followed."""
    start = position
    end = len(wire)
    while True:
        if position >= end:
            raise MalformedQuery(BadInput.TRUNCATED)
        length = wire[position]
        if length == 0:
            return position + 1
        if length >= POINTER:
            if position + 2 > end:
                raise MalformedQuery(BadInput.TRUNCATED)
            target = int.from_bytes(wire[position : position + 2], "big") & 0x3FFF
            if not HEADER_LENGTH <= target < start:  # RFC 1035 §4.1.4: a prior name
                raise MalformedQuery(BadInput.BAD_POINTER)
            return position + 2
        if length > MAX_LABEL_LENGTH:
            raise MalformedQuery(BadInput.LABEL_TYPE)
        position += length + 1
        if position - start >= MAX_NAME_LENGTH:
            raise MalformedQuery(BadInput.NAME_TOO_LONG)


def _read_opt(wire: bytes, position: int, question_end: int) -> tuple[QueryEdns, int]:
    """The OPT record whose TYPE is at `position` (RFC 6891 §6.1.2), and where it ends."""
    end = len(wire)
    question = wire[HEADER_LENGTH:question_end]
    if position + FIXED_RR_FIELDS > end:
        raise MalformedQuery(BadInput.TRUNCATED, question)
    payload = int.from_bytes(wire[position + 2 : position + 4], "big")
    version = wire[position + 5]
    dnssec_ok = wire[position + 6] >> 7
    options_end = position + 10 + int.from_bytes(wire[position + 8 : position + 10], "big")
    if options_end > end:
        raise MalformedQuery(BadInput.TRUNCATED, question)
    nsid = False
    position += 10
    while position < options_end:  # RFC 6891 §6.1.2: unknown options are ignored
        if position + 4 > options_end:
            raise MalformedQuery(BadInput.BAD_OPT, question)
        code = int.from_bytes(wire[position : position + 2], "big")
        position += 4 + int.from_bytes(wire[position + 2 : position + 4], "big")
        if position > options_end:
            raise MalformedQuery(BadInput.BAD_OPT, question)
        nsid = nsid or code == OPTION_NSID  # RFC 5001 §2.1: NSID asked, with empty data
    return QueryEdns(payload, version, bool(dnssec_ok), nsid), options_end
