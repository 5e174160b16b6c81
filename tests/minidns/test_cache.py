"""The answer cache: a hit gives what the slow path gives, with the query's ID and case."""

from __future__ import annotations

import pytest
from dnslib import EDNS0, DNSRecord, EDNSOption

from minidns.cache import AnswerCache, query_key
from minidns.respond import respond
from minidns.service import DnsService
from tests.minidns.zonetext import zones_from_text

ZONE = """
@    IN SOA ns1 hostmaster 1 3600 600 86400 300
@    IN NS  ns1
@    IN MX  10 mail
ns1  IN A   192.0.2.53
mail IN A   192.0.2.25
www  IN A   192.0.2.1
"""


@pytest.fixture
def service():
    return DnsService(zones_from_text(("example.com.", ZONE)), identity="server1")


def query(name, qtype="A", qid=1, **edns):
    record = DNSRecord.question(name, qtype)
    record.header.id = qid
    if edns:
        record.add_ar(EDNS0(**edns))
    return record.pack()


def test_second_query_is_a_hit_with_its_own_id_and_case(service):
    first = service.answer_datagram(query("www.example.com", qid=7))
    assert len(service.cache) == 1
    second = service.answer_datagram(query("WwW.ExAmPlE.CoM", qid=9))
    assert len(service.cache) == 1
    parsed = DNSRecord.parse(second)
    assert parsed.header.id == 9
    assert str(parsed.q.qname) == "WwW.ExAmPlE.CoM."
    assert second[2:].lower() == first[2:].lower()


@pytest.mark.parametrize(
    "wire",
    [
        query("www.example.com", "MX"),
        query("nope.example.com"),
        query("www.example.com", udp_len=4096, flags="do"),
        query("www.example.com", udp_len=512, opts=[EDNSOption(3, b"")]),
        query("example.org"),
    ],
)
def test_a_hit_equals_the_slow_path(service, wire):
    service.answer_datagram(wire)
    assert service.answer_datagram(wire) == respond(
        service.zones, wire, tcp=False, identity="server1"
    )


def test_key_separates_what_changes_the_answer():
    plain = query_key(query("www.example.com"), False)
    keys = {
        plain.key,
        query_key(query("www.example.com"), True).key,
        query_key(query("www.example.com", "MX"), False).key,
        query_key(query("www.example.com", udp_len=1232), False).key,
        query_key(query("www.example.com", udp_len=1232, flags="do"), False).key,
        query_key(query("www.example.com", udp_len=512), False).key,
        query_key(query("www.example.com", udp_len=1232, opts=[EDNSOption(3, b"")]), False).key,
    }
    assert len(keys) == 7
    # an unknown option changes nothing (RFC 6891 §6.1.2), nor a payload above what we send
    assert (
        query_key(query("www.example.com", udp_len=1232, opts=[EDNSOption(65001, b"x")]), False).key
        == query_key(query("www.example.com", udp_len=4096), False).key
    )


@pytest.mark.parametrize(
    "wire",
    [
        b"\x00\x01\x00\x00\x00\x01",  # short
        query("www.example.com", udp_len=1232, version=1),  # BADVERS: slow path
        query("www.example.com") + b"trailing",
        b"\x00\x01\x80\x00" + query("www.example.com")[4:],  # a response
        b"\x00\x01\x20\x00" + query("www.example.com")[4:],  # opcode 4
        b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01",  # pointer
    ],
)
def test_unusual_queries_take_the_slow_path(wire):
    assert query_key(wire, False) is None


def test_reload_clears_the_cache(service):
    service.answer_datagram(query("www.example.com"))
    service.replace_zones(
        zones_from_text(("example.com.", ZONE.replace("192.0.2.1", "192.0.2.99")))
    )
    assert len(service.cache) == 0
    response = DNSRecord.parse(service.answer_datagram(query("www.example.com")))
    assert str(response.rr[0].rdata) == "192.0.2.99"


def test_cache_is_bounded():
    cache = AnswerCache(max_entries=2)
    for name in ("a.example.com", "b.example.com", "c.example.com"):
        wire = query(name)
        cache.store(query_key(wire, False), wire)
    assert len(cache) == 2
