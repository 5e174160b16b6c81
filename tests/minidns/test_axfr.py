"""Zone transfer out (RFC 5936): the messages, the allow-list, and real secondaries."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

import minidns.query
from minidns.axfr import transfer
from minidns.query import read_query
from minidns.service import DnsService
from tests.conftest import require_programs
from tests.minidns.differential import (
    Query,
    exchange,
    free_port,
    make_query,
    minidns_command,
    pdns_command,
    running,
)
from tests.minidns.zonetext import zones_from_text

REPO = Path(__file__).resolve().parents[2]
BENCH_ZONE = REPO / "bench" / "data" / "dns" / "example.com.zone"
HOSTS = "\n".join(f"host{i} IN A 10.0.{i // 250}.{i % 250}" for i in range(3000))
ZONE = f"""
@    IN SOA ns1 hostmaster 7 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.53
sub  IN NS  ns.sub
ns.sub IN A 192.0.2.77
{HOSTS}
"""


@pytest.fixture
def zones():
    return zones_from_text(("example.com.", ZONE))


def axfr_query(name: str = "example.com") -> DNSRecord:
    return DNSRecord.question(name, "AXFR")


def read(record: DNSRecord) -> minidns.query.Query:
    query = read_query(bytes(record.pack()))
    assert query is not None
    return query


def records(messages: list[bytes]) -> list:  # type: ignore[type-arg]
    return [rr for message in messages for rr in DNSRecord.parse(message).rr]


def test_soa_first_and_last_and_every_record_once(zones):
    messages = transfer(zones, read(axfr_query()), allowed=True)
    assert len(messages) > 1  # split by record count
    rrs = records(messages)
    assert rrs[0].rtype == QTYPE.SOA and rrs[-1].rtype == QTYPE.SOA
    assert sum(1 for rr in rrs if rr.rtype == QTYPE.SOA) == 2
    assert len(rrs) == 2 + 1 + 1 + 1 + 1 + 3000  # SOA twice, NS, ns1, delegation NS, glue
    assert all(len(message) <= 65535 for message in messages)
    first = DNSRecord.parse(messages[0])
    assert first.header.aa == 1 and first.header.rcode == RCODE.NOERROR
    assert str(first.q.qname) == "example.com."  # RFC 5936 §2.2: the question in the first


def test_refused_when_not_allowed(zones):
    (message,) = transfer(zones, read(axfr_query()), allowed=False)
    assert DNSRecord.parse(message).header.rcode == RCODE.REFUSED


def test_notauth_for_a_name_that_is_not_a_zone(zones):
    (message,) = transfer(zones, read(axfr_query("www.example.com")), allowed=True)
    assert DNSRecord.parse(message).header.rcode == RCODE.NOTAUTH


def test_the_allow_list_is_by_client_address(zones):
    import ipaddress

    service = DnsService(zones, allow_transfer=[ipaddress.ip_network("10.1.0.0/16")])
    wire = bytes(axfr_query().pack())
    allowed = service.answer_stream(wire, "10.1.2.3")
    refused = service.answer_stream(wire, "127.0.0.1")
    assert len(allowed) > 1
    assert DNSRecord.parse(refused[0]).header.rcode == RCODE.REFUSED


def test_axfr_over_udp_is_not_served(zones):
    service = DnsService(zones, allow_transfer=[])
    response = DNSRecord.parse(service.answer_datagram(bytes(axfr_query().pack())))
    assert response.header.rcode == RCODE.NOTIMP


@pytest.fixture
def minidns_port(tmp_path):
    port = free_port()
    command = minidns_command(port, "--zone", f"example.com={BENCH_ZONE}")
    with running([*command, "--allow-axfr", "127.0.0.0/8"], port, tmp_path / "minidns.log"):
        yield port


def zone_lines(text: str) -> list[str]:
    return sorted(
        " ".join(line.split()) for line in text.splitlines() if line and not line.startswith(";")
    )


@pytest.mark.interop
def test_dig_and_kdig_transfer_the_zone(minidns_port):
    require_programs("dig", "kdig")
    dig = subprocess.run(
        ["dig", "+noall", "+answer", "AXFR", "example.com", "@127.0.0.1", "-p", str(minidns_port)],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    kdig = subprocess.run(
        ["kdig", "+noall", "+answer", "AXFR", "example.com", "@127.0.0.1", "-p",
         str(minidns_port)],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    lines = zone_lines(dig)
    assert lines == zone_lines(kdig)
    assert len(lines) == 8  # the 7 records of the zone, and the SOA again at the end
    assert dig.splitlines()[0].split()[3] == "SOA" and dig.splitlines()[-1].split()[3] == "SOA"


@pytest.mark.interop
def test_a_powerdns_secondary_transfers_the_zone(minidns_port, tmp_path):
    require_programs("pdns_server")
    secondary_port = free_port()
    zone_file = tmp_path / "example.com.secondary"
    named_conf = tmp_path / "named.conf"
    named_conf.write_text(
        f'zone "example.com" {{ type slave; masters {{ 127.0.0.1:{minidns_port}; }}; '
        f'file "{zone_file}"; }};\n'
    )
    command = pdns_command(
        tmp_path, secondary_port, "--launch=bind", f"--bind-config={named_conf}",
        "--secondary=yes", "--xfr-cycle-interval=1",
    )  # fmt: skip
    www = Query("www", make_query("www.example.com"))
    with running(command, secondary_port, tmp_path / "pdns.log"):
        deadline = time.monotonic() + 30
        answer = None
        while time.monotonic() < deadline:
            response = exchange(secondary_port, www)
            answer = DNSRecord.parse(response) if response else None
            if answer is not None and answer.header.rcode == RCODE.NOERROR and answer.rr:
                break
            time.sleep(0.2)
    assert answer is not None and [str(rr.rdata) for rr in answer.rr] == ["192.0.2.1"]
    assert "www" in zone_file.read_text()
