"""Hostile UDP (and TCP) for minidns: mutated queries, valid probes in between, every reply checked.

    python -m bench.dns_fuzz [--count 1000000] [--seed 1] [--tcp-count 0]

Starts minidns on bench/data/dns/example.com.zone on 127.0.0.1 and sends it `--count`
datagrams: every `--probe-every`-th is a valid query (www.example.com A) that must be answered
192.0.2.1; the others are valid queries of many shapes (long names, labels that are not UTF-8,
EDNS options, other classes and opcodes) damaged by 1-4 mutations each (bit flips, octets set
to label-type and pointer values, cuts, insertions, counts changed, pointers planted, names
lengthened past 255 octets) from a seeded generator. Each reply is parsed by dnspython (which
shares no code with minidns) and checked: it parses, QR is set, ID and opcode are the query's,
and it is no longer than the query may get (512 octets without EDNS, the EDNS payload up to
1232, 65535 over TCP). The server's resident memory is sampled as it goes; at the end its log
is searched for tracebacks. Prints a summary and writes it as JSON to bench/results/.

`Mutator` and `reply_problems` are also what tests/minidns/test_fuzz.py uses, on fewer
datagrams.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.rcode

from bench.dns_perf import ZONE, free_port, machine, wait_for_answers

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

HEADER_LENGTH = 12
MAX_UDP_WITHOUT_EDNS = 512  # RFC 1035 §4.2.1
MAX_UDP_WITH_EDNS = 1232  # what minidns (and PowerDNS 4.7) answer at most over UDP
MAX_TCP_MESSAGE = 65535  # RFC 1035 §4.2.2

# A valid probe and what it must get.
PROBE_NAME = b"\x03www\x07example\x03com\x00"
PROBE_ADDRESS = b"\xc0\x00\x02\x01"  # 192.0.2.1

# Octets that mean something in a label-length position (RFC 1035 §4.1.4, RFC 6891 §5).
INTERESTING = (0x00, 0x01, 0x3F, 0x40, 0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xFF)


# Checking replies -----------------------------------------------------------------------------


def udp_limit(query: bytes) -> int:
    """The largest UDP reply `query` may get: its EDNS payload size within 512-1232."""
    try:
        message = dns.message.from_wire(query)
    except (dns.exception.DNSException, ValueError):
        return MAX_UDP_WITHOUT_EDNS
    if message.edns < 0:
        return MAX_UDP_WITHOUT_EDNS
    return max(MAX_UDP_WITHOUT_EDNS, min(message.payload, MAX_UDP_WITH_EDNS))


def reply_problems(query: bytes, reply: bytes, *, tcp: bool) -> list[str]:
    """What is wrong with `reply` as the reply to `query`; empty when nothing is."""
    problems = []
    limit = MAX_TCP_MESSAGE if tcp else udp_limit(query)
    if len(reply) > limit:
        problems.append(f"{len(reply)} octets, over the limit of {limit}")
    try:
        message = dns.message.from_wire(_as_query_opcode(reply))
    except (dns.exception.DNSException, ValueError) as error:
        return [*problems, f"does not parse: {type(error).__name__}: {error}"]
    if reply[:2] != query[:2]:
        problems.append("the ID is not the query's")
    if not message.flags & dns.flags.QR:
        problems.append("QR is not set")
    if (reply[2] >> 3) & 0xF != (query[2] >> 3) & 0xF:
        problems.append("the opcode is not the query's")
    if message.rcode() == dns.rcode.NOERROR and not message.question:
        problems.append("NOERROR without a question")
    return problems


def _as_query_opcode(message: bytes) -> bytes:
    """The message with opcode QUERY: dnspython reads an UPDATE's sections by RFC 2136's rules
    (a zone section of type SOA), which a refused UPDATE that repeats a bad question breaks."""
    if len(message) < 3:
        return message
    return message[:2] + bytes((message[2] & 0x87,)) + message[3:]


def is_probe_answer(reply: bytes, query: bytes) -> bool:
    """Whether `reply` is the right answer to the probe `query`."""
    return (
        reply[:2] == query[:2]
        and reply[3] & 0xF == 0
        and reply[6:8] == b"\x00\x01"
        and reply.endswith(PROBE_ADDRESS)
    )


# Making hostile queries -------------------------------------------------------------------------


def _name(*labels: bytes) -> bytes:
    return b"".join(bytes((len(label),)) + label for label in labels) + b"\x00"


def _opt(payload: int = 1232, flags: int = 0, options: bytes = b"") -> bytes:
    return b"\x00\x00\x29" + struct.pack("!HIH", payload, flags, len(options)) + options


class Mutator:
    """Damaged DNS queries from a seeded generator: the same seed gives the same datagrams."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def probe(self) -> bytes:
        return struct.pack("!HHHHHH", self.random.getrandbits(16), 0, 1, 0, 0, 0) + (
            PROBE_NAME + b"\x00\x01\x00\x01"
        )

    def valid(self) -> bytes:
        """A well-formed query of one of many shapes."""
        rng = self.random
        suffix = rng.choice(
            [(b"example", b"com"), (b"wild", b"example", b"com"), (b"nx", b"example", b"com"),
             (b"example", b"org"), (b"id", b"server"), ()]
        )  # fmt: skip
        prefix: list[bytes] = []
        shape = rng.random()
        if shape < 0.3:
            prefix = [rng.choice([b"www", b"mail", b"ns1", b"*", b"WwW"])]
        elif shape < 0.6:
            prefix = [rng.randbytes(rng.randint(1, 63)) for _ in range(rng.randint(1, 3))]
        elif shape < 0.8:  # near the 255-octet limit
            while sum(len(label) + 1 for label in prefix + list(suffix)) < 230:
                prefix.append(b"a" * rng.randint(20, 63))
        qtype = rng.choice([1, 2, 5, 6, 15, 16, 28, 33, 39, 64, 65, 252, 255, 0, 41, 65535])
        qclass = rng.choice([1, 1, 1, 3, 4, 254, 255])
        flags = rng.choice([0, 0x0100, 0x0110, 0x2000, 0x2800, 0x1000])  # RD, CD, opcodes
        additional = b""
        count = 0
        if rng.random() < 0.5:
            options = b""
            if rng.random() < 0.3:
                options += b"\x00\x03\x00\x00"  # NSID
            if rng.random() < 0.2:
                options += b"\x00\x0c" + struct.pack("!H", 64) + bytes(64)  # padding
            additional = _opt(rng.choice([0, 512, 1232, 4096]), rng.choice([0, 0x8000]), options)
            count = 1
        labels = [label[:63] for label in prefix] + list(suffix)
        name = _name(*labels)
        if len(name) > 255:
            name = _name(*list(suffix))
        header = struct.pack("!HHHHHH", rng.getrandbits(16), flags, 1, 0, 0, count)
        return header + name + struct.pack("!HH", qtype, qclass) + additional

    def hostile(self) -> bytes:
        """A valid query damaged by one to four mutations, or now and then random octets."""
        rng = self.random
        if rng.random() < 0.02:
            return rng.randbytes(rng.randint(0, 80))
        data = bytearray(self.valid())
        for _ in range(rng.randint(1, 4)):
            self._mutate(data)
        return bytes(data[:MAX_TCP_MESSAGE])

    def _mutate(self, data: bytearray) -> None:
        rng = self.random
        kind = rng.randrange(9)
        at = rng.randrange(len(data)) if data else 0
        if kind == 0 and data:  # flip a bit
            data[at] ^= 1 << rng.randrange(8)
        elif kind == 1 and data:  # an octet with a meaning in a label-length position
            data[at] = rng.choice(INTERESTING)
        elif kind == 2:  # cut
            del data[rng.randint(0, len(data)) :]
        elif kind == 3:  # insert random octets
            data[at:at] = rng.randbytes(rng.randint(1, 8))
        elif kind == 4 and len(data) >= HEADER_LENGTH:  # change a count
            field_at = rng.choice((4, 6, 8, 10))
            data[field_at : field_at + 2] = struct.pack("!H", rng.choice((0, 1, 2, 255, 65535)))
        elif kind == 5:  # plant a pointer: backwards, forwards, into the header, to itself
            target = rng.choice((at, at + 2, rng.randrange(0, 12), rng.randrange(0, 400)))
            data[at : at + 2] = struct.pack("!H", 0xC000 | (target & 0x3FFF))
        elif kind == 6 and len(data) > HEADER_LENGTH:  # lengthen the name past 255 octets
            data[HEADER_LENGTH:HEADER_LENGTH] = (b"\x3f" + b"x" * 63) * rng.randint(1, 5)
        elif kind == 7:  # a copy of a slice somewhere else
            start = rng.randrange(len(data) + 1)
            piece = data[start : start + rng.randint(1, 20)]
            data[at:at] = piece
        elif kind == 8:  # a second record in the additional section
            data += _opt() if rng.random() < 0.5 else b"\xc0\x0c\x00\x01\x00\x01" + bytes(6)
            if len(data) >= HEADER_LENGTH:
                data[10:12] = struct.pack("!H", (int.from_bytes(data[10:12], "big") + 1) % 65536)


def expects_no_reply(query: bytes) -> bool:
    """Whether minidns drops `query` without a reply: shorter than a header, or QR=1."""
    return len(query) < HEADER_LENGTH or bool(query[2] & 0x80)


# Sending them ---------------------------------------------------------------------------------


@dataclass
class FuzzResult:
    """What a fuzz run saw."""

    sent: int = 0
    replies: int = 0
    invalid: int = 0
    no_reply: int = 0
    probes: int = 0
    probes_answered: int = 0
    tcp_sent: int = 0
    tcp_replies: int = 0
    examples: list[str] = field(default_factory=list)  # the first invalid replies
    unanswered: list[str] = field(default_factory=list)  # the first queries left unanswered

    def record_invalid(self, query: bytes, reply: bytes, problems: list[str]) -> None:
        self.invalid += 1
        if len(self.examples) < 10:
            self.examples.append(f"query {query.hex()} reply {reply.hex()}: {problems}")


@dataclass
class _Outstanding:
    query: bytes
    probe: bool
    deadline: float


def fuzz_udp(
    address: tuple[str, int],
    mutator: Mutator,
    count: int,
    *,
    probe_every: int = 50,
    sockets: int = 32,
    timeout: float = 1.0,
    time_limit: float = 3600.0,
    progress: Iterator[None] | None = None,
) -> FuzzResult:
    """Send `count` datagrams (a valid probe every `probe_every`), at most one outstanding per
    socket; check each reply. Stops early after `time_limit` seconds."""
    result = FuzzResult()
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    pool = [socket.socket(family, socket.SOCK_DGRAM) for _ in range(sockets)]
    waiting: dict[socket.socket, _Outstanding] = {}
    idle = list(pool)
    end = time.monotonic() + time_limit
    try:
        while (result.sent < count or waiting) and time.monotonic() < end:
            while idle and result.sent < count:
                sock = idle.pop()
                probe = result.sent % probe_every == 0
                query = mutator.probe() if probe else mutator.hostile()
                result.sent += 1
                result.probes += probe
                if progress is not None and result.sent % 10_000 == 0:
                    next(progress, None)
                try:
                    sock.sendto(query, address)
                except OSError:
                    idle.append(sock)
                    continue
                if expects_no_reply(query):
                    idle.append(sock)
                    continue
                waiting[sock] = _Outstanding(query, probe, time.monotonic() + timeout)
            if not waiting:
                continue
            readable, _, _ = select.select(list(waiting), [], [], 0.05)
            for sock in readable:
                reply = sock.recv(65535)
                outstanding = waiting[sock]
                if reply[:2] != outstanding.query[:2]:
                    continue  # a late reply to this socket's previous query
                result.replies += 1
                problems = reply_problems(outstanding.query, reply, tcp=False)
                if problems:
                    result.record_invalid(outstanding.query, reply, problems)
                if outstanding.probe and is_probe_answer(reply, outstanding.query):
                    result.probes_answered += 1
                del waiting[sock]
                idle.append(sock)
            now = time.monotonic()
            for sock, outstanding in list(waiting.items()):
                if now > outstanding.deadline:
                    result.no_reply += 1
                    if len(result.unanswered) < 10:
                        result.unanswered.append(outstanding.query.hex())
                    del waiting[sock]
                    idle.append(sock)
    finally:
        for sock in pool:
            sock.close()
    return result


def fuzz_tcp(
    address: tuple[str, int], mutator: Mutator, count: int, result: FuzzResult, timeout: float = 1.0
) -> None:
    """Send `count` hostile messages over TCP, one at a time, each framed right (RFC 1035
    §4.2.2); check each reply; a valid probe after each, which must be answered."""
    conn: socket.socket | None = None
    try:
        for _ in range(count):
            if conn is None:
                conn = socket.create_connection(address, timeout=timeout)
            query = mutator.hostile()
            probe = mutator.probe()
            conn.sendall(
                len(query).to_bytes(2, "big") + query + len(probe).to_bytes(2, "big") + probe
            )
            result.tcp_sent += 1
            result.probes += 1
            replies: list[bytes] = []
            try:
                while len(replies) < 2:
                    reply = _read_message(conn)
                    replies.append(reply)
                    if reply[:2] == probe[:2] and is_probe_answer(reply, probe):
                        result.probes_answered += 1
                        break
            except (TimeoutError, ConnectionError, EOFError):
                conn.close()
                conn = None
            for reply in replies:
                if reply[:2] == probe[:2] and is_probe_answer(reply, probe):
                    continue
                result.tcp_replies += 1
                problems = reply_problems(query, reply, tcp=True)
                if problems:
                    result.record_invalid(query, reply, problems)
    finally:
        if conn is not None:
            conn.close()


def _read_message(conn: socket.socket) -> bytes:
    length = int.from_bytes(_read_exactly(conn, 2), "big")
    return _read_exactly(conn, length)


def _read_exactly(conn: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


# The benchmark ----------------------------------------------------------------------------------


def resident_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="UDP datagrams to send")
    parser.add_argument("--tcp-count", type=int, default=10_000, help="TCP messages to send")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--probe-every", type=int, default=50)
    parser.add_argument("--sockets", type=int, default=32, help="queries outstanding at once")
    parser.add_argument(
        "--timeout", type=float, default=1.0, help="seconds to wait for a reply (default 1)"
    )
    args = parser.parse_args(argv)
    command = "python -m bench.dns_fuzz " + " ".join(argv if argv is not None else sys.argv[1:])
    info = machine()
    mutator = Mutator(args.seed)
    port = free_port()
    rss: list[int] = []
    with tempfile.TemporaryDirectory(prefix="dns-fuzz-") as tmp:
        log_path = Path(tmp) / "minidns.log"
        with open(log_path, "wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "minidns", "--zone", f"example.com={ZONE}",
                 "--listen", f"127.0.0.1:{port}", "--identity", "fuzz"],
                stdout=log, stderr=subprocess.STDOUT, cwd=HERE.parent,
            )  # fmt: skip
        try:
            wait_for_answers(port, server)
            rss.append(resident_kib(server.pid))

            def sample() -> Iterator[None]:
                while True:
                    rss.append(resident_kib(server.pid))
                    print(f"{len(rss) * 10_000 - 10_000:>9,} sent, RSS {rss[-1] / 1024:.1f} MiB",
                          file=sys.stderr)  # fmt: skip
                    yield None

            started = time.monotonic()
            result = fuzz_udp(
                ("127.0.0.1", port), mutator, args.count, probe_every=args.probe_every,
                sockets=args.sockets, timeout=args.timeout, progress=sample(),
            )  # fmt: skip
            fuzz_tcp(("127.0.0.1", port), mutator, args.tcp_count, result)
            elapsed = time.monotonic() - started
            rss.append(resident_kib(server.pid))
        finally:
            os.kill(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        log_text = log_path.read_text(errors="replace")
    tracebacks = log_text.count("Traceback")
    bad_input_lines = [line for line in log_text.splitlines() if "bad input" in line]
    summary = {
        "machine": info,
        "command": command.strip(),
        "seconds": round(elapsed, 1),
        **{key: value for key, value in asdict(result).items() if key != "examples"},
        "invalid_examples": result.examples,
        "tracebacks_in_log": tracebacks,
        "log_lines": len(log_text.splitlines()),
        "bad_input_log_lines": len(bad_input_lines),
        "rss_mib_start": round(rss[0] / 1024, 1),
        "rss_mib_max": round(max(rss) / 1024, 1),
        "rss_mib_end": round(rss[-1] / 1024, 1),
    }
    for key, value in summary.items():
        if key != "machine":
            print(f"{key}: {value}")
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (RESULTS / f"dns_fuzz-{stamp}.json").write_text(json.dumps(summary, indent=2) + "\n")
    failed = result.invalid or tracebacks or result.probes_answered != result.probes
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
