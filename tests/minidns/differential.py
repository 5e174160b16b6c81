"""Running PowerDNS 4.7 and minidns side by side, and comparing their answers.

Both servers get the same query bytes; their responses are compared on what a client sees:
rcode (extended included), header flags, the question (case included), and each section as a
multiset of records (order aside; names compared case-insensitively, RFC 4343). Nothing else
is normalised: both servers are given the same identity, so NSID and id.server compare as is.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.message
from dnslib import EDNS0, QTYPE, DNSRecord, EDNSOption

REPO = Path(__file__).resolve().parents[2]
CORPORA = REPO / ".." / "shared" / "corpora"
IDENTITY = "server1"


@dataclass(frozen=True)
class Query:
    """One query to send to both servers."""

    label: str
    wire: bytes
    tcp: bool = False


def make_query(
    name: str,
    qtype: str | int = "A",
    qclass: str = "IN",
    *,
    edns: bool = False,
    payload: int = 1232,
    dnssec_ok: bool = False,
    version: int = 0,
    options: list[EDNSOption] | None = None,
    rd: bool = False,
    opcode: int = 0,
    qid: int = 0x4D44,
) -> bytes:
    record = DNSRecord.question(name, "A", qclass)
    record.q.qtype = qtype if isinstance(qtype, int) else getattr(QTYPE, qtype)
    record.header.id = qid
    record.header.rd = int(rd)
    record.header.opcode = opcode
    if edns or dnssec_ok or options or version:
        record.add_ar(
            EDNS0(
                udp_len=payload,
                flags="do" if dnssec_ok else "",
                version=version,
                opts=options or [],
            )
        )
    return record.pack()


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (bounded number of tries)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


def exchange(port: int, query: Query, timeout: float = 2.0) -> bytes | None:
    """The response of the server on 127.0.0.1:port, or None when there is none."""
    if query.tcp:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            conn.sendall(len(query.wire).to_bytes(2, "big") + query.wire)
            try:
                length = int.from_bytes(_read_exactly(conn, 2), "big")
                return _read_exactly(conn, length)
            except (TimeoutError, ConnectionError, EOFError):
                return None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(timeout)
        udp.sendto(query.wire, ("127.0.0.1", port))
        try:
            return udp.recv(65535)
        except TimeoutError:
            return None


def _read_exactly(conn: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def wait_until_answering(
    port: int, process: subprocess.Popen[bytes], timeout: float = 20.0
) -> None:
    probe = Query("probe", make_query("id.server", "TXT", "CH"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        if exchange(port, probe, timeout=0.3) is not None:
            return
    raise RuntimeError("server did not answer in time")


@contextlib.contextmanager
def running(command: list[str], port: int, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, killed by its PID when done."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_answering(port, process)
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def pdns_command(workdir: Path, port: int, *backend: str) -> list[str]:
    socket_dir = workdir / "pdns-socket"
    socket_dir.mkdir(exist_ok=True)
    return [
        "pdns_server",
        "--no-config",
        "--daemon=no",
        "--guardian=no",
        f"--socket-dir={socket_dir}",
        "--local-address=127.0.0.1",
        f"--local-port={port}",
        f"--server-id={IDENTITY}",
        "--loglevel=3",
        *backend,
    ]


def minidns_command(port: int, *sources: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "minidns",
        *sources,
        "--listen",
        f"127.0.0.1:{port}",
        "--identity",
        IDENTITY,
    ]


@dataclass
class Seen:
    """What a client sees in a response, in a form that compares order-free."""

    rcode: int
    flags: dict[str, int]
    opcode: int
    question: list[tuple[str, int, int]]
    sections: dict[str, list[tuple[str, int, int, int, str]]] = field(default_factory=dict)
    opt: tuple[int, int, int, list[tuple[int, bytes]]] | None = None


def seen(response: bytes | None) -> Seen | str:
    if response is None:
        return "no response"
    try:
        record = DNSRecord.parse(response)
    except Exception as error:
        try:
            return _seen_in_octets(response)  # dnslib refuses labels that are not UTF-8
        except dns.exception.DNSException:
            return f"unparsable response: {error}"
    header = record.header
    opt = next((rr for rr in record.ar if rr.rtype == QTYPE.OPT), None)
    extended = 0 if opt is None else opt.edns_rcode << 4
    return Seen(
        rcode=extended | header.rcode,
        flags={flag: getattr(header, flag) for flag in ("qr", "aa", "tc", "rd", "ra", "ad", "cd")},
        opcode=header.opcode,
        question=[(str(q.qname), q.qtype, q.qclass) for q in record.questions],
        sections={
            "answer": _records(record.rr),
            "authority": _records(record.auth),
            "additional": _records([rr for rr in record.ar if rr.rtype != QTYPE.OPT]),
        },
        opt=None
        if opt is None
        else (
            opt.edns_len,
            opt.edns_ver,
            opt.edns_do,
            sorted((option.code, option.data) for option in opt.rdata),
        ),
    )


def _seen_in_octets(response: bytes) -> Seen:
    """What a client sees, read by dnspython (which reads labels as octets): names and RDATA
    in wire form, as hex."""
    message = dns.message.from_wire(response)
    bits = {"qr": 15, "aa": 10, "tc": 9, "rd": 8, "ra": 7, "ad": 5, "cd": 4}
    sections = {}
    for section, rrsets in (
        ("answer", message.answer),
        ("authority", message.authority),
        ("additional", message.additional),
    ):
        sections[section] = sorted(
            (rrset.name.to_wire().lower().hex(), rrset.rdtype, rrset.rdclass, rrset.ttl,
             rdata.to_wire().hex())
            for rrset in rrsets
            for rdata in rrset
        )  # fmt: skip
    return Seen(
        rcode=message.rcode(),
        flags={flag: message.flags >> bit & 1 for flag, bit in bits.items()},
        opcode=message.opcode(),
        question=[(q.name.to_wire().hex(), q.rdtype, q.rdclass) for q in message.question],
        sections=sections,
        opt=None
        if message.edns < 0
        else (
            message.payload,
            message.edns,
            message.ednsflags >> 15 & 1,
            sorted((option.otype, option.to_wire()) for option in message.options),
        ),
    )


def _records(section: list) -> list[tuple[str, int, int, int, str]]:  # type: ignore[type-arg]
    return sorted(
        (str(rr.rname).lower(), rr.rtype, rr.rclass, rr.ttl, str(rr.rdata).lower())
        for rr in section
    )


def differences(expected: Seen | str, actual: Seen | str) -> list[str]:
    """What differs, one line per part; empty when the responses agree."""
    if isinstance(expected, str) or isinstance(actual, str):
        return [] if expected == actual else [f"PowerDNS: {expected!r}; minidns: {actual!r}"]
    lines = []
    for part in ("rcode", "flags", "opcode", "question", "opt"):
        if getattr(expected, part) != getattr(actual, part):
            lines.append(
                f"{part}: PowerDNS {getattr(expected, part)} minidns {getattr(actual, part)}"
            )
    for section, records in expected.sections.items():
        theirs = actual.sections[section]
        if records != theirs:
            only_pdns = [r for r in records if r not in theirs]
            only_mine = [r for r in theirs if r not in records]
            lines.append(f"{section}: only PowerDNS {only_pdns}; only minidns {only_mine}")
    return lines
