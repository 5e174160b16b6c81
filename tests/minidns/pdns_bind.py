"""PowerDNS 4.7 with its bind backend as the reference for zone loading: start, AXFR, stop.

Records are compared as (name key, type, TTL, uncompressed rdata wire).
"""

from __future__ import annotations

import socket
import struct
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from dnslib import QTYPE, DNSBuffer, DNSRecord

from minidns.zone import Zone, name_key
from minidns.zone.rdata import rdata_to_wire
from minidns.zone.text import name_to_wire
from tests.minidns.differential import free_port  # free for UDP and TCP: AXFR is over TCP

Record = tuple[tuple[bytes, ...], int, int, bytes]

# Types whose rdata names PowerDNS may compress: decoded by dnslib, then written in full.
_NAME_TYPES = {"NS", "CNAME", "PTR", "MX", "SOA", "SRV", "NAPTR", "RP", "DNAME"}
# RFC 1035 types dnslib does not decode, which PowerDNS compresses: how many names they hold.
_RFC1035_NAME_ONLY_TYPES = {3: 1, 4: 1, 7: 1, 8: 1, 9: 1, 14: 2}  # MD MF MB MG MR MINFO


def zone_records(zone: Zone) -> Counter[Record]:
    return Counter(
        (name_key(rrset.name), rrset.rtype, rrset.ttl, rdata_to_wire(rd))
        for rrset in zone.rrsets()
        for rd in rrset.rdatas
    )


def message_records(message: bytes) -> Iterator[Record]:
    """The answer records of one AXFR message, with uncompressed rdata."""
    parsed = DNSRecord.parse(message)
    buffer = DNSBuffer(message)
    buffer.offset = 12
    for _ in range(parsed.header.q):
        buffer.decode_name()
        buffer.offset += 4
    for rr in parsed.rr:
        buffer.decode_name()
        buffer.offset += 8
        (length,) = buffer.unpack("!H")
        end = buffer.offset + length
        if QTYPE.get(rr.rtype) in _NAME_TYPES:
            rdata = rdata_to_wire(rr.rdata)
        elif rr.rtype in _RFC1035_NAME_ONLY_TYPES:
            names = [buffer.decode_name() for _ in range(_RFC1035_NAME_ONLY_TYPES[rr.rtype])]
            rdata = b"".join(name_to_wire(name) for name in names)
        else:
            rdata = bytes(buffer.get(length))
        buffer.offset = end
        yield name_key(rr.rname), rr.rtype, rr.ttl, rdata


def axfr(port: int, zone: str) -> Counter[Record] | None:
    """The records of `zone` by AXFR from 127.0.0.1:port (the closing SOA left out); None if
    the server refuses or breaks off the transfer."""
    query = DNSRecord.question(zone, "AXFR").pack()
    records: list[Record] = []
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(struct.pack("!H", len(query)) + query)
            reader = connection.makefile("rb")
            while sum(1 for record in records if record[1] == QTYPE.SOA) < 2:
                head = reader.read(2)
                if len(head) < 2:
                    return None
                message = reader.read(struct.unpack("!H", head)[0])
                if DNSRecord.parse(message).header.rcode != 0:
                    return None
                records += message_records(message)
    except ConnectionError:
        return None
    return Counter(records[:-1])


def start_pdns(
    workdir: Path, zones_dir: Path, zones: list[tuple[str, str]]
) -> tuple[subprocess.Popen[bytes], int]:
    """pdns_server (bind backend) serving `zones`, (file, origin) pairs, from `zones_dir`."""
    workdir.mkdir()
    conf = workdir / "named.conf"
    conf.write_text(
        f'options {{ directory "{zones_dir}"; }};\n'
        + "".join(f'zone "{o}" {{ type master; file "{f}"; }};\n' for f, o in zones)
    )
    return start_pdns_server(
        workdir, ["--launch=bind", f"--bind-config={conf}", "--bind-check-interval=0"]
    )


def start_pdns_server(workdir: Path, backend: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    """pdns_server in the foreground on a free loopback port, its files and log in `workdir`."""
    workdir.mkdir(exist_ok=True)
    port = free_port()
    with (workdir / "pdns.log").open("wb") as log:
        process = subprocess.Popen(
            [
                "pdns_server", "--no-config", "--daemon=no", "--guardian=no",
                f"--socket-dir={workdir}", *backend,
                "--local-address=127.0.0.1", f"--local-port={port}",
                "--distributor-threads=1", "--receiver-threads=1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    return process, port


def wait_for_pdns(process: subprocess.Popen[bytes], port: int, zone: str) -> None:
    query = DNSRecord.question(zone, "SOA").pack()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.settimeout(0.2)
            try:
                probe.sendto(query, ("127.0.0.1", port))
                probe.recv(4096)
                return
            except OSError:
                continue
    raise RuntimeError(f"pdns_server on port {port} did not answer")


def stop_pdns(process: subprocess.Popen[bytes]) -> None:
    """Stop a pdns_server this test started, by its PID."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
