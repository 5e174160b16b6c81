"""Zone transfer out (AXFR, RFC 5936): the messages that carry a whole zone over TCP."""

from __future__ import annotations

from collections.abc import Iterator

from dnslib import CLASS, QTYPE, RCODE, RR, DNSHeader, DNSRecord

from minidns.respond import pack
from minidns.zone.model import Zone, ZoneSet, name_key

MAX_MESSAGE = 65535  # RFC 1035 §4.2.2: the TCP length prefix is 16 bits
RECORDS_PER_MESSAGE = 200


def zone_records(zone: Zone) -> list[RR]:
    """SOA, every other record of the zone (glue included), SOA again (RFC 5936 §2.2)."""
    soa = zone.soa
    soa_record = RR(soa.name, QTYPE.SOA, CLASS.IN, soa.ttl, soa.rdatas[0])
    middle = [
        RR(rrset.name, rrset.rtype, CLASS.IN, rrset.ttl, rdata)
        for rrset in zone.rrsets()
        if rrset.rtype != QTYPE.SOA
        for rdata in rrset.rdatas
    ]
    return [soa_record, *middle, soa_record]


def transfer(zones: ZoneSet, query: DNSRecord, allowed: bool) -> list[bytes]:
    """The response messages to an AXFR query (IXFR is answered the same way, RFC 1995 §4)."""
    question = query.questions[0]
    key = name_key(question.qname)
    zone = zones.zones.get(key)
    if not allowed:
        return [_error(query, RCODE.REFUSED)]  # RFC 5936 §2.2.1: a policy refusal
    if zone is None:
        return [_error(query, RCODE.NOTAUTH)]  # RFC 5936 §2.2.1: not a zone we serve
    return list(_messages(query, zone_records(zone)))


def _messages(query: DNSRecord, records: list[RR]) -> Iterator[bytes]:
    first = True
    start = 0
    while start < len(records):
        count = RECORDS_PER_MESSAGE
        while True:
            message = _message(query, records[start : start + count], with_question=first)
            if len(message) <= MAX_MESSAGE or count == 1:
                break
            count //= 2
        yield message
        first = False
        start += count


def _message(query: DNSRecord, records: list[RR], with_question: bool) -> bytes:
    header = DNSHeader(id=query.header.id, qr=1, aa=1, opcode=query.header.opcode)
    header.rd = query.header.rd
    response = DNSRecord(header, questions=list(query.questions) if with_question else [])
    response.rr = records
    return pack(response)


def _error(query: DNSRecord, rcode: int) -> bytes:
    header = DNSHeader(id=query.header.id, qr=1, opcode=query.header.opcode, rcode=rcode)
    header.rd = query.header.rd
    return pack(DNSRecord(header, questions=list(query.questions)))
