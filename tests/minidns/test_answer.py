"""One test per answering rule of minidns.answer / minidns.respond, on small in-memory zones."""

from __future__ import annotations

import pytest
from dnslib import CLASS, EDNS0, QTYPE, RCODE, DNSRecord, EDNSOption
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.dns_fuzz import reply_problems
from minidns.answer import MAX_CHAIN
from minidns.respond import respond
from minidns.zone.rdata.generic import rdata_from_wire
from tests.minidns.zonetext import zones_from_text

EXAMPLE = """
@        3600 IN SOA ns1 hostmaster 2024010101 3600 600 86400 300
@        IN NS    ns1
@        IN NS    ns2.elsewhere.net.
@        IN MX    10 mail
@        IN MX    20 mx.elsewhere.net.
ns1      IN A     192.0.2.53
ns1      IN AAAA  2001:db8::53
mail     IN A     192.0.2.25
www      IN CNAME host
host     IN A     192.0.2.1
out      IN CNAME www.elsewhere.net.
loop1    IN CNAME loop2
loop2    IN CNAME loop1
*.wild   IN A     192.0.2.9
*.wild   IN TXT   "wildcard"
exact.wild IN A   192.0.2.10
*.wcname IN CNAME host
sub      IN NS    ns.sub
sub      IN DS    12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE
ns.sub   IN A     192.0.2.77
d        IN DNAME other.example.com.
a.b.c    IN TXT   "deep"
_sip._udp IN SRV  0 5 5060 host.example.com.
tocross  IN CNAME www.other.example.com.
"""

OTHER = """
@   IN SOA ns1.example.com. hostmaster.example.com. 1 3600 600 86400 60
@   IN NS  ns1.example.com.
www IN A   198.51.100.1
"""


@pytest.fixture
def zones():
    return zones_from_text(("example.com.", EXAMPLE), ("other.example.com.", OTHER))


def answer(zones, query: DNSRecord, identity: str = "", tcp: bool = False) -> DNSRecord:
    """minidns's response to a query, parsed back."""
    wire = respond(zones, bytes(query.pack()), tcp=tcp, identity=identity.encode())
    return DNSRecord.parse(wire)


def ask(zones, name, qtype="A", qclass="IN", **kwargs):
    query = DNSRecord.question(name, qtype, qclass)
    query.header.rd = 0
    for key, value in kwargs.items():
        setattr(query.header, key, value)
    return answer(zones, query, identity="server1")


def rrs(section):
    return sorted((str(rr.rname).lower(), QTYPE[rr.rtype], rdata_text(rr)) for rr in section)


def rdata_text(rr) -> str:
    if rr.rtype == QTYPE.DNAME:  # dnslib's parser does not know DNAME
        return str(rdata_from_wire(rr.rtype, bytes(rr.rdata.data))).lower()
    return str(rr.rdata).lower()


def test_authoritative_answer_sets_aa(zones):
    response = ask(zones, "host.example.com")
    assert response.header.aa == 1
    assert response.header.rcode == RCODE.NOERROR
    assert rrs(response.rr) == [("host.example.com.", "A", "192.0.2.1")]


def test_nxdomain_has_soa_with_negative_ttl(zones):
    response = ask(zones, "nope.example.com")
    assert response.header.rcode == RCODE.NXDOMAIN
    assert response.header.aa == 1
    assert [QTYPE[rr.rtype] for rr in response.auth] == ["SOA"]
    assert response.auth[0].ttl == 300  # RFC 2308 §3: min(SOA TTL 3600, MINIMUM 300)


def test_nodata_has_soa_and_noerror(zones):
    response = ask(zones, "host.example.com", "MX")
    assert response.header.rcode == RCODE.NOERROR
    assert response.rr == []
    assert [QTYPE[rr.rtype] for rr in response.auth] == ["SOA"]


def test_empty_non_terminal_is_nodata_not_nxdomain(zones):
    response = ask(zones, "b.c.example.com", "A")
    assert response.header.rcode == RCODE.NOERROR
    assert [QTYPE[rr.rtype] for rr in response.auth] == ["SOA"]


def test_cname_chain_followed_inside_our_zones(zones):
    response = ask(zones, "www.example.com")
    assert rrs(response.rr) == [
        ("host.example.com.", "A", "192.0.2.1"),
        ("www.example.com.", "CNAME", "host.example.com."),
    ]


def test_cname_across_served_zones_is_followed(zones):
    response = ask(zones, "tocross.example.com")
    assert ("www.other.example.com.", "A", "198.51.100.1") in rrs(response.rr)


def test_cname_out_of_our_zones_stops_there(zones):
    response = ask(zones, "out.example.com")
    assert rrs(response.rr) == [("out.example.com.", "CNAME", "www.elsewhere.net.")]
    assert response.header.rcode == RCODE.NOERROR


def test_cname_query_for_cname_type_is_not_followed(zones):
    response = ask(zones, "www.example.com", "CNAME")
    assert rrs(response.rr) == [("www.example.com.", "CNAME", "host.example.com.")]


def test_cname_loop_is_stopped_with_servfail(zones):
    response = ask(zones, "loop1.example.com")
    assert response.header.rcode == RCODE.SERVFAIL
    assert response.rr == []


def test_long_cname_chain_is_cut_at_the_limit():
    chain = "\n".join(f"c{i} IN CNAME c{i + 1}" for i in range(MAX_CHAIN + 2))
    zones = zones_from_text(("example.com.", EXAMPLE + chain + f"\nc{MAX_CHAIN + 2} IN A 1.2.3.4"))
    assert ask(zones, "c0.example.com").header.rcode == RCODE.SERVFAIL
    assert ask(zones, f"c{3}.example.com").header.rcode == RCODE.NOERROR


def test_wildcard_synthesizes_the_query_name(zones):
    response = ask(zones, "Any.Thing.wild.example.com")
    assert rrs(response.rr) == [("any.thing.wild.example.com.", "A", "192.0.2.9")]
    assert response.header.aa == 1


def test_wildcard_does_not_match_existing_names(zones):
    assert rrs(ask(zones, "exact.wild.example.com").rr) == [
        ("exact.wild.example.com.", "A", "192.0.2.10")
    ]
    # RFC 4592 §2.2.1: an existing name (here with no TXT) blocks the wildcard: NODATA
    response = ask(zones, "exact.wild.example.com", "TXT")
    assert response.rr == [] and response.header.rcode == RCODE.NOERROR


def test_wildcard_nodata_for_missing_type(zones):
    response = ask(zones, "x.wild.example.com", "MX")
    assert response.header.rcode == RCODE.NOERROR
    assert [QTYPE[rr.rtype] for rr in response.auth] == ["SOA"]


def test_wildcard_cname_is_followed(zones):
    response = ask(zones, "foo.wcname.example.com")
    assert rrs(response.rr) == [
        ("foo.wcname.example.com.", "CNAME", "host.example.com."),
        ("host.example.com.", "A", "192.0.2.1"),
    ]


def test_wildcard_below_empty_non_terminal_does_not_reach_siblings():
    zones = zones_from_text(("example.com.", EXAMPLE + "\n*.a.b.c IN A 10.0.0.1\n"))
    assert ask(zones, "x.a.b.c.example.com").header.rcode == RCODE.NOERROR
    # the closest encloser of x.b.c is b.c, which has no wildcard child: NXDOMAIN
    assert ask(zones, "x.b.c.example.com").header.rcode == RCODE.NXDOMAIN


def test_delegation_is_a_referral_with_glue(zones):
    response = ask(zones, "www.sub.example.com")
    assert response.header.aa == 0
    assert response.rr == []
    assert rrs(response.auth) == [("sub.example.com.", "NS", "ns.sub.example.com.")]
    assert rrs(response.ar) == [("ns.sub.example.com.", "A", "192.0.2.77")]


def test_ds_at_a_delegation_is_answered_by_the_parent(zones):
    response = ask(zones, "sub.example.com", "DS")
    assert response.header.aa == 1
    assert [QTYPE[rr.rtype] for rr in response.rr] == ["DS"]


def test_dname_synthesizes_a_cname(zones):
    response = ask(zones, "WWW.d.example.com")
    assert rrs(response.rr) == [
        ("d.example.com.", "DNAME", "other.example.com."),
        ("www.d.example.com.", "CNAME", "www.other.example.com."),
        ("www.other.example.com.", "A", "198.51.100.1"),
    ]
    assert response.rr[1].ttl == response.rr[0].ttl  # RFC 6672 §3.1


def test_dname_owner_itself_is_not_rewritten(zones):
    response = ask(zones, "d.example.com", "DNAME")
    assert rrs(response.rr) == [("d.example.com.", "DNAME", "other.example.com.")]


def test_dname_substitution_too_long_is_yxdomain(zones):
    name = ".".join(["a" * 60] * 3) + ".d.example.com"
    long_target = zones_from_text(
        ("example.com.", EXAMPLE.replace("other.example.com.", "x" * 60 + ".other.example.com."))
    )
    response = ask(long_target, name)
    assert response.header.rcode == RCODE.YXDOMAIN
    assert [QTYPE[rr.rtype] for rr in response.rr] == ["DNAME"]


def test_additional_addresses_for_mx_ns_srv_targets_in_zone(zones):
    mx = ask(zones, "example.com", "MX")
    assert rrs(mx.ar) == [("mail.example.com.", "A", "192.0.2.25")]
    ns = ask(zones, "example.com", "NS")
    assert rrs(ns.ar) == [
        ("ns1.example.com.", "A", "192.0.2.53"),
        ("ns1.example.com.", "AAAA", "2001:db8::53"),
    ]
    srv = ask(zones, "_sip._udp.example.com", "SRV")
    assert rrs(srv.ar) == [("host.example.com.", "A", "192.0.2.1")]


def test_any_returns_every_rrset_of_the_name_over_tcp(zones):
    query = DNSRecord.question("example.com", "ANY")
    response = answer(zones, query, tcp=True)
    assert sorted({QTYPE[rr.rtype] for rr in response.rr}) == ["MX", "NS", "SOA"]


def test_any_over_udp_is_sent_to_tcp(zones):
    response = ask(zones, "example.com", "ANY")
    assert response.header.tc == 1 and response.rr == []
    assert response.header.rcode == RCODE.NOERROR


def test_names_outside_our_zones_are_refused(zones):
    response = ask(zones, "example.org")
    assert response.header.rcode == RCODE.REFUSED
    assert response.header.aa == 0


def test_question_case_is_kept(zones):
    wire = DNSRecord.question("HoSt.ExAmPlE.cOm", "A").pack()
    response = DNSRecord.parse(respond(zones, wire, tcp=False))
    assert str(response.q.qname) == "HoSt.ExAmPlE.cOm."


def test_unknown_opcode_is_notimp(zones):
    response = ask(zones, "example.com", opcode=2)
    assert response.header.rcode == RCODE.NOTIMP


def test_two_questions_is_formerr(zones):
    query = DNSRecord.question("example.com")
    query.add_question(*DNSRecord.question("www.example.com").questions)
    assert answer(zones, query).header.rcode == RCODE.FORMERR


def test_garbage_after_header_is_formerr_and_short_garbage_dropped(zones):
    response = respond(
        zones, b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xff\xff", tcp=False
    )
    parsed = DNSRecord.parse(response)
    assert parsed.header.id == 0x1234 and parsed.header.rcode == RCODE.FORMERR
    assert respond(zones, b"\x12\x34\x00", tcp=False) is None


def test_responses_are_never_answered(zones):
    reply = ask(zones, "example.com").pack()
    assert respond(zones, reply, tcp=False) is None


def test_edns_do_bit_and_buffer_are_echoed(zones):
    query = DNSRecord.question("host.example.com")
    query.add_ar(EDNS0(udp_len=4096, flags="do"))
    response = answer(zones, query)
    opt = [rr for rr in response.ar if rr.rtype == QTYPE.OPT]
    assert len(opt) == 1 and opt[0].edns_do == 1 and opt[0].edns_len == 1232


def test_edns_version_above_zero_is_badvers(zones):
    query = DNSRecord.question("host.example.com")
    query.add_ar(EDNS0(udp_len=4096, version=1))
    response = answer(zones, query)
    opt = response.ar[0]
    assert response.rr == []
    assert (opt.edns_rcode << 4) | response.header.rcode == 16  # RFC 6891 §9: BADVERS
    assert opt.edns_ver == 0


def test_edns_unknown_options_are_ignored(zones):
    query = DNSRecord.question("host.example.com")
    query.add_ar(EDNS0(udp_len=1232, opts=[EDNSOption(65001, b"\x01\x02")]))
    response = answer(zones, query)
    assert response.header.rcode == RCODE.NOERROR and len(response.rr) == 1


def test_two_opt_records_is_formerr(zones):
    query = DNSRecord.question("host.example.com")
    query.add_ar(EDNS0(udp_len=1232))
    query.add_ar(EDNS0(udp_len=1232))
    assert answer(zones, query).header.rcode == RCODE.FORMERR


def test_nsid_returns_identity(zones):
    query = DNSRecord.question("host.example.com")
    query.add_ar(EDNS0(udp_len=1232, opts=[EDNSOption(3, b"")]))
    opt = answer(zones, query, identity="server1").ar[-1]
    assert [(option.code, option.data) for option in opt.rdata] == [(3, b"server1")]


@pytest.mark.parametrize("name", ["id.server", "hostname.bind", "ID.SERVER"])
def test_chaos_txt_returns_identity(zones, name):
    response = ask(zones, name, "TXT", "CH")
    assert response.header.rcode == RCODE.NOERROR
    assert [(rr.rclass, str(rr.rdata)) for rr in response.rr] == [(CLASS.CH, '"server1"')]


@pytest.mark.parametrize("identity", ["s" * 300, "serveur-é"])
def test_chaos_txt_carries_any_identity_whole(zones, identity):
    """An identity over 255 octets goes as several character-strings (RFC 1035 §3.3.14)."""
    query = DNSRecord.question("id.server", "TXT", "CH")
    response = answer(zones, query, identity=identity, tcp=True)
    assert response.header.rcode == RCODE.NOERROR
    assert b"".join(response.rr[0].rdata.data) == identity.encode()


def test_udp_truncation_drops_all_records_and_sets_tc():
    many = "\n".join(f"big IN A 10.0.{i // 250}.{i % 250}" for i in range(60))
    zones = zones_from_text(("example.com.", EXAMPLE + many))
    wire = DNSRecord.question("big.example.com").pack()
    udp = DNSRecord.parse(respond(zones, wire, tcp=False))
    assert udp.header.tc == 1 and udp.rr == [] and udp.ar == []
    tcp = DNSRecord.parse(respond(zones, wire, tcp=True))
    assert tcp.header.tc == 0 and len(tcp.rr) == 60
    query = DNSRecord.question("big.example.com")
    query.add_ar(EDNS0(udp_len=4096))
    edns = DNSRecord.parse(respond(zones, query.pack(), tcp=False))
    assert edns.header.tc == 0 and len(edns.rr) == 60  # 60 records of 16 octets fit in 1232


def test_a_bug_in_the_answer_gives_servfail_not_an_exception(zones, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("minidns.respond.locate", broken)
    response = answer(zones, DNSRecord.question("host.example.com"))
    assert response.header.rcode == RCODE.SERVFAIL
    assert str(response.q.qname) == "host.example.com."


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
def test_any_bytes_get_an_answer_or_nothing_never_an_exception(data):
    zones = zones_from_text(("example.com.", EXAMPLE))
    for tcp in (False, True):
        response = respond(zones, data, tcp=tcp)
        if response is not None:
            assert reply_problems(data, response, tcp=tcp) == []


@settings(max_examples=200, deadline=None)
@given(flips=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 255)), max_size=4))
def test_damaged_queries_never_raise(flips):
    zones = zones_from_text(("example.com.", EXAMPLE))
    query = DNSRecord.question("www.example.com", "A")
    query.add_ar(EDNS0(udp_len=1232, opts=[EDNSOption(3, b"")]))
    wire = bytearray(query.pack())
    for position, value in flips:
        if position < len(wire):
            wire[position] = value
    response = respond(zones, bytes(wire), tcp=False)
    assert response is None or reply_problems(bytes(wire), response, tcp=False) == []


def test_a_response_too_big_even_for_tcp_is_truncated():
    big = "\n".join(f'huge IN TXT "{i:04d}{"x" * 250}"' for i in range(300))
    zones = zones_from_text(("example.com.", EXAMPLE + big))
    response = DNSRecord.parse(respond(zones, DNSRecord.question("huge.example.com", "TXT").pack(),
                                       tcp=True))  # fmt: skip
    assert response.header.tc == 1 and response.rr == []
