"""Typed rdata: wire forms from the RFCs' own examples, and every type against PowerDNS 4.7.

Differences to PowerDNS 4.7 found here: it reads TXT strings only in quotes (RFC 1035 §5.1
allows a bare word) and CERT types only as numbers (RFC 4398 §2.2 has mnemonics); minidns reads
both, so the zone given to PowerDNS uses quotes and numbers.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dnslib import QTYPE, RR, A, DNSLabel, DNSRecord

from minidns.zone import ZoneError, load_master_file, name_key, parse_master_file
from minidns.zone.rdata import DNAME, rdata_to_wire, rrtype_name
from tests.conftest import require_programs
from tests.minidns.pdns_bind import axfr, start_pdns, stop_pdns, wait_for_pdns, zone_records

HEAD = "$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n"


def rdata_of(line: str, origin: str = "example.com.") -> bytes:
    """The uncompressed wire rdata of the one record on `line` (owner ``x``)."""
    zone = parse_master_file(HEAD + "x " + line + "\n", origin)
    (rrset,) = [r for r in zone.rrsets() if name_key(r.name) == name_key(f"x.{origin}")]
    (rd,) = rrset.rdatas
    return rdata_to_wire(rd)


def name(text: str) -> bytes:
    return b"".join(bytes((len(p),)) + p.encode() for p in text.rstrip(".").split(".")) + b"\0"


# Examples with their wire form given in the RFCs --------------------------------------------


def test_nsec_rfc4034_section_4_3() -> None:
    data = rdata_of("NSEC host.example.com. ( A MX RRSIG NSEC TYPE1234 )")
    bitmap = bytes.fromhex("0006400100000003 041b" + "00" * 26 + "20")
    assert data == name("host.example.com") + bitmap


@pytest.mark.parametrize(
    ("svcb", "expected_hex"),
    [
        # RFC 9460 Appendix D.1 and D.2
        ("0 foo.example.com.", "0000 03666f6f076578616d706c6503636f6d00"),
        ("1 .", "0001 00"),
        ("16 foo.example.com. port=53", "0010 03666f6f076578616d706c6503636f6d00 0003 0002 0035"),
        (
            "1 foo.example.com. key667=hello",
            "0001 03666f6f076578616d706c6503636f6d00 029b 0005 68656c6c6f",
        ),
        (
            '1 foo.example.com. key667="hello\\210qoo"',
            "0001 03666f6f076578616d706c6503636f6d00 029b 0009 68656c6c6fd2716f6f",
        ),
        (
            '1 foo.example.com. ipv6hint="2001:db8::1,2001:db8::53:1"',
            "0001 03666f6f076578616d706c6503636f6d00 0006 0020"
            " 20010db8000000000000000000000001 20010db8000000000000000000530001",
        ),
        (
            "16 foo.example.org. alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1",
            "0010 03666f6f076578616d706c65036f726700 0000 0004 00010004"
            " 0001 0009 026832 05683333d3139 0004 0004 c0000201".replace(
                "05683333d3139", "0568332d3139"
            ),
        ),
        (
            '16 foo.example.org. alpn="f\\\\\\\\oo\\\\,bar,h2"',
            "0010 03666f6f076578616d706c65036f726700 0001 000c 08665c6f6f2c626172 026832",
        ),
    ],
)
def test_svcb_rfc9460_appendix_d(svcb: str, expected_hex: str) -> None:
    assert rdata_of("SVCB " + svcb) == bytes.fromhex(expected_hex.replace(" ", ""))


def test_svcb_dohpath_ohttp_and_tls_supported_groups() -> None:
    data = rdata_of("HTTPS 1 . dohpath=/q{?dns} ohttp tls-supported-groups=29,23 no-default-alpn")
    assert data == bytes.fromhex(
        "0001 00 0002 0000 0007 0008 2f717b3f646e737d 0008 0000 0009 0004 001d 0017".replace(
            " ", ""
        )
    )


def test_loc_rfc1876_example() -> None:
    # RFC 1876 Appendix A's example, cambridge-net.kei.com: 42 21 54 N 71 06 18 W -24m 30m
    data = rdata_of("LOC 42 21 54 N 71 06 18 W -24m 30m")
    latitude = 2**31 + (42 * 3600 + 21 * 60 + 54) * 1000
    longitude = 2**31 - (71 * 3600 + 6 * 60 + 18) * 1000
    assert data == bytes((0, 0x33, 0x16, 0x13)) + b"".join(
        value.to_bytes(4, "big") for value in (latitude, longitude, 10000000 - 2400)
    )


def test_rrsig_times_as_dates_or_seconds() -> None:
    line = "RRSIG A 8 3 300 20240102030405 1700000000 12345 example.com. AAEC"
    data = rdata_of(line)
    expiration = int(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp())
    assert data[:18] == struct.pack("!HBBIIIH", 1, 8, 3, 300, expiration, 1700000000, 12345)
    assert data[18:] == name("example.com") + b"\x00\x01\x02"


def test_nsec3_and_nsec3param() -> None:
    data = rdata_of("NSEC3 1 1 12 aabbccdd 2t7b4g4vsa5smi47k61mv5bv1a22bojr NS SOA")
    assert data[:10] == bytes.fromhex("01 01 000c 04 aabbccdd 14".replace(" ", ""))
    assert len(data) == 10 + 20 + 3
    assert data[-3:] == bytes.fromhex("000122")  # window 0: NS (2) and SOA (6)
    assert rdata_of("NSEC3PARAM 1 0 0 -") == bytes.fromhex("0100000000")


def test_dname_is_not_compressed_and_answers_like_a_cname() -> None:
    zone = parse_master_file(HEAD + "d DNAME target\n", "example.com.")
    (rd,) = zone.get(name_key("d.example.com"), QTYPE.DNAME).rdatas  # type: ignore[union-attr]
    assert isinstance(rd, DNAME) and rd.label == DNSLabel("target.example.com.")
    message = DNSRecord()
    message.add_answer(
        RR("target.example.com", QTYPE.A, rdata=A("192.0.2.1")),
        RR("d.example.com", QTYPE.DNAME, rdata=rd),
    )
    packed = message.pack()
    assert packed.endswith(name("target.example.com"))  # RFC 6672 §2.5: not a pointer


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            'CAA 0 issue "ca.example.net; account=230123"',
            b"\x00\x05issueca.example.net; account=230123",
        ),
        (
            'URI 10 1 "ftp://ftp1.example.com/public"',
            b"\x00\x0a\x00\x01ftp://ftp1.example.com/public",
        ),
        ("EUI48 00-00-5e-00-53-2a", bytes.fromhex("00005e00532a")),
        ("EUI64 00-00-5e-ef-10-00-00-2a", bytes.fromhex("00005eef1000002a")),
        ("CERT PGP 0 0 AQID", b"\x00\x03\x00\x00\x00\x01\x02\x03"),
        (
            "DS 60485 RSASHA1 1 2BB183AF5F22588179A53B0A 98631FAD1A292118",
            bytes.fromhex("ec4505012bb183af5f22588179a53b0a98631fad1a292118"),
        ),
        ("AFSDB 1 afs.example.com.", b"\x00\x01" + name("afs.example.com")),
        ("DNSKEY 256 3 RSASHA256 AwEA AQ==", bytes.fromhex("0100030803010001")),
        ("CDNSKEY 257 3 13 AQID", bytes.fromhex("0101030d010203")),
        (
            "ZONEMD 2018031900 1 1 ( c680 90d9 )",
            bytes.fromhex("7848b91c 01 01 c68090d9".replace(" ", "")),
        ),
    ],
)
def test_typed_rdata_wire(line: str, expected: bytes) -> None:
    assert rdata_of(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "SVCB 1 . port=1 port=2",
        "SVCB 1 . alpn",
        "SVCB 1 . ipv4hint=2001:db8::1",
        "SVCB 1 . nonsense=1",
        "NSEC3 1 1 12 aabbccdd !!! NS",
        "DNSKEY 256 3 8 not*base64",
        "DS 1 8 2 abc",
        "LOC 91 0 0 N 0 E 0m",
        "EUI48 00-00-5e-00-53",
        "CAA 0 is-sue x",
        "TLSA 3 1 1",
        "RRSIG A 8 3 300 20241302030405 1700000000 1 example.com. AAEC",
    ],
)
def test_bad_typed_rdata_is_a_zone_error(line: str) -> None:
    with pytest.raises(ZoneError) as raised:
        rdata_of(line)
    assert raised.value.line == 5


# Every type, as PowerDNS 4.7 reads and sends it ---------------------------------------------

EVERY_TYPE = (
    HEAD
    + r"""
a            A      192.0.2.1
aaaa         AAAA   2001:db8::1
cname        CNAME  a
dname        DNAME  example.net.
mx           MX     10 mail.example.net.
ptr          PTR    a.example.com.
txt          TXT    "one" "two" "\"three\"" "\195\133" "semi;colon"
spf          SPF    "v=spf1 -all"
srv          SRV    0 5 5060 sip
naptr        NAPTR  100 50 "s" "SIP+D2U" "" _sip._udp
naptr2       NAPTR  100 10 "" "" "!^.*$!sip:info@example.com!" .
hinfo        HINFO  "PC Intel" Linux
caa          CAA    0 issue "ca.example.net"
caa          CAA    128 iodef "mailto:security@example.com"
sshfp        SSHFP  1 1 123456789abcdef67890123456789abcdef67890
tlsa         TLSA   3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
smimea       SMIMEA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
sub          NS     ns.sub
ns.sub       A      192.0.2.2
sub          DS     60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118
loc          LOC    52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m
loc          LOC    42 21 54 N 71 06 18 W -24m 30m
rp           RP     mbox.example.com. txt
afsdb        AFSDB  1 afs.example.com.
kx           KX     10 kx.example.com.
cert         CERT   3 0 0 AQIDBAUGBwgJ
svcb         SVCB   1 svc alpn=h2,h3 port=8443 ipv4hint=192.0.2.1 ech=AAEC ipv6hint=2001:db8::1
svcb         SVCB   0 alias.example.net.
https        HTTPS  1 . alpn=h3 no-default-alpn mandatory=alpn
uri          URI    10 1 "https://www.example.com/"
openpgpkey   OPENPGPKEY AQIDBAUGBwgJCgsMDQ4P
eui48        EUI48  00-00-5e-00-53-2a
eui64        EUI64  00-00-5e-ef-10-00-00-2a
minfo        MINFO  rmail emaill
mb           MB     mailhost
mg           MG     member
mr           MR     renamed
nsec3param   NSEC3PARAM 1 0 0 -
unknown      TYPE65534 \# 5 07ED260001
zonemd       ZONEMD 1 1 1 ( 0123456789abcdef0123456789abcdef0123456789abcdef
                            0123456789abcdef0123456789abcdef0123456789abcdef )
Escaped\.Dot A      192.0.2.3
spaced\032name A    192.0.2.4
"""
)


@pytest.mark.interop
def test_every_type_has_the_wire_form_powerdns_sends(tmp_path: Path) -> None:
    require_programs("pdns_server")
    zones_dir = tmp_path / "zones"
    zones_dir.mkdir()
    (zones_dir / "types.test").write_text(EVERY_TYPE.replace("example.com.", "types.test."))
    process, port = start_pdns(tmp_path / "pdns", zones_dir, [("types.test", "types.test")])
    try:
        wait_for_pdns(process, port, "types.test")
        served = axfr(port, "types.test")
    finally:
        stop_pdns(process)
    loaded = zone_records(load_master_file(zones_dir / "types.test", "types.test"))
    assert served is not None, (tmp_path / "pdns" / "pdns.log").read_text(errors="replace")
    differing = {record[0] for record in (served - loaded) + (loaded - served)}
    assert differing == {name_key(f"{owner}.types.test") for owner in PDNS_DIFFERENCES}
    assert sum(served.values()) == sum(loaded.values()) - 1  # NSEC3PARAM


# Records where PowerDNS 4.7 and minidns differ, and why.
PDNS_DIFFERENCES = {
    # PowerDNS 4.7 leaves a relative name in these types' rdata unqualified (a name ending in
    # the root label); RFC 1035 §5.1 appends the origin, as minidns does.
    "mb": "relative name",
    "mg": "relative name",
    "mr": "relative name",
    "minfo": "relative name",
    "naptr": "relative name",
    "svcb": "relative name",
    # PowerDNS 4.7 leaves NSEC3PARAM out of the AXFR of a zone it does not sign itself.
    "nsec3param": "not in AXFR",
}


def test_every_type_loads() -> None:
    zone = parse_master_file(EVERY_TYPE, "example.com.")
    types = {rrtype_name(rrset.rtype) for rrset in zone.rrsets()}
    assert types >= {
        *("A", "AAAA", "NS", "CNAME", "DNAME", "SOA", "MX", "TXT", "SPF", "PTR", "SRV", "NAPTR"),
        *("HINFO", "CAA", "SSHFP", "TLSA", "DS", "LOC", "RP", "AFSDB", "KX", "CERT", "SVCB"),
        *("HTTPS", "URI", "OPENPGPKEY", "EUI48", "EUI64", "ZONEMD", "MINFO", "MB", "MG", "MR"),
    }
