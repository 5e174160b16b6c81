"""The shortcuts of the query path — answer templates, and RRsets sent as they are — always give
the bytes the answer function gives, for any name, after any history."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from dnslib import EDNS0, DNSRecord, EDNSOption

from minidns.answer import answer
from minidns.query import read_query
from minidns.respond import _fitted, pack, respond
from minidns.service import DnsService
from minidns.zone.masterfile import load_master_file
from minidns.zone.model import ZoneSet, label_offsets, wire_to_label
from tests.minidns.corpus import loadable_copy
from tests.minidns.differential import CORPORA
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
sub        IN NS  ns.other.example.com.
ns.sub     IN A   192.0.2.77
"""
TYPES = (1, 2, 5, 6, 15, 16, 28, 33, 43, 64, 65)


def query(name: bytes, qtype: int, qid: int, edns: EDNS0 | None = None) -> bytes:
    """A query for a name in wire form (labels may hold any octet)."""
    header = qid.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    wire = header + name + qtype.to_bytes(2, "big") + b"\x00\x01"
    if edns is None:
        return wire
    opt = bytes(DNSRecord(ar=[edns]).pack())[12:]
    return wire[:11] + b"\x01" + wire[12:] + opt


def wire_name(labels: list[bytes]) -> bytes:
    return b"".join(bytes((len(label),)) + label for label in labels) + b"\x00"


def random_label(rng: random.Random, similar: list[bytes]) -> bytes:
    """A label: random octets, or one of the zone's own labels (to collide with its names)."""
    if similar and rng.random() < 0.3:
        return rng.choice(similar)
    octets = b"abcQQqz-019*\x80\xff." if rng.random() < 0.8 else bytes(range(256))
    return bytes(rng.choice(octets) for _ in range(rng.randint(1, 12)))


def reference(zones: ZoneSet, wire: bytes, tcp: bool) -> bytes:
    """The response as the answer function gives it, without any shortcut."""
    query = read_query(wire)
    response = answer(zones, query, b"server1", tcp)
    return _fitted(query, pack(query, response), response.opt, tcp)


def check_every_answer(zones: ZoneSet, seed: str, count: int) -> DnsService:
    """Ask a service for every name of `zones` and names below them (random, and made of the
    zones' own labels); each answer must be what the answer function gives."""
    rng = random.Random(seed)
    service = DnsService(zones, identity="server1")
    names = [key for zone in zones for key in zone.nodes]
    labels = sorted({key[at + 1 : at + 1 + key[at]] for key in names for at in label_offsets(key)})
    edns_options = [None, EDNS0(udp_len=1232), EDNS0(udp_len=4096, flags="do",
                                                     opts=[EDNSOption(3, b"")])]  # fmt: skip
    for number in range(count):
        parent = rng.choice(names)
        prefix = [random_label(rng, labels) for _ in range(rng.choice((0, 1, 1, 2)))]
        name = wire_name(prefix)[:-1] + parent
        if len(name) > 255:
            name = parent
        if rng.random() < 0.2:  # the same name again, with its case changed
            name = name.upper()
        wire = query(name, rng.choice(TYPES), number % 65536, rng.choice(edns_options))
        for tcp in (False, True):
            asked = service.answer_stream(wire, "127.0.0.1")[0] if tcp else None
            expected = reference(zones, wire, tcp)
            got = asked if tcp else service.answer_datagram(wire)
            assert got == expected, (wire_to_label(name), wire.hex())
    return service


def test_templated_answers_equal_the_answer_function():
    service = check_every_answer(zones_from_text(("example.com.", ZONE)), "small", 4000)
    assert len(service.templates) >= 10


def _corpus_zones(copy: Path) -> ZoneSet:
    regression = CORPORA / "pdns-regression"
    conf = (regression / "named.conf").read_text()
    zones_dir = loadable_copy(copy)
    zones = ZoneSet()
    for origin, file in re.findall(r'zone\s+"([^"]+)"\s*\{[^}]*?file\s+"([^"]+)"', conf, re.S):
        if origin != "nztest.com":  # does not load (an out-of-zone record)
            zones.add(load_master_file(zones_dir / file.removesuffix(".orig"), origin))
    return zones


def test_templated_answers_equal_the_answer_function_on_the_corpus_zones(tmp_path: Path):
    if not (CORPORA / "pdns-regression" / "named.conf").is_file():
        pytest.fail("the pdns-regression corpus is missing (../shared/corpora)")
    check_every_answer(_corpus_zones(tmp_path / "zones"), "corpus", 6000)


def test_a_name_below_the_anchor_that_the_answer_names_is_not_templated():
    """Glue named like the query: its question's labels are what the writer compresses to."""
    service = DnsService(zones_from_text(("example.com.", ZONE)), identity="server1")
    first = query(wire_name([b"x", b"sub", b"example", b"com"]), 1, 1)
    service.answer_datagram(first)  # a referral: becomes a template
    assert len(service.templates) == 1
    glue = query(wire_name([b"ns", b"sub", b"example", b"com"]), 1, 2)  # same shape
    assert service.answer_datagram(glue) == respond(service.zones, glue, tcp=False)
    assert len(service.templates) == 1


def test_labels_as_octets_get_one_answer_whatever_came_before():
    """RFC 2181 §11: a label that is not UTF-8 gets the same answer on a fresh server and
    after any other query; none of them changes the templates for the others."""
    zones = zones_from_text(("example.com.", ZONE))
    odd = query(wire_name([b"\x80", b"example", b"com"]), 1, 7)
    fresh = DnsService(zones, identity="server1").answer_datagram(odd)
    assert fresh is not None and fresh[3] & 0xF == 3  # NXDOMAIN, not FORMERR
    service = DnsService(zones, identity="server1")
    rng = random.Random(252)
    for number in range(252):  # names of every length, with octets of every value
        label = bytes(rng.randrange(256) for _ in range(1 + number % 63))
        service.answer_datagram(query(wire_name([label, b"example", b"com"]), 1, number))
    assert service.answer_datagram(odd) == fresh
    for number in range(200):  # and every other name still gets its own answer
        name = wire_name([f"n{number}x{rng.random()}".encode(), b"wild", b"example", b"com"])
        wire = query(name, 1, number)
        assert service.answer_datagram(wire) == respond(zones, wire, tcp=False,
                                                        identity=b"server1")  # fmt: skip


def test_reload_drops_the_templates():
    service = DnsService(zones_from_text(("example.com.", ZONE)), identity="server1")
    service.answer_datagram(query(wire_name([b"abc", b"wild", b"example", b"com"]), 15, 1))
    assert len(service.templates) == 1
    service.replace_zones(zones_from_text(("example.com.", ZONE.replace("MX  10", "MX  20"))))
    assert len(service.templates) == 0
    wire = query(wire_name([b"def", b"wild", b"example", b"com"]), 15, 2)
    assert DNSRecord.parse(service.answer_datagram(wire)).rr[0].rdata.preference == 20


def test_the_templates_are_bounded_in_bytes():
    service = DnsService(zones_from_text(("example.com.", ZONE)), cache_size=80_000)
    for length in range(1, 60):  # one template per length: more than 80 kB / 4 would hold
        for parent in ([b"wild"], [b"nx"], [b"sub"]):
            name = wire_name([b"x" * length, *parent, b"example", b"com"])
            service.answer_datagram(query(name, 1, length))
            assert service.templates.size <= 20_000
