"""RFC 1035 §5 master files: one test per feature, with the records expected."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from dnslib import QTYPE, A

from minidns.zone import Zone, ZoneError, load_master_file, name_key, parse_master_file
from minidns.zone.rdata import rdata_to_wire, rrtype_name

SOA_LINE = "@ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n"

Row = tuple[str, str, int, str]


def load(text: str, origin: str = "example.com.", soa: bool = True) -> Zone:
    return parse_master_file((SOA_LINE if soa else "") + textwrap.dedent(text), origin, "t.zone")


def records(zone: Zone, without_soa: bool = True) -> set[Row]:
    """(owner, type, TTL, rdata text) of every record."""
    return {
        (str(rrset.name), rrtype_name(rrset.rtype), rrset.ttl, repr(rd))
        for rrset in zone.rrsets()
        for rd in rrset.rdatas
        if not (without_soa and rrset.rtype == QTYPE.SOA)
    }


def wire(zone: Zone, name: str, rtype: int) -> list[bytes]:
    rrset = zone.get(name_key(name), rtype)
    assert rrset is not None, f"no {rtype} at {name}"
    return [rdata_to_wire(rd) for rd in rrset.rdatas]


def error_of(text: str, origin: str = "example.com.") -> ZoneError:
    with pytest.raises(ZoneError) as raised:
        load(text, origin)
    return raised.value


# $ORIGIN, @, owners -------------------------------------------------------------------------


def test_origin_absolute_and_relative_joined_to_the_current_origin() -> None:
    zone = load("""\
        $ORIGIN sub
        www 60 A 192.0.2.1
        $ORIGIN deeper.sub.example.com.
        x 60 A 192.0.2.2
        $ORIGIN more
        y 60 A 192.0.2.3
        """)
    assert records(zone) == {
        ("www.sub.example.com.", "A", 60, "192.0.2.1"),
        ("x.deeper.sub.example.com.", "A", 60, "192.0.2.2"),
        ("y.more.deeper.sub.example.com.", "A", 60, "192.0.2.3"),
    }


def test_at_is_the_current_origin_in_owners_and_rdata() -> None:
    zone = load("""\
        @ 60 MX 10 @
        $ORIGIN sub.example.com.
        @ 60 CNAME @
        """)
    assert records(zone) == {
        ("example.com.", "MX", 60, "10 example.com."),
        ("sub.example.com.", "CNAME", 60, "sub.example.com."),
    }


def test_omitted_owner_is_the_previous_owner() -> None:
    zone = load("""\
        www 60 A 192.0.2.1
            60 AAAA 2001:db8::1
        \t60 TXT "tab"
        """)
    assert {row[0] for row in records(zone)} == {"www.example.com."}
    assert len(records(zone)) == 3


def test_relative_and_absolute_names_in_rdata() -> None:
    zone = load("""\
        a 60 CNAME target
        b 60 CNAME target.example.net.
        c 60 SRV 0 5 5060 sip
        d 60 NS .
        """)
    assert records(zone) == {
        ("a.example.com.", "CNAME", 60, "target.example.com."),
        ("b.example.com.", "CNAME", 60, "target.example.net."),
        ("c.example.com.", "SRV", 60, "0 5 5060 sip.example.com."),
        ("d.example.com.", "NS", 60, "."),
    }


def test_owner_names_keep_their_case_and_match_without_it() -> None:
    zone = load("WwW 60 A 192.0.2.1\nwww 60 A 192.0.2.2\n")
    rrset = zone.get(name_key("WWW.EXAMPLE.COM"), QTYPE.A)
    assert rrset is not None and str(rrset.name) == "WwW.example.com."
    assert len(rrset.rdatas) == 2


# TTLs and classes ---------------------------------------------------------------------------


def test_dollar_ttl_is_the_default_and_an_explicit_ttl_wins() -> None:
    zone = load("""\
        $TTL 1h
        a A 192.0.2.1
        b 30 A 192.0.2.2
        c A 192.0.2.3
        """)
    assert {(row[0], row[2]) for row in records(zone)} == {
        ("a.example.com.", 3600),
        ("b.example.com.", 30),
        ("c.example.com.", 3600),
    }


TTL_LESS_ZONE = """\
@ IN SOA ns1 hostmaster 1 7200 900 1209600 300
ns1 A 192.0.2.1
x 77 A 192.0.2.2
y A 192.0.2.3
"""


def test_without_dollar_ttl_the_last_explicit_ttl() -> None:
    zone = parse_master_file("@ 60 IN " + TTL_LESS_ZONE.partition(" IN ")[2], "example.com.")
    ttls = {row[0]: row[2] for row in records(zone)}
    assert ttls == {"ns1.example.com.": 60, "x.example.com.": 77, "y.example.com.": 77}


def test_without_any_ttl_the_soa_minimum_is_the_default() -> None:
    zone = parse_master_file(TTL_LESS_ZONE, "example.com.")
    assert zone.soa.ttl == 300  # as BIND does (RFC 2308 §4); PowerDNS would take 3600
    ttls = {row[0]: row[2] for row in records(zone)}
    assert ttls == {"ns1.example.com.": 300, "x.example.com.": 77, "y.example.com.": 300}


def test_a_record_with_no_ttl_to_take_is_an_error() -> None:
    with pytest.raises(ZoneError, match=r"t.zone:1: no TTL"):
        parse_master_file("www A 192.0.2.1\n@ 60 SOA ns1 h 1 2 3 4 5\n", "example.com.", "t.zone")


@pytest.mark.parametrize(
    ("ttl", "seconds"),
    [("90", 90), ("1h30m", 5400), ("1w", 604800), ("2D", 172800), ("1h1m1s", 3661), ("10M", 600)],
)
def test_ttl_units(ttl: str, seconds: int) -> None:
    assert records(load(f"a {ttl} A 192.0.2.1\n")) == {
        ("a.example.com.", "A", seconds, "192.0.2.1")
    }


@pytest.mark.parametrize("fields", ["60 IN A", "IN 60 A", "in 60 a", "60 in A", "60 CLASS1 A"])
def test_class_and_ttl_in_either_order_and_any_case(fields: str) -> None:
    assert records(load(f"a {fields} 192.0.2.1\n")) == {("a.example.com.", "A", 60, "192.0.2.1")}


def test_type_names_are_case_insensitive() -> None:
    zone = load("a 60 mX 10 mail\nb 60 txt x\nc 60 type1 192.0.2.1\n")
    assert records(zone) == {
        ("a.example.com.", "MX", 60, "10 mail.example.com."),
        ("b.example.com.", "TXT", 60, '"x"'),
        ("c.example.com.", "A", 60, "192.0.2.1"),
    }


def test_other_classes_are_refused() -> None:
    assert error_of("a 60 CH TXT x\n").reason == "class CH is not supported: only IN"


# Parentheses, comments, quoting, escapes ----------------------------------------------------


def test_parentheses_span_lines_and_comments_are_dropped() -> None:
    zone = parse_master_file(
        textwrap.dedent("""\
            @ 60 IN SOA ns1 hostmaster ( ; a comment (with a paren)
                    2024010101 ; serial
                    1h 15m     ; refresh, retry
                    2w
                    5m )
            @ 60 TXT ( "one" ; comment
                       "two" )
            """),
        "example.com.",
    )
    assert repr(zone.soa.rdatas[0]).split()[2:] == ["2024010101", "3600", "900", "1209600", "300"]
    assert records(zone) == {("example.com.", "TXT", 60, '"one" "two"')}


def test_crlf_line_ends() -> None:
    zone = load('a 60 A 192.0.2.1\r\n  60 TXT "x"\r\nb 60 MX ( 10\r\n mx )\r\n')
    assert records(zone) == {
        ("a.example.com.", "A", 60, "192.0.2.1"),
        ("a.example.com.", "TXT", 60, '"x"'),
        ("b.example.com.", "MX", 60, "10 mx.example.com."),
    }


def test_semicolon_and_parentheses_inside_quotes_are_text() -> None:
    zone = load('a 60 TXT "k=rsa; p=(one)" "x\\;y"\n')
    assert wire(zone, "a.example.com", QTYPE.TXT) == [b"\x0ek=rsa; p=(one)\x03x;y"]


def test_decimal_escapes_in_strings() -> None:
    # RFC 1035 §5.1: \DDD is decimal. \195\133 is "Å" in UTF-8 (dnslib reads it as octal).
    zone = load('a 60 TXT "\\195\\133LAND" "q\\"uote" back\\\\slash\n')
    assert wire(zone, "a.example.com", QTYPE.TXT) == [
        b"\x06\xc3\x85LAND" + b'\x06q"uote' + b"\x0aback\\slash"
    ]


def test_escapes_in_names_decimal_and_escaped_dot() -> None:
    zone = load("a\\065b 60 A 192.0.2.1\ndot\\.ted 60 A 192.0.2.2\nsp\\032ace 60 A 192.0.2.3\n")
    owners = {rrset.name.label for rrset in zone.rrsets() if rrset.rtype == QTYPE.A}
    assert owners == {
        (b"aAb", b"example", b"com"),
        (b"dot.ted", b"example", b"com"),
        (b"sp ace", b"example", b"com"),
    }


def test_unquoted_and_quoted_strings_are_the_same() -> None:
    zone = load('a 60 HINFO "PC Intel" Linux\n')
    assert wire(zone, "a.example.com", 13) == [b"\x08PC Intel\x05Linux"]


def test_txt_strings_of_255_octets_are_kept_and_longer_ones_refused() -> None:
    zone = load(f'a 60 TXT "{"x" * 255}" "short"\n')
    (data,) = wire(zone, "a.example.com", QTYPE.TXT)
    assert data == b"\xff" + b"x" * 255 + b"\x05short"
    with pytest.raises(ZoneError, match=r"t.zone:2: character-string longer than 255 octets"):
        load(f'a 60 TXT "{"x" * 256}"\n')


def test_empty_string() -> None:
    zone = load('a 60 TXT ""\n')
    assert wire(zone, "a.example.com", QTYPE.TXT) == [b"\x00"]


# RFC 3597 -----------------------------------------------------------------------------------


def test_unknown_type_in_generic_form() -> None:
    zone = load("a 60 TYPE65534 \\# 4 0a000001\nb 60 TYPE65226 \\# 3 41 4243\nc 60 TYPE260 \\# 0\n")
    assert wire(zone, "a.example.com", 65534) == [b"\x0a\x00\x00\x01"]
    assert wire(zone, "b.example.com", 65226) == [b"ABC"]
    assert wire(zone, "c.example.com", 260) == [b""]
    assert repr(zone.get(name_key("a.example.com"), 65534).rdatas[0]) == "\\# 4 0A000001"  # type: ignore[union-attr]


def test_generic_form_for_a_known_type_gives_its_typed_rdata() -> None:
    zone = load("a 60 A \\# 4 C0000201\nm 60 MX \\# 6 000a 026d7800\n")
    (address,) = zone.get(name_key("a.example.com"), QTYPE.A).rdatas  # type: ignore[union-attr]
    assert isinstance(address, A) and repr(address) == "192.0.2.1"
    assert records(zone) >= {("m.example.com.", "MX", 60, "10 mx.")}


def test_generic_form_of_a_known_type_may_not_hold_compression_pointers() -> None:
    reason = error_of("m 60 MX \\# 6 000a 01 61 c0 02\n").reason
    assert reason == "\\# data is not valid MX rdata: \\# rdata holds a compressed name"


def test_generic_form_length_must_match() -> None:
    assert (
        "\\# says 5 octets but the hex holds 4" in error_of("a 60 TYPE9999 \\# 5 0a000001\n").reason
    )


# $INCLUDE -----------------------------------------------------------------------------------


def test_include_relative_to_the_including_file_with_its_own_origin(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "hosts.inc").write_text(
        "www 60 A 192.0.2.1\n$ORIGIN deep\nx 60 A 192.0.2.2\n"
    )
    (tmp_path / "sub" / "plain.inc").write_text("www 60 A 192.0.2.3\n")
    (tmp_path / "zone").write_text(
        SOA_LINE
        + "$INCLUDE sub/hosts.inc inner.example.com.\n"
        + "after 60 A 192.0.2.4\n"  # RFC 1035 §5.1: the including file's origin is kept
        + "$INCLUDE sub/plain.inc\n"
    )
    zone = load_master_file(tmp_path / "zone", "example.com")
    assert records(zone) == {
        ("www.inner.example.com.", "A", 60, "192.0.2.1"),
        ("x.deep.inner.example.com.", "A", 60, "192.0.2.2"),
        ("after.example.com.", "A", 60, "192.0.2.4"),
        ("www.example.com.", "A", 60, "192.0.2.3"),
    }


def test_include_loop_is_an_error_naming_the_line(tmp_path: Path) -> None:
    (tmp_path / "a.inc").write_text("x 60 A 192.0.2.1\n$INCLUDE b.inc\n")
    (tmp_path / "b.inc").write_text("\n\n$INCLUDE a.inc\n")
    (tmp_path / "zone").write_text(SOA_LINE + "$INCLUDE a.inc\n")
    with pytest.raises(ZoneError) as raised:
        load_master_file(tmp_path / "zone", "example.com")
    assert raised.value.path == str(tmp_path / "b.inc")
    assert raised.value.line == 3
    assert "loop" in raised.value.reason


def test_missing_include_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "zone").write_text(SOA_LINE + "\n$INCLUDE nowhere.inc\n")
    with pytest.raises(ZoneError, match=r"zone:3: cannot \$INCLUDE nowhere.inc"):
        load_master_file(tmp_path / "zone", "example.com")


def test_a_file_that_is_not_utf8_keeps_its_octets(tmp_path: Path) -> None:
    (tmp_path / "zone").write_bytes(SOA_LINE.encode() + b'\xe9t\xe9 60 TXT "caf\xe9"\n')
    zone = load_master_file(tmp_path / "zone", "example.com")
    rrset = zone.get(b"\x03\xe9t\xe9\x07example\x03com\x00", QTYPE.TXT)
    assert rrset is not None and [rdata_to_wire(rd) for rd in rrset.rdatas] == [b"\x04caf\xe9"]


def test_missing_zone_file_is_an_error(tmp_path: Path) -> None:
    # No line number for the file as a whole: "path: reason", not "path:0: reason".
    with pytest.raises(ZoneError, match=r"absent: cannot read the zone file"):
        load_master_file(tmp_path / "absent", "example.com")


# $GENERATE ----------------------------------------------------------------------------------


def test_generate() -> None:
    zone = load("$GENERATE 1-3 host-$ 60 A 192.0.2.$\n$GENERATE 10-12/2 r${0,3,x} 60 CNAME t$\n")
    assert records(zone) == {
        ("host-1.example.com.", "A", 60, "192.0.2.1"),
        ("host-2.example.com.", "A", 60, "192.0.2.2"),
        ("host-3.example.com.", "A", 60, "192.0.2.3"),
        ("r00a.example.com.", "CNAME", 60, "t10.example.com."),
        ("r00c.example.com.", "CNAME", 60, "t12.example.com."),
    }


# Zone-level rules and errors ----------------------------------------------------------------


def test_duplicate_records_are_one_record() -> None:
    zone = load("a 60 A 192.0.2.1\na 60 A 192.0.2.1\n")
    assert len(records(zone)) == 1


def test_large_rrsets_keep_every_distinct_record_once() -> None:
    lines = "".join(f"rr 60 A 10.0.{i >> 8}.{i & 255}\n" for i in range(3000))
    zone = load(lines + "rr 60 A 10.0.0.7\nrr 60 A 10.0.0.7\n")
    rrset = zone.get(name_key("rr.example.com"), QTYPE.A)
    assert rrset is not None and len(rrset.rdatas) == 3000


def test_zone_without_soa_is_an_error() -> None:
    with pytest.raises(ZoneError, match="has no SOA"):
        load("a 60 A 192.0.2.1\n", soa=False)


def test_two_different_soas_are_an_error() -> None:
    assert "more than one SOA" in error_of("@ 60 SOA ns2 h 2 2 3 4 5\n").reason


def test_out_of_zone_data_is_an_error() -> None:
    error = error_of("a 60 A 192.0.2.1\nwww.example.org. 60 A 192.0.2.1\n")
    assert (error.line, error.reason) == (3, "www.example.org. is outside the zone example.com.")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("a 60 A 192.0.2.256", "bad IPv4 address '192.0.2.256'"),
        ("a 60 A", "A rdata ends early: missing IPv4 address"),
        ("a 60 A 192.0.2.1 extra", "A rdata has extra fields: 'extra'"),
        ("a 60 MX 70000 mx", "preference 70000 does not fit in 16 bits"),
        ("a 60 BOGUS x", "unknown record type 'BOGUS'"),
        ('a 60 TXT "open', "unterminated quoted string"),
        ("a 60 TXT ( x", "unbalanced parentheses: '(' is never closed"),
        ("a 60 TXT x )", "unbalanced parentheses: ')' without '('"),
        ('a 60 TXT "\\256"', "escape \\256 is not an octet (0-255)"),
        ("a 1x A 192.0.2.1", "bad TTL '1x'"),
        ("a 60 60 A 192.0.2.1", "two TTLs: 60 and 60"),
        ("$TTL", "$TTL takes 1 arguments"),
        ("$FOO bar", "unknown directive $FOO"),
        (" 60 A 192.0.2.1", None),  # fine: owner is the SOA's
        ("a..b 60 A 192.0.2.1", "empty label in name 'a..b'"),
        (f"{'x' * 64} 60 A 192.0.2.1", "label longer than 63 octets"),
        ("a 60 OPT \\# 0", "OPT is a meta type, not data (RFC 6895 §3.1)"),
    ],
)
def test_errors_name_the_file_the_line_and_the_reason(line: str, reason: str | None) -> None:
    if reason is None:
        load(line + "\n")
        return
    error = error_of(line + "\n")
    assert (error.path, error.line) == ("t.zone", 2)
    assert reason in error.reason
    assert str(error) == f"t.zone:2: {error.reason}"
