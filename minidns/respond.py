"""From query bytes to response bytes: parsing, answering, packing and UDP truncation.

This is the slow path, taken on a cache miss; `minidns.cache` keeps its results.
"""

from __future__ import annotations

from dnslib import (
    QTYPE,
    RCODE,
    RR,
    DNSBuffer,
    DNSLabel,
    DNSRecord,
)

from minidns.answer import answer
from minidns.badinput import BadInput, BadInputCounts
from minidns.edns import udp_limit
from minidns.query import HEADER_LENGTH, QR_BIT, MalformedQuery, read_query
from minidns.zone.model import ZoneSet

# RFC 1035 types whose rdata is a single name (MD, MF, MB, MG, MR) that dnslib has no class for.
COMPRESSIBLE_NAME_TYPES = frozenset((3, 4, 7, 8, 9))
OPCODE_BITS = 0x78  # in the third octet of the header (RFC 1035 §4.1.1)
RD_BIT = 0x01
CD_BIT = 0x10  # in the fourth octet
MAX_TCP_MESSAGE = 65535  # RFC 1035 §4.2.2: the length prefix is 16 bits


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


def respond(
    zones: ZoneSet,
    wire: bytes,
    *,
    tcp: bool,
    identity: str = "",
    bad_input: BadInputCounts | None = None,
) -> bytes | None:
    """The response to one query message, or None when it must be dropped.

    Bad input is counted in `bad_input` by kind: a message shorter than a header or with QR=1
    is dropped, any other that cannot be read gets FORMERR (`minidns.query`), and a query
    whose answer cannot be built gets SERVFAIL. Neither reply can fail to be built.
    """
    if len(wire) < HEADER_LENGTH or wire[2] & QR_BIT:
        # No header to answer, or a response: never answer those (RFC 1035 §4.1.1).
        if bad_input is not None:
            bad_input.add(BadInput.SHORT if len(wire) < HEADER_LENGTH else BadInput.RESPONSE, wire)
        return None
    try:
        query = read_query(wire)
    except MalformedQuery as error:
        if bad_input is not None:
            bad_input.add(error.kind, wire)
        return error_reply(wire, error.question, RCODE.FORMERR)
    try:
        response = answer(zones, query.message, identity, tcp=tcp)
        packed = pack(response)
        limit = MAX_TCP_MESSAGE if tcp else udp_limit(_payload(query.message))
        if len(packed) > limit:
            packed = _fit(response, limit)
    except Exception as error:  # a bug, or data the codec cannot write: one SERVFAIL
        if bad_input is not None:
            bad_input.add_error(BadInput.UNANSWERABLE, wire, error)
        return error_reply(wire, query.question, RCODE.SERVFAIL)
    return packed


def _payload(query: DNSRecord) -> int | None:
    """The query's UDP payload size (RFC 6891 §6.2.3), or None without EDNS."""
    opt = next((rr for rr in query.ar if rr.rtype == QTYPE.OPT), None)
    return None if opt is None else int(opt.rclass)


def _fit(response: DNSRecord, limit: int) -> bytes:
    """The response cut down to `limit` octets: truncated, then without NSID if need be."""
    cut = truncated(response)
    packed = pack(cut)
    if len(packed) > limit:  # a long --identity in NSID (RFC 5001): the header matters more
        for opt in cut.ar:
            opt.rdata = []
        packed = pack(cut)
    return packed


def truncated(response: DNSRecord) -> DNSRecord:
    """The response cut down for UDP: TC set, no records but the OPT (as PowerDNS 4.7 does)."""
    response.header.tc = 1  # RFC 1035 §4.1.1, RFC 2181 §9
    response.rr = []
    response.auth = []
    response.ar = [rr for rr in response.ar if rr.rtype == QTYPE.OPT]
    return response


def error_reply(wire: bytes, question: bytes, rcode: int) -> bytes:
    """A reply with only a header and the query's question (when it was read), built so that it
    cannot fail: the query's ID, opcode, RD and CD, QR set (RFC 1035 §4.1.1, RFC 4035 §3.2.2);
    an opcode other than QUERY that cannot be read gets NOTIMP rather than FORMERR."""
    opcode_and_rd = wire[2] & (OPCODE_BITS | RD_BIT)
    if rcode == RCODE.FORMERR and opcode_and_rd & OPCODE_BITS:
        rcode = RCODE.NOTIMP
    flags = bytes((QR_BIT | opcode_and_rd, (wire[3] & CD_BIT) | rcode))
    counts = (b"\x00\x01" if question else b"\x00\x00") + b"\x00" * 6
    return wire[:2] + flags + counts + question
