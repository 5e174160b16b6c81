"""Answer templates for names that do not exist: always the bytes the slow path gives."""

from __future__ import annotations

import random

import pytest
from dnslib import EDNS0, DNSRecord, EDNSOption

from minidns.respond import respond
from minidns.service import DnsService
from tests.minidns.zonetext import zones_from_text

ZONE = """
@          IN SOA ns1 hostmaster 1 3600 600 86400 300
@          IN NS  ns1
ns1        IN A   192.0.2.53
*.wild     IN A   192.0.2.99
*.wild     IN MX  10 mail.wild.example.com.
mail.wild  IN A   192.0.2.25
*.alias    IN CNAME ns1
*.self     IN MX  10 target.self.example.com.
qqq        IN A   192.0.2.7
a.b.c      IN TXT "deep"
sub        IN NS  ns.sub
ns.sub     IN A   192.0.2.77
"""


@pytest.fixture
def service():
    return DnsService(zones_from_text(("example.com.", ZONE)), identity="server1")


def query(name: str, qtype: str = "A", edns: EDNS0 | None = None, qid: int = 1) -> bytes:
    record = DNSRecord.question(name, qtype)
    record.header.id = qid
    if edns is not None:
        record.add_ar(edns)
    return bytes(record.pack())


def label(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
                   for _ in range(length))  # fmt: skip


@pytest.mark.parametrize(
    ("parent", "qtype"),
    [("wild", "A"), ("wild", "MX"), ("wild", "TXT"), ("alias", "A"), ("nx", "A"),
     ("x.y.nx", "AAAA"), ("b.c", "A"), ("", "A"), ("self", "A")],
)  # fmt: skip
@pytest.mark.parametrize(
    "edns",
    [None, EDNS0(udp_len=1232), EDNS0(udp_len=4096, flags="do", opts=[EDNSOption(3, b"")])],
)
def test_templated_answers_equal_the_slow_path(service, parent, qtype, edns):
    rng = random.Random(f"{parent}{qtype}")
    suffix = f".{parent}.example.com" if parent else ".example.com"
    for number in range(150):
        name = label(rng, rng.choice((3, 5, 8))) + suffix
        wire = query(name, qtype, edns, qid=number)
        assert service.answer_datagram(wire) == respond(
            service.zones, wire, tcp=False, identity="server1"
        ), name
    assert len(service.templates) >= 1


def test_a_record_pointing_at_the_query_name_is_not_templated(service):
    first = query("target.self.example.com", "MX")  # its MX target is the query name itself
    service.answer_datagram(first)
    other = query("xxxxxx.self.example.com", "MX")  # same shape
    response = DNSRecord.parse(service.answer_datagram(other))
    assert str(response.rr[0].rdata.label) == "target.self.example.com."


def test_a_probe_name_that_exists_stops_the_template(service):
    for name in ("abc.example.com", "xyz.example.com", "qqq.example.com", "QQQ.example.com"):
        wire = query(name)
        assert service.answer_datagram(wire) == respond(service.zones, wire, tcp=False,
                                                        identity="server1")  # fmt: skip


def test_names_below_a_delegation_are_referrals_not_templates(service):
    for name in ("a.sub.example.com", "b.sub.example.com", "zz.sub.example.com"):
        wire = query(name)
        response = DNSRecord.parse(service.answer_datagram(wire))
        assert response.header.aa == 0 and response.auth[0].rtype == 2


def test_reload_clears_the_templates(service):
    service.answer_datagram(query("abc.wild.example.com"))
    assert len(service.templates) == 1
    service.replace_zones(
        zones_from_text(("example.com.", ZONE.replace("192.0.2.99", "192.0.2.98")))
    )
    assert len(service.templates) == 0
    response = DNSRecord.parse(service.answer_datagram(query("def.wild.example.com")))
    assert str(response.rr[0].rdata) == "192.0.2.98"
