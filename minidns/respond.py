"""From query bytes to response bytes: parsing, answering, packing and UDP truncation.

This is the slow path, taken on a cache miss; `minidns.cache` keeps its results.
"""

from __future__ import annotations

import logging

from dnslib import (
    OPCODE,
    QTYPE,
    RCODE,
    RR,
    DNSBuffer,
    DNSHeader,
    DNSLabel,
    DNSQuestion,
    DNSRecord,
)

from minidns.answer import answer
from minidns.edns import parse_options, udp_limit
from minidns.zone.model import ZoneSet

HEADER_LENGTH = 12
# RFC 1035 types whose rdata is a single name (MD, MF, MB, MG, MR) that dnslib has no class for.
COMPRESSIBLE_NAME_TYPES = frozenset((3, 4, 7, 8, 9))
QR_BIT = 0x80  # in the third octet of the header (RFC 1035 §4.1.1)
MAX_TCP_MESSAGE = 65535  # RFC 1035 §4.2.2: the length prefix is 16 bits

log = logging.getLogger(__name__)


class CaseInsensitiveBuffer(DNSBuffer):  # type: ignore[misc]
    """A DNSBuffer that compresses names whatever their case (RFC 1035 §4.1.4, RFC 4343 §4).

    A name that differs from the question only in case then points at the question, and so
    shows the question's case, as PowerDNS's answers do.
    """

    def encode_name(self, name: DNSLabel | str) -> None:
        labels = (name if isinstance(name, DNSLabel) else DNSLabel(name)).label
        folded = tuple(label.lower() for label in labels)
        names = self.names
        for index, label in enumerate(labels):
            suffix = folded[index:]
            pointer = names.get(suffix)
            if pointer is not None:
                self.pack("!H", 0xC000 | pointer)
                return
            if self.offset < 0x4000:  # a pointer has 14 bits
                names[suffix] = self.offset
            if len(label) > 63:
                raise ValueError(f"label too long: {label!r}")
            self.append(bytes((len(label),)) + label)
        self.append(b"\x00")


def pack(record: DNSRecord) -> bytes:
    """The wire form of a message, names compressed case-insensitively."""
    buffer = CaseInsensitiveBuffer()
    header = record.header
    counts = (len(record.questions), len(record.rr), len(record.auth), len(record.ar))
    buffer.pack("!HHHHHH", header.id, header.bitmap, *counts)  # RFC 1035 §4.1.1
    for question in record.questions:
        question.pack(buffer)
    for section in (record.rr, record.auth, record.ar):
        for rr in section:
            if rr.rtype == QTYPE.DNAME and hasattr(rr.rdata, "label"):
                _pack_dname(buffer, rr)
            elif rr.rtype in COMPRESSIBLE_NAME_TYPES and not hasattr(rr.rdata, "label"):
                _pack_single_name(buffer, rr)
            else:
                rr.pack(buffer)
    return bytes(buffer.data)


def _pack_single_name(buffer: DNSBuffer, rr: RR) -> None:
    """A record whose rdata is one name, kept as opaque bytes, packed with its name compressed.

    RFC 3597 §4 allows compression for the RFC 1035 types; PowerDNS compresses them.
    """
    buffer.encode_name(rr.rname)
    buffer.pack("!HHI", rr.rtype, rr.rclass, rr.ttl)
    length_at = buffer.offset
    buffer.pack("!H", 0)
    buffer.encode_name(DNSBuffer(bytes(rr.rdata.data)).decode_name())
    buffer.update(length_at, "!H", buffer.offset - length_at - 2)


def _pack_dname(buffer: DNSBuffer, rr: RR) -> None:
    """A DNAME record, its target never compressed (RFC 6672 §2.5)."""
    buffer.encode_name(rr.rname)
    target = DNSBuffer()
    target.encode_name_nocompress(rr.rdata.label)
    buffer.pack("!HHIH", rr.rtype, rr.rclass, rr.ttl, len(target.data))
    buffer.append(bytes(target.data))


def respond(zones: ZoneSet, wire: bytes, *, tcp: bool, identity: str = "") -> bytes | None:
    """The response to one query message, or None when it must be dropped."""
    if len(wire) < HEADER_LENGTH or wire[2] & QR_BIT:
        return None  # no header to answer, or a response: never answer those (RFC 1035 §4.1.1)
    try:
        query = parse_query(wire)
    except Exception:  # dnslib raises several types on malformed input
        return _formerr(wire)
    try:
        response = answer(zones, query, identity, tcp=tcp)
        packed = pack(response)
    except Exception:
        log.exception("no answer for %r", query.questions)
        return _servfail(query)
    if tcp:
        limit = MAX_TCP_MESSAGE
    else:
        opt = next((rr for rr in query.ar if rr.rtype == QTYPE.OPT), None)
        limit = udp_limit(None if opt is None else opt.rclass)
    if len(packed) > limit:
        packed = pack(truncated(response))
    return packed


def parse_query(wire: bytes) -> DNSRecord:
    """A message parsed by dnslib, with the OPT options read by minidns.edns.parse_options."""
    buffer = DNSBuffer(wire)
    header = DNSHeader.parse(buffer)
    questions = [DNSQuestion.parse(buffer) for _ in range(header.q)]
    sections: list[list[RR]] = []
    for count in (header.a, header.auth, header.ar):
        records = []
        for _ in range(count):
            start = buffer.offset
            record = RR.parse(buffer)
            if record.rtype == QTYPE.OPT:
                owner = DNSBuffer(wire)
                owner.offset = start
                owner.decode_name()
                rdata_start = owner.offset + 10  # TYPE, CLASS, TTL, RDLENGTH
                record.rdata = parse_options(wire[rdata_start : buffer.offset])
            records.append(record)
        sections.append(records)
    answer_rrs, authority, additional = sections
    return DNSRecord(header, questions, answer_rrs, auth=authority, ar=additional)


def truncated(response: DNSRecord) -> DNSRecord:
    """The response cut down for UDP: TC set, no records but the OPT (as PowerDNS 4.7 does)."""
    response.header.tc = 1  # RFC 1035 §4.1.1, RFC 2181 §9
    response.rr = []
    response.auth = []
    response.ar = [rr for rr in response.ar if rr.rtype == QTYPE.OPT]
    return response


def _formerr(wire: bytes) -> bytes:
    """FORMERR for a message whose header can be read but not the rest (RFC 1035 §4.1.1)."""
    header = DNSHeader.parse(DNSBuffer(wire[:HEADER_LENGTH]))
    opcode = header.opcode
    reply = DNSHeader(id=header.id, qr=1, opcode=opcode, rd=header.rd, rcode=RCODE.FORMERR)
    if opcode != OPCODE.QUERY:
        reply.rcode = RCODE.NOTIMP
    return pack(DNSRecord(reply))


def _servfail(query: DNSRecord) -> bytes:
    header = query.header
    reply = DNSHeader(id=header.id, qr=1, opcode=header.opcode, rd=header.rd, rcode=RCODE.SERVFAIL)
    return pack(DNSRecord(reply, questions=list(query.questions)))
