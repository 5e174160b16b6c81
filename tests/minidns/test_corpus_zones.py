"""PowerDNS's regression zones: minidns loads what PowerDNS 4.7 loads, with the same records.

The interop test serves every zone file with PowerDNS 4.7's bind backend and compares its AXFR
with the zone minidns loaded, record by record: (name, type, TTL, uncompressed rdata).

Documented differences (each is asserted below, so a change shows):

- PowerDNS 4.7 does not know WALLET (type 262) and rejects example.com for it; minidns loads it.
  The comparison uses a copy of example.com without that line.
- PowerDNS 4.7 cannot read SVCB parameter values in quotes (``port="1501"``, RFC 9460 §2.1) and
  rejects example.com for them too; the same copy leaves those lines out.
- PowerDNS 4.7 leaves RRSIG, NSEC, NSEC3, DNSKEY, CDNSKEY and CDS records out of the AXFR of a
  zone it does not sign itself (it would make them); minidns keeps them (they are zone data).
- unit.test's NAPTR has ``\\2``, not an RFC 1035 §5.1 escape: PowerDNS loads the file but
  fails when it serves the record; minidns rejects the file.
- PowerDNS 4.7 needs ``type master``: the corpus's named.conf says ``type primary``.
- A wildcard with a CNAME and an A, and TXT strings over 255 octets: PowerDNS serves them,
  minidns refuses them as named-checkzone does; both get copies without them
  (`tests/minidns/corpus.py`).
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from dnslib import QTYPE

from minidns.zone import ZoneError, load_master_file, name_key
from minidns.zone.rdata import rdata_to_wire
from tests.conftest import require, require_programs
from tests.minidns.corpus import loadable_copy
from tests.minidns.pdns_bind import Record, axfr, start_pdns, stop_pdns, wait_for_pdns, zone_records

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpora" / "pdns-regression"
ZONES = CORPUS / "zones"

# Files not named in named.conf (zoneparser unit tests, ZONEMD tests): their origin.
EXTRA_ORIGINS = {
    "addzone.com": "addzone.com",
    "catalog.invalid": "catalog.invalid",
    "catalog2.invalid": "catalog2.invalid",
    "powerdnssec.org": "powerdnssec.org",
    "unit.test": "unit.test",
    "unit2.test": "unit2.test",
}
# Zones that neither PowerDNS 4.7 nor minidns load, and why.
REJECTED = {
    "nztest.com": "outside the zone",  # testnonzone.com. in nztest.com
    "zonemd-duplicate.zone": "outside the zone",  # foo.test. in example.
    "zonemd2.zone": "outside the zone",
    "zonemd-syntax.zone": "rdata ends early",  # an A record without an address
    "unit2.test": "no SOA",  # only a $GENERATE line
    "unit.test": "bad escape",  # "\\2" in a NAPTR regexp
}
# Lines PowerDNS 4.7 cannot read, removed from its copy (and from the compared minidns zone).
PDNS_47_UNREADABLE = re.compile(r"^\S+\s+IN\s+(?:WALLET\s|SVCB\s.*=\").*$", re.MULTILINE)
# Record types PowerDNS 4.7 leaves out of the AXFR of a zone it does not sign itself.
PDNS_AXFR_OMITS = {QTYPE.RRSIG, QTYPE.NSEC, QTYPE.NSEC3, QTYPE.DNSKEY, QTYPE.CDNSKEY, QTYPE.CDS}


def corpus_zones() -> list[tuple[str, str]]:
    """(file name, origin) for every zone file: named.conf's zones, then the others."""
    if not ZONES.is_dir():
        return [("<corpus missing>", "invalid")]  # the fixtures then skip (fail in CI)
    conf = (CORPUS / "named.conf").read_text()
    zones = [
        (file.removesuffix(".orig"), origin)
        for origin, file in re.findall(r'zone\s+"([^"]+)"\s*\{[^}]*?file\s+"([^"]+)"', conf)
    ]
    zones += list(EXTRA_ORIGINS.items())
    for path in sorted(ZONES.glob("zonemd*.zone")):
        zones.append((path.name, path.read_text().split()[0]))  # the SOA owner, first
    return zones


def copy_corpus(target: Path) -> Path:
    """The zone files where the tests read them: ``.orig`` files under their served names."""
    return loadable_copy(target / "zones")


@pytest.fixture(scope="module")
def corpus_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require(ZONES.is_dir(), f"corpus not found at {ZONES}")
    return copy_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.mark.parametrize(("file", "origin"), corpus_zones(), ids=lambda v: str(v))
def test_corpus_zone_loads_unless_powerdns_rejects_it_too(
    corpus_copy: Path, file: str, origin: str
) -> None:
    if file in REJECTED:
        with pytest.raises(ZoneError, match=REJECTED[file]) as raised:
            load_master_file(corpus_copy / file, origin)
        assert raised.value.path == str(corpus_copy / file)
    else:
        zone = load_master_file(corpus_copy / file, origin)
        assert zone.soa.rdatas


def test_example_com_loads_with_its_wallet_record(corpus_copy: Path) -> None:
    zone = load_master_file(corpus_copy / "example.com", "example.com")
    wallet = zone.get(name_key("test.wallet.example.com"), 262)
    assert wallet is not None
    assert rdata_to_wire(wallet.rdatas[0]) == b"\x13currency-identifier\x11wallet-identifier"


@dataclass
class PdnsCorpus:
    """The zone files PowerDNS served, and its AXFR of each (None when it did not serve it)."""

    zones_dir: Path
    transfers: dict[str, Counter[Record] | None]


@pytest.fixture(scope="module")
def pdns_corpus(tmp_path_factory: pytest.TempPathFactory) -> PdnsCorpus:
    """Every corpus zone file served by PowerDNS 4.7, and its AXFR.

    Several files have the same origin (``example.``): one pdns_server per round of distinct
    origins, all started at once.
    """
    require_programs("pdns_server")
    require(ZONES.is_dir(), f"corpus not found at {ZONES}")
    base = tmp_path_factory.mktemp("pdns")
    zones_dir = copy_corpus(base)
    example = zones_dir / "example.com"
    example.write_text(
        PDNS_47_UNREADABLE.sub("; WALLET left out for PowerDNS 4.7", example.read_text())
    )
    rounds: list[list[tuple[str, str]]] = []
    for file, origin in corpus_zones():
        for round_ in rounds:
            if all(name_key(o) != name_key(origin) for _, o in round_):
                round_.append((file, origin))
                break
        else:
            rounds.append([(file, origin)])
    servers: list[tuple[subprocess.Popen[bytes], int, list[tuple[str, str]]]] = []
    transfers: dict[str, Counter[Record] | None] = {}
    try:
        for i, zones in enumerate(rounds):  # all started at once, then asked one by one
            servers.append((*start_pdns(base / f"round{i}", zones_dir, zones), zones))
        for process, port, zones in servers:
            wait_for_pdns(process, port, zones[0][1])
            for file, origin in zones:
                transfers[file] = axfr(port, origin)
    finally:
        for process, _port, _zones in servers:
            stop_pdns(process)
    return PdnsCorpus(zones_dir, transfers)


@pytest.mark.interop
@pytest.mark.parametrize(("file", "origin"), corpus_zones(), ids=lambda v: str(v))
def test_corpus_zone_has_the_records_powerdns_serves(
    pdns_corpus: PdnsCorpus, file: str, origin: str
) -> None:
    served = pdns_corpus.transfers[file]
    if file in REJECTED:
        assert served is None
        return
    assert served is not None, f"PowerDNS does not serve {file}"
    loaded = zone_records(load_master_file(pdns_corpus.zones_dir / file, origin))
    omitted = Counter({r: n for r, n in loaded.items() if r[1] in PDNS_AXFR_OMITS})
    assert sum(served.values()) == sum(loaded.values()) - sum(omitted.values())
    assert served == loaded - omitted
