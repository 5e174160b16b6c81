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
    return bytes(record.pack())


def test_second_query_is_a_hit_with_its_own_id_and_case(service):
    first = service.answer_datagram(query("www.example.com", qid=7))
    assert len(service.udp_cache) == 1
    second = service.answer_datagram(query("WwW.ExAmPlE.CoM", qid=9))
    assert len(service.udp_cache) == 1
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
    plain = query_key(query("www.example.com"))
    keys = {
        plain.key,
        query_key(query("www.example.com", "MX")).key,
        query_key(query("www.example.com", udp_len=1232)).key,
        query_key(query("www.example.com", udp_len=1232, flags="do")).key,
        query_key(query("www.example.com", udp_len=512)).key,
        query_key(query("www.example.com", udp_len=1232, opts=[EDNSOption(3, b"")])).key,
    }
    assert len(keys) == 6
    # an unknown option changes nothing (RFC 6891 §6.1.2), nor a payload above what we send
    assert (
        query_key(query("www.example.com", udp_len=1232, opts=[EDNSOption(65001, b"x")])).key
        == query_key(query("www.example.com", udp_len=4096)).key
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
    assert query_key(wire) is None


def test_udp_and_tcp_answers_are_cached_apart(service):
    wire = query("www.example.com")
    service.answer_datagram(wire)
    assert len(service.tcp_cache) == 0
    assert service.answer_stream(wire, "127.0.0.1") == [service.answer_datagram(wire)]
    assert len(service.tcp_cache) == 1


def test_reload_clears_the_cache(service):
    service.answer_datagram(query("www.example.com"))
    service.replace_zones(
        zones_from_text(("example.com.", ZONE.replace("192.0.2.1", "192.0.2.99")))
    )
    assert len(service.udp_cache) == 0
    response = DNSRecord.parse(service.answer_datagram(query("www.example.com")))
    assert str(response.rr[0].rdata) == "192.0.2.99"


def test_cache_is_bounded():
    cache = AnswerCache(max_entries=2)
    for name in ("a.example.com", "b.example.com", "c.example.com"):
        wire = query(name)
        cache.store(wire, query_key(wire), wire)
        assert len(cache) <= 2
    assert cache.lookup_bytes(wire) == wire
