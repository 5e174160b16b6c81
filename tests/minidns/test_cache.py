"""The answer cache: a hit gives what the slow path gives, with the query's ID and case."""

from __future__ import annotations

import pytest
from dnslib import EDNS0, DNSRecord, EDNSOption

from minidns.cache import AnswerCache
from minidns.query import read_query
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


def query(name, qtype="A", qid=1, **edns) -> bytes:
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
        service.zones, wire, tcp=False, identity=b"server1"
    )


def key(wire: bytes) -> bytes | None:
    query = read_query(wire)
    assert query is not None
    return query.cache_key


def test_key_separates_what_changes_the_answer():
    keys = {
        key(query("www.example.com")),
        key(query("www.example.com", "MX")),
        key(query("www.example.com", udp_len=1232)),
        key(query("www.example.com", udp_len=1232, flags="do")),
        key(query("www.example.com", udp_len=512)),
        key(query("www.example.com", udp_len=1232, opts=[EDNSOption(3, b"")])),
    }
    assert len(keys) == 6
    # an unknown option changes nothing (RFC 6891 §6.1.2), nor a payload above what we send
    assert key(query("www.example.com", udp_len=1232, opts=[EDNSOption(65001, b"x")])) == key(
        query("www.example.com", udp_len=4096)
    )


@pytest.mark.parametrize(
    "wire",
    [
        query("www.example.com", udp_len=1232, version=1),  # BADVERS
        query("www.example.com") + b"trailing",
        b"\x00\x01\x20\x00" + query("www.example.com")[4:],  # opcode 4
    ],
)
def test_unusual_queries_are_not_cached(wire):
    assert key(wire) is None


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


def test_the_cache_is_bounded_in_bytes_and_starts_over_when_full():
    cache = AnswerCache(max_bytes=4000)
    for number in range(100):
        wire = query(f"host{number}.example.com")
        cache.store(read_query(wire), wire)
        assert cache.size <= 4000
    assert cache.lookup(read_query(wire)) == wire  # the last one is there
    assert cache.lookup_bytes(wire) == wire  # and now by its bytes too
    assert len(cache) < 20


def test_padding_and_other_options_take_no_room_in_the_cache(service):
    """30,000 queries padded to 1 KB (RFC 7830) for one name: one entry, the size of one
    unpadded query's, and every response equal to the unpadded one's."""
    plain = service.answer_datagram(query("www.example.com", udp_len=1232))
    size = service.udp_cache.size
    for number in range(30_000):
        padding = number.to_bytes(4, "big") * 250
        wire = query("www.example.com", qid=number % 65536, udp_len=1232,
                     opts=[EDNSOption(12, padding)])  # fmt: skip
        assert service.answer_datagram(wire)[2:] == plain[2:]
    assert len(service.udp_cache) == 1
    assert service.udp_cache.size == size
