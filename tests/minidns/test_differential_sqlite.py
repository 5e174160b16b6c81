"""minidns --pdns-sqlite against PowerDNS 4.7 (gsqlite3 backend) on the seed's database.

The database is made as the seed made it, with pdnsutil (create-zone example.com
ns1.example.com, an MX and www's A record); both servers read the same file.
"""

from __future__ import annotations

import pytest
from dnslib import EDNSOption

from minidns.zone.pdns_sqlite import create_seed_database
from tests.conftest import require_programs
from tests.minidns.differential import (
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

q = make_query
QUERIES = [
    Query("www-a", q("www.example.com")),
    Query("www-a-tcp", q("www.example.com"), tcp=True),
    Query("www-aaaa-nodata", q("www.example.com", "AAAA")),
    Query("apex-mx", q("example.com", "MX")),
    Query("apex-soa", q("example.com", "SOA")),
    Query("apex-ns", q("example.com", "NS")),
    Query("apex-any-udp", q("example.com", "ANY")),
    Query("apex-any-tcp", q("example.com", "ANY"), tcp=True),
    Query("mail-nxdomain", q("mail.example.com")),
    Query("ns1-nxdomain", q("ns1.example.com", "AAAA")),
    Query("deep-nxdomain", q("a.b.www.example.com", "TXT")),
    Query("case", q("WwW.eXaMpLe.CoM")),
    Query("edns-do", q("www.example.com", dnssec_ok=True)),
    Query("edns-nsid", q("example.com", "MX", options=[EDNSOption(3, b"")])),
    Query("edns-badvers", q("www.example.com", version=1)),
    Query("refused", q("example.net")),
    Query("chaos-id", q("id.server", "TXT", "CH")),
]


@pytest.fixture(scope="module")
def ports(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    require_programs("pdns_server", "pdnsutil")
    workdir = tmp_path_factory.mktemp("differential-sqlite")
    database = workdir / "pdns.sqlite3"
    create_seed_database(database)
    pdns_port, minidns_port = free_port(), free_port()
    pdns = pdns_command(workdir, pdns_port, "--launch=gsqlite3", f"--gsqlite3-database={database}")
    minidns = minidns_command(minidns_port, "--pdns-sqlite", str(database))
    with (
        running(pdns, pdns_port, workdir / "pdns.log"),
        running(minidns, minidns_port, workdir / "minidns.log"),
    ):
        yield pdns_port, minidns_port


@pytest.mark.parametrize("query", QUERIES, ids=lambda query: query.label)
def test_same_answer_as_powerdns(ports: tuple[int, int], query: Query) -> None:
    pdns_port, minidns_port = ports
    diff = differences(seen(exchange(pdns_port, query)), seen(exchange(minidns_port, query)))
    assert not diff, "\n".join(diff)
