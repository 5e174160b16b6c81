"""Bad input on the query path: each kind gets FORMERR or is dropped, is counted, and is never a
traceback; every reply is a valid message. The bytes of each case are written out here."""

from __future__ import annotations

import asyncio
import logging

import pytest
from dnslib import RCODE, DNSRecord

from bench.dns_fuzz import reply_problems
from minidns.answer import locate
from minidns.badinput import BadInput, BadInputCounts
from minidns.cli import BadInputReporter
from minidns.query import read_query
from minidns.service import DnsService
from tests.minidns.zonetext import zones_from_text

ZONE = """
@       IN SOA ns1 hostmaster 1 3600 600 86400 300
@       IN NS  ns1
ns1     IN A   192.0.2.53
www     IN A   192.0.2.1
*.wild  IN A   192.0.2.99
"""

HEADER = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"  # ID 0x1234, RD, QDCOUNT 1
EXAMPLE_COM = b"\x07example\x03com\x00"
WILD = b"\x04wild" + EXAMPLE_COM
A_IN = b"\x00\x01\x00\x01"
OPT = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"  # root, OPT, payload 1232, no options


@pytest.fixture
def service() -> DnsService:
    return DnsService(zones_from_text(("example.com.", ZONE)), identity="server1")


def ask(service: DnsService, wire: bytes) -> list[bytes | None]:
    """The replies over UDP and over TCP, each checked to be a valid message."""
    replies: list[bytes | None] = [service.answer_datagram(wire)]
    tcp = service.answer_stream(wire, "127.0.0.1")
    assert len(tcp) <= 1
    replies.append(tcp[0] if tcp else None)
    for reply, over_tcp in zip(replies, (False, True), strict=True):
        if reply is not None:
            assert reply_problems(wire, reply, tcp=over_tcp) == []
    return replies


def rcode(reply: bytes | None) -> int | None:
    return None if reply is None else reply[3] & 0xF


def question_count(reply: bytes | None) -> int:
    assert reply is not None
    return int.from_bytes(reply[4:6], "big")


def formerr_without_question(service: DnsService, wire: bytes, kind: BadInput) -> None:
    for reply in ask(service, wire):
        assert rcode(reply) == RCODE.FORMERR and question_count(reply) == 0
        assert reply is not None and reply[:2] == wire[:2]
    assert service.bad_input.totals[kind] == 2  # once over UDP, once over TCP


# Names longer than 255 octets (RFC 1035 §2.3.4) --------------------------------------------


def test_a_300_octet_name_under_a_wildcard_gets_formerr_not_a_300_octet_owner(service):
    # 4 labels of 60 "a", one of 37 "b", then wild.example.com.: 4*61 + 38 + 18 = 300 octets
    name = (b"\x3c" + b"a" * 60) * 4 + b"\x25" + b"b" * 37 + WILD
    assert len(name) == 300
    wire = HEADER + name + A_IN
    formerr_without_question(service, wire, BadInput.NAME_TOO_LONG)
    ask(service, HEADER + b"\x01c" + WILD + A_IN)  # a template for *.wild exists now
    assert [rcode(reply) for reply in ask(service, wire)] == [RCODE.FORMERR] * 2


def test_a_320_octet_name_that_does_not_exist_gets_formerr_not_nxdomain(service):
    name = (b"\x3f" + b"n" * 63) * 4 + b"\x32" + b"m" * 50 + EXAMPLE_COM
    assert len(name) == 320
    formerr_without_question(service, HEADER + name + A_IN, BadInput.NAME_TOO_LONG)


def test_a_name_of_exactly_255_octets_is_answered(service):
    name = (b"\x3f" + b"a" * 63) * 3 + b"\x2c" + b"b" * 44 + WILD
    assert len(name) == 255
    for reply in ask(service, HEADER + name + A_IN):
        assert rcode(reply) == RCODE.NOERROR
        assert reply is not None and reply.endswith(b"\x00\x04\xc0\x00\x02\x63")  # 192.0.2.99


# Extended and reserved label types (RFC 6891 §5, RFC 1035 §4.1.4) ---------------------------


@pytest.mark.parametrize("first", [0x40, 0x41, 0x7F, 0x80, 0xBF])
def test_an_extended_label_type_gets_formerr_and_no_traceback(service, caplog, first):
    # dnslib reads 0x41 as a 65-octet label: packing the answer, then the SERVFAIL, failed
    wire = HEADER + bytes((first,)) + b"a" * (first & 0x3F or 64) + EXAMPLE_COM + A_IN
    with caplog.at_level(logging.DEBUG):
        formerr_without_question(service, wire, BadInput.LABEL_TYPE)
    assert caplog.records == []


def test_an_extended_label_type_in_an_additional_record_gets_formerr(service):
    owner_0x41 = b"\x41\x00\x00\x01\x00\x01\x00\x00\x00\x00\x00\x00"
    wire = HEADER[:11] + b"\x01" + b"\x03www" + EXAMPLE_COM + A_IN + owner_0x41
    replies = ask(service, wire)
    assert [rcode(reply) for reply in replies] == [RCODE.FORMERR] * 2
    assert all(question_count(reply) == 1 for reply in replies)  # the question was read
    assert service.bad_input.totals[BadInput.LABEL_TYPE] == 2


# Labels are octets (RFC 2181 §11) ------------------------------------------------------------


def test_a_label_that_is_not_utf8_is_answered_the_same_before_and_after_a_template(service):
    wire = HEADER + b"\x01\x80" + EXAMPLE_COM + A_IN  # \128.example.com A
    fresh = ask(service, wire)
    assert [rcode(reply) for reply in fresh] == [RCODE.NXDOMAIN] * 2
    assert all(question_count(reply) == 1 for reply in fresh)
    other = DnsService(service.zones, identity="server1")
    ask(other, HEADER + b"\x01q" + EXAMPLE_COM + A_IN)  # the template for 1-octet names
    assert ask(other, wire)[0] == fresh[0]


def test_a_label_that_is_not_utf8_leaves_the_template_for_its_shape_usable(service):
    for length in range(1, 30):
        service.answer_datagram(HEADER + bytes((length,)) + b"\xff" * length + EXAMPLE_COM + A_IN)
    for length in range(1, 30):
        query = read_query(HEADER + bytes((length,)) + b"z" * length + EXAMPLE_COM + A_IN)
        location = locate(service.zones, query.key, query.offsets, query.qtype)
        assert location is not None
        shape = service.templates.shape(query, location)
        assert shape is not None and service.templates.respond(shape, query, None) is not None


def test_a_label_that_is_not_utf8_under_a_wildcard_gets_the_wildcard(service):
    for reply in ask(service, HEADER + b"\x02\xc3\x28" + WILD + A_IN):
        assert rcode(reply) == RCODE.NOERROR
        assert reply is not None and reply.endswith(b"\x00\x04\xc0\x00\x02\x63")  # 192.0.2.99


# Compression pointers (RFC 1035 §4.1.4) -------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(b"\xc0\x0c", id="pointer-to-itself"),
        pytest.param(b"\x01a\xc0\x0c", id="loop-through-a-label"),
        pytest.param(b"\xc0\x20" + b"\x00" * 24, id="forward"),
        pytest.param(b"\xc0\x02", id="into-the-header"),
        pytest.param(b"\x03www\xc0\x10", id="into-its-own-labels"),
    ],
)
def test_a_pointer_in_the_question_gets_formerr(service, name):
    # The question's name is the first in the message: there is no earlier name to point at.
    formerr_without_question(service, HEADER + name + A_IN, BadInput.BAD_POINTER)


@pytest.mark.parametrize(
    "owner",
    [
        pytest.param(b"\xc0\x30", id="forward"),
        pytest.param(b"\xc0\x21", id="to-itself"),
        pytest.param(b"\xc0\x04", id="into-the-header"),
    ],
)
def test_a_bad_pointer_in_an_additional_record_gets_formerr(service, owner):
    record = owner + b"\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\xc0\x00\x02\x01"
    wire = HEADER[:11] + b"\x01" + b"\x03www" + EXAMPLE_COM + A_IN + record
    assert len(HEADER + b"\x03www" + EXAMPLE_COM + A_IN) == 0x21
    assert [rcode(reply) for reply in ask(service, wire)] == [RCODE.FORMERR] * 2
    assert service.bad_input.totals[BadInput.BAD_POINTER] == 2


def test_a_good_pointer_in_an_additional_record_is_fine(service):
    record = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\xc0\x00\x02\x01"
    wire = HEADER[:11] + b"\x01" + b"\x03www" + EXAMPLE_COM + A_IN + record
    assert [rcode(reply) for reply in ask(service, wire)] == [RCODE.NOERROR] * 2


# Messages that end early, question counts, OPT records ---------------------------------------


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(HEADER + b"\x03www\x07exam", id="inside-a-label"),
        pytest.param(HEADER + b"\x03www" + EXAMPLE_COM + b"\x00\x01", id="inside-the-question"),
        pytest.param(HEADER[:11] + b"\x01\x03www" + EXAMPLE_COM + A_IN, id="missing-record"),
        pytest.param(
            HEADER[:11] + b"\x01\x03www" + EXAMPLE_COM + A_IN + OPT[:-2] + b"\x00\x09",
            id="rdata-past-the-end",
        ),
    ],
)
def test_a_message_cut_short_gets_formerr(service, wire):
    assert [rcode(reply) for reply in ask(service, wire)] == [RCODE.FORMERR] * 2
    assert service.bad_input.totals[BadInput.TRUNCATED] == 2


def test_two_questions_or_none_get_formerr(service):
    question = b"\x03www" + EXAMPLE_COM + A_IN
    two = HEADER[:5] + b"\x02" + HEADER[6:] + question + question
    none = HEADER[:5] + b"\x00" + HEADER[6:]
    formerr_without_question(service, two, BadInput.QUESTION_COUNT)
    for reply in ask(service, none):
        assert rcode(reply) == RCODE.FORMERR
    notify = b"\x12\x34\x20\x00" + b"\x00" * 8  # NOTIFY without a question: refused as before
    assert [rcode(reply) for reply in ask(service, notify)] == [RCODE.REFUSED] * 2


@pytest.mark.parametrize(
    ("opt", "count"),
    [
        pytest.param(OPT + OPT, 2, id="two-opts"),
        pytest.param(b"\x01a" + OPT, 1, id="owner-not-root"),
        pytest.param(OPT[:-2] + b"\x00\x04\x00\x03\x00\x09", 1, id="option-past-rdata"),
    ],
)
def test_a_malformed_opt_record_gets_formerr_with_the_question(service, opt, count):
    wire = HEADER[:11] + bytes((count,)) + b"\x03www" + EXAMPLE_COM + A_IN + opt
    for reply in ask(service, wire):
        assert rcode(reply) == RCODE.FORMERR and question_count(reply) == 1
    assert service.bad_input.totals[BadInput.BAD_OPT] == 2


def test_short_messages_and_responses_are_dropped_and_counted(service):
    assert ask(service, b"\x12\x34\x00") == [None, None]
    assert ask(service, b"") == [None, None]  # a TCP message of length 0
    response = b"\x12\x34\x81\x00" + HEADER[4:] + b"\x03www" + EXAMPLE_COM + A_IN
    assert ask(service, response) == [None, None]
    assert service.bad_input.totals[BadInput.SHORT] == 4
    assert service.bad_input.totals[BadInput.RESPONSE] == 2


# Answers that cannot be built ---------------------------------------------------------------


def test_an_answer_that_cannot_be_built_gets_servfail_and_no_traceback(caplog, monkeypatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("an answer minidns cannot build")  # a bug, as it should not happen

    monkeypatch.setattr("minidns.respond.locate", broken)
    service = DnsService(zones_from_text(("example.com.", ZONE)))
    wire = HEADER + b"\x04huge" + EXAMPLE_COM + b"\x00\x10\x00\x01"
    with caplog.at_level(logging.DEBUG):
        replies = ask(service, wire)
    assert [rcode(reply) for reply in replies] == [RCODE.SERVFAIL] * 2
    assert all(question_count(reply) == 1 for reply in replies)
    assert caplog.records == []
    (line,) = service.bad_input.report()
    assert line.startswith("bad input, 2 messages: an answer that could not be built -> SERVFAIL (")


def test_a_long_identity_never_makes_a_udp_reply_too_long():
    service = DnsService(zones_from_text(("example.com.", ZONE)), identity="n" * 2000)
    nsid = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x04\x00\x03\x00\x00"  # asks for NSID
    wire = HEADER[:11] + b"\x01\x03www" + EXAMPLE_COM + A_IN + nsid
    reply = service.answer_datagram(wire)
    assert reply is not None and len(reply) <= 1232
    assert reply_problems(wire, reply, tcp=False) == []
    assert DNSRecord.parse(reply).header.tc == 1


# Counting and logging ------------------------------------------------------------------------


def test_the_report_says_each_kind_once_until_more_comes():
    counts = BadInputCounts()
    for _ in range(1000):
        counts.add(BadInput.LABEL_TYPE, HEADER + b"\x41")
    counts.add(BadInput.SHORT, b"\x12")
    lines = counts.report()
    assert lines == [
        "bad input, 1 message: fewer octets than a DNS header -> dropped; the last began 12",
        "bad input, 1000 messages: an extended or reserved label type (RFC 6891 §5) -> FORMERR;"
        " the last began 123401000001000000000000" + "41",
    ]
    assert counts.report() == []
    counts.add(BadInput.SHORT, b"\x13")
    assert counts.report() == [
        "bad input, 1 message: fewer octets than a DNS header -> dropped; the last began 13"
    ]
    assert counts.totals[BadInput.SHORT] == 2 and counts.totals[BadInput.LABEL_TYPE] == 1000


async def test_the_reporter_logs_a_last_report_when_it_closes(caplog):
    counts = BadInputCounts()
    reporter = BadInputReporter(counts, asyncio.get_running_loop(), interval=3600)
    counts.add(BadInput.NAME_TOO_LONG, HEADER)
    with caplog.at_level(logging.WARNING, logger="minidns"):
        reporter.close()
    (record,) = caplog.records
    assert record.levelname == "WARNING" and record.exc_info is None
    assert record.getMessage().startswith("bad input, 1 message: a name longer than 255 octets")
