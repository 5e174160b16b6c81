"""minidns against PowerDNS 4.7 (bind backend), both serving the pdns-regression zones.

Every query of the pdns-regression tests that needs no DNSSEC signing, no dynamic update and no
PowerDNS-only feature, and a corpus of our own covering each answering rule, is sent to both
servers; the responses must agree (see tests/minidns/differential.py for what is compared),
except the documented differences in KNOWN_DIFFERENCES (mirrored in docs/minidns.md).
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from dnslib import EDNSOption

from minidns.zone.rdata import rrtype_code
from tests.conftest import require_programs
from tests.minidns.corpus import make_loadable
from tests.minidns.differential import (
    CORPORA,
    Query,
    differences,
    exchange,
    free_port,
    make_query,
    minidns_command,
    pdns_command,
    running,
    seen,
)

pytestmark = pytest.mark.interop

REGRESSION = CORPORA / "pdns-regression"
SDIG_PAYLOAD = 2800  # what PowerDNS's sdig (behind cleandig) asks for when it sends EDNS

# Zones of named.conf that neither server loads: PowerDNS 4.7 rejects the zone for its
# out-of-zone record (testnonzone.com), and so does minidns's loader.
UNLOADABLE_ZONES = {"nztest.com"}

# A response that differs on purpose: query label -> why. Each is listed in docs/minidns.md.
KNOWN_DIFFERENCES: dict[str, str] = {
    "chaos-version.bind": "minidns names itself, PowerDNS gives its own version string",
    "chaos-hostname.bind": "the issue asks for the identity here; PowerDNS 4.7 refuses it",
    "basic-nonzone#0": "nztest.com does not load: PowerDNS keeps it and answers SERVFAIL, "
    "minidns does not serve a zone it cannot load (REFUSED)",
    "ent-asterisk#1": "PowerDNS 4.7 bug: ANY at an empty non-terminal gets a TYPE0 record",
    "svcb-servicemode": "PowerDNS 4.7 cannot write SvcParams newer than it (ohttp, "
    "tls-supported-groups) and answers SERVFAIL",
    "opcode-status": "RFC 1035 §4.1.1: NOTIMP for an opcode we do not do; PowerDNS drops it",
    "opcode-3": "RFC 1035 §4.1.1: NOTIMP for an opcode we do not do; PowerDNS drops it",
    "no-question": "FORMERR (RFC 9619: one question); PowerDNS drops it",
    "garbage-after-header": "FORMERR for an unreadable question; PowerDNS drops it",
    "truncated-question": "FORMERR for an unreadable question; PowerDNS drops it",
    "name-over-255-octets": "FORMERR for an unreadable question; PowerDNS drops it",
    "extended-label-type": "FORMERR for an unreadable question; PowerDNS drops it",
    "pointer-loop": "FORMERR for an unreadable question; PowerDNS drops it",
    "edns-two-opts": "RFC 6891 §6.1.1: two OPT records are a FORMERR; PowerDNS uses the first",
    **{
        f"octets-{case}": "RFC 2181 §11: any octet may be in a label; PowerDNS 4.7's bind "
        "backend answers SERVFAIL for a name with octets other than letters, digits and "
        "' *-./:@\\_'"
        for case in (
            "nxdomain",
            "nxdomain-mx",
            "wildcard",
            "wildcard-cname",
            "wildcard-chain",
            "referral",
            "deep-nxdomain",
            "zero",
            "edns",
        )
    },
}


def _zone_files(named_conf: str) -> list[tuple[str, str]]:
    return re.findall(r'zone\s+"([^"]+)"\s*\{[^}]*?file\s+"([^"]+)"', named_conf, re.S)


def _prepare_zones(workdir: Path) -> tuple[Path, list[tuple[str, Path]]]:
    """A copy of the corpus zones that PowerDNS 4.7 can load; (named.conf, [(origin, path)])."""
    zones_dir = workdir / "zones"
    shutil.copytree(REGRESSION / "zones", zones_dir)
    for original in zones_dir.glob("*.orig"):  # the dyndns zones are kept as *.orig
        shutil.copy(original, original.with_suffix(""))
    make_loadable(zones_dir)  # records minidns refuses at load, as named-checkzone does
    # The corpus is from a newer PowerDNS: 4.7 does not know WALLET (type 262) and stops
    # loading example.com at that line. Both servers get the zone without it.
    example = zones_dir / "example.com"
    example.write_text(
        "".join(line for line in example.read_text().splitlines(True) if " WALLET " not in line)
    )
    conf = (REGRESSION / "named.conf").read_text()
    conf = conf.replace('directory "./zones/"', f'directory "{zones_dir}/"')
    conf = conf.replace("type primary", "type master")  # 4.7's bind backend wants the old word
    named_conf = workdir / "named.conf"
    named_conf.write_text(conf)
    zones = [
        (origin, zones_dir / file)
        for origin, file in _zone_files(conf)
        if origin not in UNLOADABLE_ZONES
    ]
    return named_conf, zones


# --- the pdns-regression queries -----------------------------------------------------------

EXCLUDED_MARKERS = {
    "skip.nodnssec": "needs DNSSEC signing (keys in a DNSSEC database)",
    "skip.nodyndns": "needs dynamic update (RFC 2136)",
}
EXCLUDED_FLAGS = {"ednssubnet": "EDNS Client Subnet: a PowerDNS GeoIP-backend feature"}
TRANSFER_TYPES = {"AXFR", "IXFR"}


def regression_queries() -> tuple[list[Query], dict[str, str]]:
    """The queries of the pdns-regression tests, and the tests left out with the reason."""
    queries: list[Query] = []
    excluded: dict[str, str] = {}
    if not (REGRESSION / "tests").is_dir():  # no corpus: test_the_regression_corpus... fails
        return queries, excluded
    for test in sorted((REGRESSION / "tests").iterdir()):
        command = test / "command"
        if not command.is_file():
            continue
        lines = [
            line.strip()
            for line in command.read_text().splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]
        markers = {path.name for path in test.iterdir()} & EXCLUDED_MARKERS.keys()
        if markers:
            excluded[test.name] = EXCLUDED_MARKERS[sorted(markers)[0]]
            continue
        others = [line for line in lines if not re.match(r"^(SDIGBUFSIZE=\d+ )?cleandig ", line)]
        if others or not lines:
            excluded[test.name] = f"runs more than queries: {(others or ['nothing'])[0][:40]!r}"
            continue
        for number, line in enumerate(lines):
            words = shlex.split(line.split("|")[0])
            payload = SDIG_PAYLOAD
            if words[0].startswith("SDIGBUFSIZE="):
                payload = int(words.pop(0).split("=")[1])
                sdig_edns = True
            else:
                sdig_edns = False
            name, qtype, flags = words[1], words[2], set(words[3:])
            reason = next((why for flag, why in EXCLUDED_FLAGS.items() if flag in flags), None)
            if "$" in name:
                reason = "the name is a shell variable set by other steps"
            elif qtype.upper() in TRANSFER_TYPES:
                reason = "zone transfer: compared in tests/minidns/test_axfr.py"
            if reason:
                excluded[f"{test.name}#{number}"] = reason
                continue
            dnssec = "dnssec" in flags
            wire = make_query(
                name,
                rrtype_code(qtype),
                edns=sdig_edns or dnssec,
                payload=payload,
                dnssec_ok=dnssec,
            )
            label = test.name if len(lines) == 1 else f"{test.name}#{number}"
            queries.append(Query(label, wire, tcp="tcp" in flags))
    return queries, excluded


REGRESSION_QUERIES, REGRESSION_EXCLUDED = regression_queries()


# --- our own corpus: every answering rule ---------------------------------------------------


def octets(labels: list[bytes], qtype: int = 1, edns: bool = False) -> bytes:
    """A query for a name given as its labels' octets."""
    name = b"".join(bytes((len(label),)) + label for label in labels) + b"\x00"
    header = b"\x4d\x44\x00\x00\x00\x01\x00\x00\x00\x00\x00" + (b"\x01" if edns else b"\x00")
    opt = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00" if edns else b""
    return header + name + qtype.to_bytes(2, "big") + b"\x00\x01" + opt


def own_queries() -> list[Query]:
    q = make_query
    nsid = [EDNSOption(3, b"")]
    header = q("x")[:12]
    example_a = b"\x07example\x03com\x00\x00\x01\x00\x01"
    corpus = [
        # plain answers, AA, additional processing for MX, NS, SRV targets
        Query("a-record", q("outpost.example.com")),
        Query("mx-additional", q("example.com", "MX")),
        Query("ns-additional", q("example.com", "NS")),
        Query("soa", q("example.com", "SOA")),
        Query("srv-additional", q("_double._tcp.dc.test.com", "SRV")),
        Query("srv-root-target", q("_root._tcp.dc.test.com", "SRV")),
        Query("mx-root-target", q("test.com", "MX")),
        Query("mx-to-cname", q("mail.example.com", "MX")),
        Query("naptr", q("naptr.test.com", "NAPTR")),
        Query("txt-long", q("very-long-txt.test.com", "TXT")),
        Query("unknown-type", q("urc65226.test.com", 65226)),
        Query("aaaa", q("ipv6.example.com", "AAAA")),
        # negative answers (RFC 2308)
        Query("nxdomain", q("no-such-name.example.com")),
        Query("nxdomain-deep", q("a.b.no-such-name.test.com", "MX")),
        Query("nodata", q("outpost.example.com", "MX")),
        Query("nodata-apex", q("example.com", "AAAA")),
        Query("empty-non-terminal", q("c.test.com", "A")),
        Query("ent-below-wildcard-name", q("sub.example.com", "A")),
        # CNAME chains, loops, out of zone, across zones, to a referral
        Query("cname-chain", q("start1.example.com")),
        Query("cname-loop", q("loop2.example.com")),
        Query("cname-external", q("external.example.com", "AAAA")),
        Query("cname-cross-zone", q("within-server.test.com")),
        Query("cname-query-type", q("www.example.com", "CNAME")),
        Query("cname-to-root", q("toroot.test.com")),
        Query("cname-any", q("www.example.com", "ANY")),
        # DNAME (RFC 6672)
        Query("dname-below", q("a.b.d.test.com", "TXT")),
        Query("dname-owner-dname", q("d.test.com", "DNAME")),
        Query("dname-owner-any", q("d.test.com", "ANY")),
        # wildcards (RFC 4592)
        Query("wildcard-a", q("anything.wtest.com")),
        Query("wildcard-cname", q("anything.wtest.com", "MX")),
        Query("wildcard-nodata", q("x.something.wtest.com", "TXT")),
        Query("wildcard-blocked", q("a.something.wtest.com", "TXT")),
        Query("wildcard-deep", q("q.r.s.a.b.c.d.e.wtest.com")),
        Query("wildcard-any", q("x.something.wtest.com", "ANY")),
        Query("wildcard-ent", q("x.host.y.sub.example.com")),
        Query("wildcard-mixed", q("m.mixed-wc.example.com", "A")),
        Query("wildcard-b-c", q("z.a.b.c.test.com")),
        # delegations (referrals, glue, DS from the parent)
        Query("referral-glue", q("deep.www.usa.example.com", "MX")),
        Query("referral-at-cut", q("usa.example.com", "NS")),
        Query("referral-at-cut-a", q("usa.example.com", "A")),
        Query("referral-in-zone-ns", q("italy.example.com", "SOA")),
        Query("referral-no-glue", q("x.france.example.com")),
        Query("ds-at-cut", q("dsdelegation.example.com", "DS")),
        Query("ds-at-cut-none", q("usa.example.com", "DS")),
        Query("ds-below-cut", q("x.usa.example.com", "DS")),
        Query("ds-child-apex", q("insecure.dnssec-parent.com", "DS")),
        Query("referral-self-ns", q("blah.test.com", "A")),
        # not ours
        Query("refused", q("example.org")),
        Query("refused-root", q(".", "NS")),
        Query("refused-tld", q("com", "SOA")),
        # ANY
        Query("any-apex", q("test.com", "ANY")),
        Query("any-nxdomain", q("nope.test.com", "ANY")),
        Query("any-tcp", q("example.com", "ANY"), tcp=True),
        Query("any-cname-tcp", q("www.example.com", "ANY"), tcp=True),
        Query("any-wildcard-tcp", q("x.something.wtest.com", "ANY"), tcp=True),
        Query("any-nxdomain-tcp", q("nope.test.com", "ANY"), tcp=True),
        Query("any-dname-owner-tcp", q("d.test.com", "ANY"), tcp=True),
        # case (0x20) kept in the question
        Query("case-0x20", q("OuTpOsT.eXaMpLe.CoM")),
        Query("case-0x20-cname", q("WwW.ExAmPlE.cOm")),
        Query("case-0x20-nxdomain", q("NoPe.ExAmPlE.cOm")),
        Query("case-0x20-wildcard", q("AnY.wTeSt.CoM")),
        # EDNS (RFC 6891): DO, payload, NSID, BADVERS, unknown options
        Query("edns-plain", q("outpost.example.com", edns=True)),
        Query("edns-do", q("outpost.example.com", dnssec_ok=True)),
        Query("edns-payload-512", q("outpost.example.com", edns=True, payload=512)),
        Query("edns-payload-100", q("outpost.example.com", edns=True, payload=100)),
        Query("edns-payload-4096", q("outpost.example.com", edns=True, payload=4096)),
        Query("edns-nsid", q("outpost.example.com", options=nsid)),
        Query("edns-nsid-nxdomain", q("nope.example.com", options=nsid, dnssec_ok=True)),
        Query("edns-badvers", q("outpost.example.com", version=1)),
        Query("edns-unknown-option", q("outpost.example.com", options=[EDNSOption(65001, b"ab")])),
        # truncation over UDP, and the same over TCP
        Query("truncated-noedns", q("toomuchinfo-b.example.com")),
        Query("truncated-edns", q("toomuchinfo-b.example.com", edns=True)),
        Query("truncated-additional", q("together-too-much.example.com", "MX")),
        Query("truncated-additional-edns", q("together-too-much.example.com", "MX", edns=True)),
        Query("fits-edns-4096", q("toomuchinfo-b.example.com", edns=True, payload=4096)),
        Query("not-truncated-tcp", q("toomuchinfo-b.example.com"), tcp=True),
        Query("big-over-tcp", q("together-too-much.example.com", "MX"), tcp=True),
        # header flags, opcodes, classes
        Query("rd-set", q("outpost.example.com", rd=True)),
        Query("opcode-status", q("outpost.example.com", opcode=2)),
        Query("opcode-3", q("outpost.example.com", opcode=3)),
        Query("opcode-notify", q("example.com", "SOA", opcode=4)),
        Query("opcode-update", q("example.com", "SOA", opcode=5)),
        Query("any-refused", q("example.org", "ANY")),
        Query("any-refused-tcp", q("example.org", "ANY"), tcp=True),
        Query("rrsig-direct", q("outpost.example.com", "RRSIG")),
        Query("svcb-alias", q("foo.svcb.example.com", 64)),
        Query("svcb-alias-other-zone", q("baz.svcb.example.com", 64)),
        Query("mb-compressed", q("phil.mb.example.com", 7)),
        Query("class-chaos-a", q("id.server", "A", "CH")),
        Query("class-hesiod", q("outpost.example.com", "A", "Hesiod")),
        # which server answered
        Query("chaos-id.server", q("id.server", "TXT", "CH")),
        Query("chaos-hostname.bind", q("hostname.bind", "TXT", "CH")),
        Query("chaos-version.bind", q("version.bind", "TXT", "CH")),
        Query("chaos-unknown", q("foo.bind", "TXT", "CH")),
        # labels are octets (RFC 2181 §11): not UTF-8, upper and lower halves, case folding
        Query("octets-nxdomain", octets([b"\x80", b"example", b"com"])),
        Query("octets-nxdomain-mx", octets([b"\xc3\x28abc\xff", b"example", b"com"], 15)),
        Query("octets-wildcard", octets([b"\x80", b"something", b"wtest", b"com"])),
        Query("octets-wildcard-cname", octets([b"\xff\xfe", b"wtest", b"com"])),
        Query("octets-wildcard-chain", octets([b"A\x80z", b"w1", b"example", b"com"])),
        Query("octets-referral", octets([b"\x80", b"usa", b"example", b"com"], 15)),
        Query("octets-deep-nxdomain", octets([b"\x80", b"\xe9t\xe9", b"test", b"com"])),
        Query("octets-zero", octets([b"a\x00b", b"something", b"wtest", b"com"])),
        Query("octets-dot", octets([b"a.b", b"something", b"wtest", b"com"])),
        Query("octets-space-nxdomain", octets([b"a b", b"example", b"com"])),
        Query("octets-punctuation", octets([b"@:_\\*", b"something", b"wtest", b"com"])),
        Query("octets-edns", octets([b"\x80", b"example", b"com"], edns=True)),
        # malformed messages
        Query("no-question", q("outpost.example.com")[:5] + b"\x00" + q("x")[6:12]),
        Query("garbage-after-header", q("outpost.example.com")[:12] + b"\xff\xfe\xfd"),
        Query("truncated-question", q("outpost.example.com")[:20]),
        Query("name-over-255-octets", header + (b"\x3f" + b"x" * 63) * 4 + example_a),
        Query("extended-label-type", header + b"\x41" + b"a" * 65 + example_a),
        Query("pointer-loop", header + b"\x01a\xc0\x0c\x00\x01\x00\x01"),
    ]
    two_opts = q("outpost.example.com", edns=True)
    opt = two_opts[-11:]
    corpus.append(Query("edns-two-opts", two_opts[:11] + b"\x02" + two_opts[12:] + opt))
    return corpus


OWN_QUERIES = own_queries()


@pytest.fixture(scope="module")
def ports(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    require_programs("pdns_server")
    workdir = tmp_path_factory.mktemp("differential")
    named_conf, zones = _prepare_zones(workdir)
    pdns_port, minidns_port = free_port(), free_port()
    # DNAME (RFC 6672) is off by default in PowerDNS 4.7; minidns always does it.
    backend = ("--launch=bind", f"--bind-config={named_conf}", "--dname-processing=yes")
    pdns = pdns_command(workdir, pdns_port, *backend)
    sources = [arg for origin, path in zones for arg in ("--zone", f"{origin}={path}")]
    minidns = minidns_command(minidns_port, *sources)
    with (
        running(pdns, pdns_port, workdir / "pdns.log"),
        running(minidns, minidns_port, workdir / "minidns.log"),
    ):
        yield pdns_port, minidns_port


def _compare(ports: tuple[int, int], query: Query) -> None:
    pdns_port, minidns_port = ports
    diff = differences(seen(exchange(pdns_port, query)), seen(exchange(minidns_port, query)))
    if query.label in KNOWN_DIFFERENCES:
        assert diff, f"{query.label} now agrees with PowerDNS: remove it from KNOWN_DIFFERENCES"
    else:
        assert not diff, "\n".join(diff)


@pytest.mark.parametrize("query", REGRESSION_QUERIES, ids=lambda query: query.label)
def test_regression_query(ports: tuple[int, int], query: Query) -> None:
    _compare(ports, query)


@pytest.mark.parametrize("query", OWN_QUERIES, ids=lambda query: query.label)
def test_own_query(ports: tuple[int, int], query: Query) -> None:
    _compare(ports, query)


def test_the_regression_corpus_is_really_used() -> None:
    assert len(REGRESSION_QUERIES) >= 100
    assert all(REGRESSION_EXCLUDED.values())
