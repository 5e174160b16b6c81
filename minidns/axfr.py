"""Zone transfer out (AXFR, RFC 5936): the messages that carry a whole zone over TCP."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from minidns.query import HEADER_LENGTH, Query
from minidns.writer import MessageWriter, RRsetRef
from minidns.zone.model import RECORD_HEAD, Zone, ZoneSet, find_rrset, rrsets_of

MAX_MESSAGE = 65535  # RFC 1035 §4.2.2: the TCP length prefix is 16 bits
RECORDS_PER_MESSAGE = 200
SOA = 6
QR, AA, OPCODE_BITS, RD = 0x8000, 0x0400, 0x7800, 0x0100
NOTAUTH, REFUSED = 9, 5


def zone_records(zone: Zone) -> Iterator[RRsetRef]:
    """SOA, every other record of the zone (glue included), SOA again (RFC 5936 §2.2), one
    record each, as they are wanted (a zone of a million records stays a zone)."""
    soa = find_rrset(zone.nodes[zone.origin_key], SOA)
    assert soa is not None  # a zone has its SOA
    soa_record = (zone.spelling(zone.origin_key), SOA, 1, soa[1])
    yield soa_record
    for key, node in zone.nodes.items():
        for rtype, _, records in rrsets_of(node):
            if rtype != SOA:
                owner = zone.spelling(key)
                for one in _records(records):
                    yield owner, rtype, 1, one
    yield soa_record


def transfer(zones: ZoneSet, query: Query, allowed: bool) -> list[bytes]:
    """The response messages to an AXFR query (IXFR is answered the same way, RFC 1995 §4)."""
    zone = zones.zones.get(query.key)
    if not allowed:
        return [_error(query, REFUSED)]  # RFC 5936 §2.2.1: a policy refusal
    if zone is None:
        return [_error(query, NOTAUTH)]  # RFC 5936 §2.2.1: not a zone we serve
    return list(_messages(query, zone_records(zone)))


def _messages(query: Query, records: Iterator[RRsetRef]) -> Iterator[bytes]:
    """Messages of at most RECORDS_PER_MESSAGE records, fewer when they would not fit."""
    first = True
    waiting: list[RRsetRef] = []
    while True:
        waiting += itertools.islice(records, RECORDS_PER_MESSAGE - len(waiting))
        if not waiting:
            return
        count = len(waiting)
        while True:
            message = _message(query, waiting[:count], with_question=first)
            if len(message) <= MAX_MESSAGE or count == 1:
                break
            count //= 2
        yield message
        first = False
        del waiting[:count]


def _message(query: Query, records: list[RRsetRef], with_question: bool) -> bytes:
    flags = QR | AA | (query.flags & (OPCODE_BITS | RD))
    if with_question:
        question = query.wire[HEADER_LENGTH : query.question_end]
        writer = MessageWriter(len(question), query.key, query.offsets)
        count = query.question_count
    else:
        question = b""
        writer = MessageWriter(0)
        count = 0
    answers = writer.rrsets(records)
    return writer.message(query.wire[:2], flags, (count, answers, 0, 0), question)


def _error(query: Query, rcode: int) -> bytes:
    flags = QR | (query.flags & (OPCODE_BITS | RD)) | rcode
    question = query.wire[HEADER_LENGTH : query.question_end]
    return MessageWriter(len(question)).message(
        query.wire[:2], flags, (query.question_count, 0, 0, 0), question
    )


def _records(records: bytes) -> Iterator[bytes]:
    position = 0
    while position < len(records):
        end = position + RECORD_HEAD + int.from_bytes(records[position + 10 : position + 12], "big")
        yield records[position:end]
        position = end
