"""The client probe of `lab failover`: a DNS query every few milliseconds, and who answered it.

    python -m lab.probe [--server 169.254.0.1] [--interval 0.01] [--timeout 0.1] [--duration 60]
    python -m lab.probe --server 2001:db8:53::1 ...                     # IPv6

runs inside a client's namespace (`lab exec client1 -- ...`). Each query is `example.com. MX`
over UDP with an EDNS NSID option (RFC 5001 §2.3): the answer names the server that gave it. A
query unanswered after `--timeout` seconds is lost. The probe stops after `--duration` seconds
or on SIGTERM / SIGINT (it then waits out the queries still in flight), and prints one JSON
document on stdout: `{"records": [[seq, sent, rtt, server, error], ...]}`, `sent` being the wall
clock (`time.time()`, shared with the rest of the machine), `rtt` in seconds or null, `server`
the NSID of a NOERROR answer or null, `error` why not ("timeout", "REFUSED", ...) or null.
Once the first answer has come, it says `ready` on stderr.
"""

from __future__ import annotations

import argparse
import json
import selectors
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address

from dnslib import EDNS0, RCODE, DNSRecord, EDNSOption

NSID = 3  # RFC 5001 §2.3: the EDNS option code
MAX_ID = 0x10000


@dataclass(frozen=True)
class ProbeRecord:
    """One query: when it was sent, and which server answered it (None: none did)."""

    seq: int
    sent: float  # wall clock, seconds
    rtt: float | None = None
    server: str | None = None
    error: str | None = None

    @property
    def answered(self) -> bool:
        return self.server is not None

    def to_json(self) -> list[object]:
        return [self.seq, round(self.sent, 6), _rounded(self.rtt), self.server, self.error]

    @classmethod
    def from_json(cls, item: list[object]) -> ProbeRecord:
        seq, sent, rtt, server, error = item
        return cls(
            int(seq),  # type: ignore[call-overload]
            float(sent),  # type: ignore[arg-type]
            None if rtt is None else float(rtt),  # type: ignore[arg-type]
            None if server is None else str(server),
            None if error is None else str(error),
        )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def probe_query(name: str = "example.com", rtype: str = "MX") -> bytearray:
    """The query, packed once; the probe writes each query's ID into its first two octets."""
    query = DNSRecord.question(name, rtype)
    query.header.rd = 0
    query.add_ar(EDNS0(udp_len=1232, opts=[EDNSOption(NSID, b"")]))
    return bytearray(query.pack())


def judge_response(data: bytes) -> tuple[int, str | None, str | None]:
    """(ID, server, error) of a response: the server is its NSID when it answered NOERROR with
    at least one answer record; otherwise `error` says what was wrong.

    Read from the octets (RFC 1035 §4.1, RFC 6891 §6.1.2): the header, past the question and
    the records to the OPT record and its NSID option. The page and `lab failover` judge
    thousands of answers a second; decoding each into objects would cost ten times as much."""
    if len(data) < HEADER:
        return (int.from_bytes(data[:2], "big") if len(data) >= 2 else -1), None, "malformed"
    query_id = int.from_bytes(data[:2], "big")
    questions, answers, authority, additional = struct.unpack_from("!4H", data, 4)
    try:
        at = HEADER
        for _ in range(questions):
            at = _past_name(data, at) + 4  # QTYPE, QCLASS
        if at > len(data):
            raise IndexError("question past the end")
        nsid = None
        for index in range(answers + authority + additional):
            at = _past_name(data, at)
            rtype, _, _, length = struct.unpack_from("!HHIH", data, at)
            at += 10
            if at + length > len(data):
                raise IndexError("RDATA past the end")
            if rtype == OPT and index >= answers + authority:
                nsid = _nsid(data[at : at + length])
            at += length
    except (IndexError, struct.error):
        return query_id, None, "malformed"
    rcode = data[3] & 0x0F  # the OPT record's extended RCODE bits are not needed here
    if rcode != RCODE.NOERROR:
        return query_id, None, str(RCODE.get(rcode, str(rcode)))
    if not answers:
        return query_id, None, "no answer"
    return query_id, "?" if nsid is None else nsid, None  # "?": answered, not saying by whom


HEADER = 12  # RFC 1035 §4.1.1
OPT = 41  # RFC 6891 §6.1.1


def _past_name(data: bytes, at: int) -> int:
    """Where the (possibly compressed) name at `at` ends (RFC 1035 §4.1.4)."""
    while True:
        length = data[at]
        if length & 0xC0 == 0xC0:
            return at + 2
        if length & 0xC0:
            raise IndexError("label type")
        at += length + 1
        if length == 0:
            return at


def _nsid(rdata: bytes) -> str | None:
    """The NSID option's text in an OPT record's RDATA (RFC 5001 §2.3), if there is one."""
    at = 0
    while at + 4 <= len(rdata):
        code, length = struct.unpack_from("!HH", rdata, at)
        if code == NSID:
            return rdata[at + 4 : at + 4 + length].decode(errors="replace")
        at += 4 + length
    return None


class Probe:
    """Sends the queries on a schedule and matches the answers to them."""

    def __init__(
        self,
        server: str,
        port: int,
        interval: float,
        timeout: float,
        on_first_answer: Callable[[], None] | None = None,
    ) -> None:
        self.on_first_answer = on_first_answer
        self.interval = interval
        self.timeout = timeout
        self.query = probe_query()
        family = socket.AF_INET6 if ip_address(server).version == 6 else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.connect((server, port))
        self.sock.setblocking(False)
        self.pending: dict[int, tuple[int, float, float]] = {}  # ID -> (seq, wall, monotonic)
        self.records: dict[int, ProbeRecord] = {}
        self.seq = 0
        self.stopping = False

    def run(self, duration: float) -> list[ProbeRecord]:
        selector = selectors.DefaultSelector()
        selector.register(self.sock, selectors.EVENT_READ)
        started = time.monotonic()
        next_send = started
        while True:
            now = time.monotonic()
            if self.stopping or now - started >= duration:
                if not self.pending:
                    break
                next_send = float("inf")  # stop sending; wait out the queries in flight
            elif now >= next_send:
                self._send(now)
                next_send = max(next_send + self.interval, now - self.interval)
            self._expire(now)
            deadline = min([next_send, *(m + self.timeout for _, _, m in self.pending.values())])
            wait = min(max(0.0, deadline - time.monotonic()), self.timeout)
            for _ in selector.select(wait):
                self._receive()
        selector.close()
        self.sock.close()
        return [self.records[seq] for seq in sorted(self.records)]

    def _send(self, now: float) -> None:
        query_id = self.seq % MAX_ID
        self.query[0:2] = query_id.to_bytes(2, "big")
        wall = time.time()
        self.pending[query_id] = (self.seq, wall, now)
        try:
            self.sock.send(self.query)
        except OSError as error:  # no route, or an ICMP error from an earlier query
            del self.pending[query_id]
            self.records[self.seq] = ProbeRecord(self.seq, wall, error=error.strerror or "error")
        self.seq += 1

    def _receive(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                return
            except OSError:  # an ICMP error: the query it belongs to times out
                continue
            received = time.monotonic()
            query_id, server, error = judge_response(data)
            if query_id not in self.pending:
                continue  # late (already judged lost) or not ours
            seq, wall, sent = self.pending.pop(query_id)
            self.records[seq] = ProbeRecord(seq, wall, received - sent, server, error)
            if server is not None and self.on_first_answer is not None:
                self.on_first_answer()
                self.on_first_answer = None

    def _expire(self, now: float) -> None:
        for query_id, (seq, wall, sent) in list(self.pending.items()):
            if now - sent >= self.timeout:
                del self.pending[query_id]
                self.records[seq] = ProbeRecord(seq, wall, error="timeout")


def parse_output(text: str) -> list[ProbeRecord]:
    """The records a probe printed."""
    return [ProbeRecord.from_json(item) for item in json.loads(text)["records"]]


def _say_ready() -> None:
    print("ready", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.probe", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--server", default="169.254.0.1", help="the address to query (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=53, help="its port (default: %(default)s)")
    parser.add_argument(
        "--interval",
        type=float,
        default=0.01,
        metavar="SECONDS",
        help="between queries (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=0.1,
        metavar="SECONDS",
        help="a query unanswered this long is lost (default: %(default)s)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="stop after this long (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    probe = Probe(args.server, args.port, args.interval, args.timeout, _say_ready)

    def stop(signum: int, frame: object) -> None:
        probe.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    records = probe.run(min(args.duration, 600.0))
    json.dump({"records": [record.to_json() for record in records]}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
