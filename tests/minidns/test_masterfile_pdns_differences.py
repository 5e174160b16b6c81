"""Each place where PowerDNS 4.7's bind backend reads a master file differently from minidns.

Every case is one small zone served by one pdns_server; the test asserts what PowerDNS does
(so a PowerDNS that changes shows up here) and what minidns does instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dnslib import QTYPE

from minidns.zone import load_master_file, name_key
from tests.conftest import require_programs
from tests.minidns.pdns_bind import (
    Record,
    axfr,
    start_pdns,
    stop_pdns,
    wait_for_pdns,
    zone_records,
)

HEAD = "$TTL 60\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n"


@dataclass
class Case:
    zone_text: str
    powerdns_serves: bool  # False: PowerDNS refuses the zone or breaks off its AXFR
    files: dict[str, str] = field(default_factory=dict)  # $INCLUDE files beside the zone


CASES = {
    # RFC 1035 §5.1: a relative $ORIGIN is relative to the current origin. PowerDNS takes it
    # as absolute, so "e" lands in "sub.", outside the zone, and the zone is refused.
    "relative-origin": Case(HEAD + "$ORIGIN sub\ne A 192.0.2.1\n", powerdns_serves=False),
    # RFC 3597 §5: \# is allowed for known types too. PowerDNS loads it, then fails the AXFR.
    "generic-rdata-for-a": Case(HEAD + "a A \\# 4 C0000201\n", powerdns_serves=False),
    # RFC 1035 §5.1: each bare word is a <character-string>. PowerDNS takes the rest of the
    # line as one string (and refuses bare words mixed with quoted strings).
    "unquoted-txt": Case(HEAD + "t TXT bare word\n", powerdns_serves=True),
    # RFC 9460 §2.1: SvcParam values may be quoted. PowerDNS 4.7 reads them only bare.
    "quoted-svcparam": Case(HEAD + 's SVCB 1 . port="53"\n', powerdns_serves=False),
    # RFC 9461 §5 dohpath: unknown to PowerDNS 4.7.
    "dohpath": Case(HEAD + "s SVCB 1 . alpn=h2 dohpath=/q{?dns}\n", powerdns_serves=False),
    # RFC 4398 §2.2: CERT type mnemonics. PowerDNS 4.7 reads numbers only.
    "cert-mnemonic": Case(HEAD + "c CERT PGP 0 0 AQID\n", powerdns_serves=False),
    # TTLs with several units (BIND's "1h30m"): PowerDNS 4.7 refuses them on a record (and
    # mis-reads them in $TTL); single units ("90m") it reads.
    "compound-ttl-units": Case(HEAD + "a 1h30m A 192.0.2.1\n", powerdns_serves=False),
    # RFC 1035 §5.1: "$INCLUDE file origin" reads the file with that origin. PowerDNS 4.7
    # ignores the origin argument.
    "include-origin": Case(
        HEAD + "$INCLUDE include-origin.inc sub.include-origin.test.\n",
        powerdns_serves=True,
        files={"include-origin.inc": "@ A 192.0.2.1\n"},
    ),
    # No TTL anywhere: BIND (and minidns) take the SOA MINIMUM, PowerDNS takes 3600.
    "no-ttl": Case(
        "@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n",
        powerdns_serves=True,
    ),
}


@pytest.fixture(scope="module")
def transfers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, object]]]:
    require_programs("pdns_server")
    base = tmp_path_factory.mktemp("differences")
    zones_dir = base / "zones"
    zones_dir.mkdir()
    zones = []
    for label, case in CASES.items():
        (zones_dir / label).write_text(case.zone_text)
        for name, text in case.files.items():
            (zones_dir / name).write_text(text)
        zones.append((label, f"{label}.test"))
    process, port = start_pdns(base / "pdns", zones_dir, zones)
    try:
        wait_for_pdns(process, port, "no-ttl.test")
        served: dict[str, object] = {label: axfr(port, origin) for label, origin in zones}
    finally:
        stop_pdns(process)
    yield zones_dir, served


@pytest.mark.interop
@pytest.mark.parametrize(
    "label", [label for label, case in CASES.items() if not case.powerdns_serves]
)
def test_powerdns_does_not_serve_what_minidns_loads(
    transfers: tuple[Path, dict[str, object]], label: str
) -> None:
    zones_dir, served = transfers
    assert served[label] is None
    zone = load_master_file(zones_dir / label, f"{label}.test")
    assert len(list(zone.rrsets())) >= 4


@pytest.mark.interop
def test_without_any_ttl_powerdns_takes_3600_and_minidns_the_soa_minimum(
    transfers: tuple[Path, dict[str, object]],
) -> None:
    zones_dir, served = transfers
    powerdns = served["no-ttl"]
    assert isinstance(powerdns, Counter)
    minidns: Counter[Record] = zone_records(load_master_file(zones_dir / "no-ttl", "no-ttl.test"))
    assert {ttl for _, _, ttl, _ in powerdns} == {3600}
    assert {ttl for _, _, ttl, _ in minidns} == {300}
    assert {(n, t, d) for n, t, _, d in powerdns} == {(n, t, d) for n, t, _, d in minidns}


@pytest.mark.interop
def test_bare_txt_words_are_one_string_in_powerdns_and_one_string_each_in_minidns(
    transfers: tuple[Path, dict[str, object]],
) -> None:
    zones_dir, served = transfers
    powerdns = served["unquoted-txt"]
    assert isinstance(powerdns, Counter)
    zone = load_master_file(zones_dir / "unquoted-txt", "unquoted-txt.test")
    minidns = zone_records(zone)
    txt_key = name_key("t.unquoted-txt.test")
    assert [d for n, t, _, d in powerdns if n == txt_key] == [b"\x09bare word"]
    assert [d for n, t, _, d in minidns if n == txt_key] == [b"\x04bare\x04word"]


@pytest.mark.interop
def test_include_origin_is_ignored_by_powerdns_and_used_by_minidns(
    transfers: tuple[Path, dict[str, object]],
) -> None:
    zones_dir, served = transfers
    powerdns = served["include-origin"]
    assert isinstance(powerdns, Counter)
    zone = load_master_file(zones_dir / "include-origin", "include-origin.test")
    a_owners = {n for n, t, _, _ in zone_records(zone) if t == QTYPE.A} - {
        name_key("ns1.include-origin.test")
    }
    assert a_owners == {name_key("sub.include-origin.test")}
    assert {n for n, t, _, _ in powerdns if t == QTYPE.A} - {
        name_key("ns1.include-origin.test")
    } == {name_key("include-origin.test")}


def test_relative_origin_is_joined_to_the_current_one(tmp_path: Path) -> None:
    (tmp_path / "zone").write_text(CASES["relative-origin"].zone_text)
    zone = load_master_file(tmp_path / "zone", "relative-origin.test")
    assert zone.get(name_key("e.sub.relative-origin.test"), QTYPE.A) is not None


# Where both read the same: every master-file feature, compared record by record ------------

SAME_AS_POWERDNS = r"""$TTL 90m
@ IN SOA ns1 hostmaster ( 2024010101 ; serial
        1h 15M 2w ; refresh retry expire
        5m )      ; minimum
  NS ns1
ns1 IN 60 A 192.0.2.53
www 60 in a 192.0.2.1
    aaaa 2001:db8::1
    300 txt "omitted owner, own TTL"
esc\046aped\032name 60 A 192.0.2.2
txt 60 TXT "\195\133LAND" "semi;colon (paren)" "quote\"d" "back\\slash"
mx 60 MX 10 @
generic 60 TYPE65534 \# 4 0A000001
$INCLUDE sub.inc
after 60 A 192.0.2.4
$GENERATE 1-4 host-$ 60 A 192.0.2.$
$ORIGIN deeper.same.test.
x 60 CNAME www.same.test.
long 60 TXT "0123456789" "0123456789"
"""


@pytest.mark.interop
def test_every_master_file_feature_reads_as_powerdns_reads_it(tmp_path: Path) -> None:
    require_programs("pdns_server")
    zones_dir = tmp_path / "zones"
    zones_dir.mkdir()
    (zones_dir / "same").write_text(SAME_AS_POWERDNS)
    (zones_dir / "sub.inc").write_text("sub 60 A 192.0.2.3\nwww.sub 60 CNAME sub\n")
    process, port = start_pdns(tmp_path / "pdns", zones_dir, [("same", "same.test")])
    try:
        wait_for_pdns(process, port, "same.test")
        served = axfr(port, "same.test")
    finally:
        stop_pdns(process)
    assert served is not None, (tmp_path / "pdns" / "pdns.log").read_text(errors="replace")
    loaded = zone_records(load_master_file(zones_dir / "same", "same.test"))
    assert sorted(served - loaded) == sorted(loaded - served) == []
    assert sum(loaded.values()) == 19
