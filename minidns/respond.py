"""From query bytes to response bytes: reading, answering, writing and UDP truncation.

Bad input is counted by kind (`minidns.badinput`) and answered in one place, here: a message
shorter than a header or with QR=1 is dropped, any other that cannot be read gets FORMERR
(`minidns.query`), and a query whose answer cannot be built gets SERVFAIL; neither reply can
fail to be built. `minidns.service` puts the answer cache in front of this.
"""

from __future__ import annotations

import struct

from minidns.answer import (
    AA,
    ANY,
    AXFR,
    CD,
    CLASS_IN,
    FORMERR,
    IXFR,
    NOTIMP,
    QR,
    RD,
    RRSIG,
    SERVFAIL,
    TC,
    Location,
    Response,
    answer,
    locate,
    plain_rrset,
)
from minidns.badinput import BadInput, BadInputCounts
from minidns.edns import response_opt, udp_limit
from minidns.query import OPCODE_BITS, MalformedQuery, Query, read_query
from minidns.templates import Templates
from minidns.writer import MessageWriter
from minidns.zone.model import ZoneSet

MAX_TCP_MESSAGE = 65535  # RFC 1035 §4.2.2: the length prefix is 16 bits
NOT_LOCATED = frozenset((ANY, AXFR, IXFR, RRSIG))  # answered before (or without) a descent
_HEADER = struct.Struct("!HHHHH")  # after the ID: flags, QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT


def respond(
    zones: ZoneSet,
    wire: bytes,
    *,
    tcp: bool,
    identity: bytes = b"",
    bad_input: BadInputCounts | None = None,
) -> bytes | None:
    """The response to one query message, or None when it must be dropped."""
    try:
        query = read_query(bytes(wire))  # the same object when it is bytes already
    except MalformedQuery as error:
        return malformed_reply(wire, error, bad_input)
    return respond_to(zones, query, tcp=tcp, identity=identity, bad_input=bad_input)


def malformed_reply(
    wire: bytes, error: MalformedQuery, bad_input: BadInputCounts | None
) -> bytes | None:
    """What a message that cannot be read gets: nothing, or FORMERR; counted."""
    if bad_input is not None:
        bad_input.add(error.kind, wire)
    if error.kind in (BadInput.SHORT, BadInput.RESPONSE):
        return None  # no header to answer, or a response: never answer those (RFC 1035 §4.1.1)
    return error_reply(wire, error.question, FORMERR)


def respond_to(
    zones: ZoneSet,
    query: Query,
    *,
    tcp: bool,
    identity: bytes = b"",
    templates: Templates | None = None,
    bad_input: BadInputCounts | None = None,
) -> bytes:
    """The response to a query that reads: the records of an RRset as they are, or from a
    template when there is one, or as `answer` and `pack` make it."""
    try:
        return _respond(zones, query, tcp, identity, templates)
    except Exception as error:  # a bug: one SERVFAIL, counted, never the server
        if bad_input is not None:
            bad_input.add_error(BadInput.UNANSWERABLE, query.wire, error)
        return error_reply(query.wire, query.question, SERVFAIL)


def _respond(
    zones: ZoneSet, query: Query, tcp: bool, identity: bytes, templates: Templates | None
) -> bytes:
    location = _location(zones, query)
    shape = None
    if location is not None:
        edns = query.edns
        opt = None if edns is None else response_opt(edns.dnssec_ok, edns.nsid, identity)
        rrset = plain_rrset(location, query.key, query.qtype)
        if rrset is not None:
            return _fitted(query, _plain_response(query, *rrset, opt), opt, tcp)
        if templates is not None:
            shape = templates.shape(query, location)
        if shape is not None:
            assert templates is not None
            packed = templates.respond(shape, query, opt)
            if packed is not None:
                return _fitted(query, packed, opt, tcp)
    looked_up: set[bytes] | None = None if shape is None else set()
    response = answer(zones, query, identity, tcp, location)
    packed = pack(query, response, looked_up)
    if shape is not None:
        assert templates is not None and looked_up is not None
        templates.learn(shape, query, packed, response.opt, looked_up)
    return _fitted(query, packed, response.opt, tcp)


def _plain_response(query: Query, count: int, records: bytes, opt: bytes | None) -> bytes:
    """The response that is the records of one RRset owned by the question's name, as a zone
    node holds them (`answer.plain_rrset`)."""
    flags = QR | AA | (query.flags & (OPCODE_BITS | RD | CD))
    header = _HEADER.pack(flags, 1, count, 0, 0 if opt is None else 1)
    return b"".join((query.wire[:2], header, query.question, records, opt or b""))


def _location(zones: ZoneSet, query: Query) -> Location | None:
    """Where the question's name stands (`answer.locate`), for a query that `answer.resolve`
    will answer; else None."""
    edns = query.edns
    if (
        query.qclass != CLASS_IN
        or query.qtype in NOT_LOCATED
        or query.flags & OPCODE_BITS
        or (edns is not None and edns.version)
    ):
        return None
    return locate(zones, query.key, query.offsets, query.qtype)


def _fitted(query: Query, packed: bytes, opt: bytes | None, tcp: bool) -> bytes:
    """The response, or if it is over the transport's limit, the same truncated: TC set, no
    records but the OPT, as PowerDNS 4.7 does (RFC 1035 §4.1.1, RFC 2181 §9); and without
    NSID if that is still too long (a long --identity: the header matters more)."""
    if tcp:
        limit = MAX_TCP_MESSAGE
    else:
        limit = udp_limit(None if query.edns is None else query.edns.payload)
    if len(packed) <= limit:
        return packed
    flags = int.from_bytes(packed[2:4], "big") | TC
    packed = pack(query, Response(opt=opt, flags=flags))
    if len(packed) > limit and query.edns is not None:
        plain_opt = response_opt(query.edns.dnssec_ok, False, b"")
        packed = pack(query, Response(opt=plain_opt, flags=flags))
    return packed


def pack(query: Query, response: Response, looked_up: set[bytes] | None = None) -> bytes:
    """The wire form of a response to `query`, with its question; `looked_up`, if given,
    gets every name the compression looked up."""
    question = query.question
    writer = MessageWriter(len(question), query.key, query.offsets, looked_up)
    answers = writer.rrsets(response.answer) if response.answer else 0
    authority = writer.rrsets(response.authority) if response.authority else 0
    additional = writer.rrsets(response.additional) if response.additional else 0
    if response.opt is not None:
        writer.raw(response.opt)
        additional += 1
    counts = (query.question_count, answers, authority, additional)
    return writer.message(query.wire[:2], response.flags, counts, question)


def error_reply(wire: bytes, question: bytes, rcode: int) -> bytes:
    """A reply with only a header and the query's question (when it was read), built so that it
    cannot fail: the query's ID, opcode, RD and CD, QR set (RFC 1035 §4.1.1, RFC 4035 §3.2.2);
    an opcode other than QUERY that cannot be read gets NOTIMP rather than FORMERR."""
    flags = int.from_bytes(wire[2:4], "big")
    if rcode == FORMERR and flags & OPCODE_BITS:
        rcode = NOTIMP
    header = QR | (flags & (OPCODE_BITS | RD | CD)) | rcode
    counts = (b"\x00\x01" if question else b"\x00\x00") + bytes(6)
    return wire[:2] + header.to_bytes(2, "big") + counts + question
