"""Health check definitions, each with its probe and, where it has one, its watcher.

- `DnsCheck`: send a query to an address:port (UDP or TCP) and expect an rcode and, optionally,
  a record in the answer. With `keep_open`, a TCP connection to the server is also held open and
  the check fails the moment it closes (`watch.DnsConnectionWatch`).
- `TcpConnectCheck`: a TCP connection to address:port can be opened.
- `CommandCheck`: a command exits with status 0.
- `ProcessCheck`: a process (PID or pidfile) is running; watched through a pidfd, so that its
  exit fails the check at once (`watch.ProcessWatch`).

Every check has the same interface: `name`, `timing` (interval, timeout, rise, fall), `async
probe() -> ProbeResult`, `watcher() -> Watcher | None` and `describe()` (what it checks, in
words). A probe never raises: whatever goes
wrong is a failed result with a reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dnslib import CLASS, QTYPE, RCODE, DNSQuestion, DNSRecord

from minibgp.health.state import Timing
from minibgp.health.watch import (
    DnsConnectionWatch,
    ProcessWatch,
    Watcher,
    current_pid,
    process_alive,
)


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    reason: str = ""  # why it failed


PASSED = ProbeResult(True)


@dataclass(frozen=True)
class DnsCheck:
    """A DNS query that must be answered with `expect_rcode` (and `expect_answer`, if given)."""

    name: str
    host: str
    port: int
    query_name: str
    query_type: str = "SOA"
    query_class: str = "IN"
    expect_rcode: str = "NOERROR"
    expect_answer: str | None = None  # the text of one answer record's RDATA, e.g. "192.0.2.1"
    transport: Literal["udp", "tcp"] = "udp"
    keep_open: bool = False
    timing: Timing = field(default_factory=Timing)

    def describe(self) -> str:
        """What is checked, in a few words."""
        answer = f", answer {self.expect_answer}" if self.expect_answer else ""
        held = ", connection held open" if self.keep_open else ""
        question = f"{self.query_name} {self.query_class} {self.query_type}"
        to = f"{_target(self.host, self.port)} over {self.transport}"
        return f"dns {question} to {to}, expect {self.expect_rcode}{answer}{held}"

    def query(self) -> DNSRecord:
        """A fresh query (new random ID) for the configured question, without recursion."""
        question = DNSQuestion(
            self.query_name, getattr(QTYPE, self.query_type), getattr(CLASS, self.query_class)
        )
        query = DNSRecord(q=question)
        query.header.rd = 0
        return query

    async def probe(self) -> ProbeResult:
        query = self.query()
        try:
            async with asyncio.timeout(self.timing.timeout):
                if self.transport == "tcp":
                    response = await self._exchange_tcp(query)
                else:
                    response = await self._exchange_udp(query)
        except TimeoutError:
            return ProbeResult(False, f"no answer within {self.timing.timeout:g} s")
        except OSError as error:
            return ProbeResult(False, f"{self.transport} {self.host}:{self.port}: {_why(error)}")
        return self.judge(query, response)

    def judge(self, query: DNSRecord, response: DNSRecord) -> ProbeResult:
        """Does `response` answer `query` as expected?"""
        rcode = RCODE.get(response.header.rcode)
        if rcode != self.expect_rcode:
            return ProbeResult(False, f"rcode {rcode}, expected {self.expect_rcode}")
        if self.expect_answer is not None:
            answers = {_rdata_text(str(rr.rdata)) for rr in response.rr}
            if _rdata_text(self.expect_answer) not in answers:
                return ProbeResult(False, f"no answer {self.expect_answer!r} in {sorted(answers)}")
        return PASSED

    def watcher(self) -> Watcher | None:
        if not self.keep_open:
            return None
        return DnsConnectionWatch(
            self.host,
            self.port,
            lambda: bytes(self.query().pack()),
            keepalive_interval=self.timing.interval,
            retry_interval=self.timing.interval,
            connect_timeout=self.timing.timeout,
        )

    async def _exchange_udp(self, query: DNSRecord) -> DNSRecord:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.connect((self.host, self.port))  # a refusal (ICMP) then fails the receive
            await loop.sock_sendall(sock, query.pack())
            while True:  # until the answer to this query, or the timeout
                response = _parse_answer(await loop.sock_recv(sock, 65535), query)
                if response is not None:
                    return response

    async def _exchange_tcp(self, query: DNSRecord) -> DNSRecord:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            data = query.pack()
            writer.write(len(data).to_bytes(2, "big") + data)  # RFC 1035 §4.2.2
            await writer.drain()
            while True:
                length = int.from_bytes(await reader.readexactly(2), "big")
                response = _parse_answer(await reader.readexactly(length), query)
                if response is not None:
                    return response
        except asyncio.IncompleteReadError as error:
            raise ConnectionError("the server closed the connection") from error
        finally:
            writer.close()


@dataclass(frozen=True)
class TcpConnectCheck:
    """A TCP connection to host:port can be opened."""

    name: str
    host: str
    port: int
    timing: Timing = field(default_factory=Timing)

    def describe(self) -> str:
        return f"tcp connection to {_target(self.host, self.port)}"

    async def probe(self) -> ProbeResult:
        try:
            async with asyncio.timeout(self.timing.timeout):
                _, writer = await asyncio.open_connection(self.host, self.port)
        except TimeoutError:
            return ProbeResult(False, f"no connection within {self.timing.timeout:g} s")
        except OSError as error:
            return ProbeResult(False, f"tcp {self.host}:{self.port}: {_why(error)}")
        writer.close()
        return PASSED

    def watcher(self) -> Watcher | None:
        return None


@dataclass(frozen=True)
class CommandCheck:
    """A command that exits with status 0 while the service is healthy."""

    name: str
    argv: tuple[str, ...]
    timing: Timing = field(default_factory=Timing)

    def describe(self) -> str:
        return f"command {shlex.join(self.argv)}"

    async def probe(self) -> ProbeResult:
        try:
            process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        except OSError as error:
            return ProbeResult(False, f"cannot run {self.argv[0]}: {_why(error)}")
        try:
            async with asyncio.timeout(self.timing.timeout):
                status = await process.wait()
        except TimeoutError:
            return ProbeResult(False, f"still running after {self.timing.timeout:g} s")
        finally:
            if process.returncode is None:  # timed out or cancelled: do not leave it behind
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await asyncio.shield(process.wait())
        return PASSED if status == 0 else ProbeResult(False, f"exit status {status}")

    def watcher(self) -> Watcher | None:
        return None


@dataclass(frozen=True)
class ProcessCheck:
    """A process, given by PID or pidfile, is running; its exit fails the check at once."""

    name: str
    pid: int | None = None
    pidfile: Path | None = None
    timing: Timing = field(default_factory=Timing)

    def describe(self) -> str:
        return f"process {self.pid}" if self.pid is not None else f"process in {self.pidfile}"

    async def probe(self) -> ProbeResult:
        pid = current_pid(self.pid, self.pidfile)
        if pid is None:
            return ProbeResult(False, f"no PID in {self.pidfile}")
        return PASSED if process_alive(pid) else ProbeResult(False, f"process {pid} is not running")

    def watcher(self) -> Watcher | None:
        return ProcessWatch(self.pid, self.pidfile, retry_interval=self.timing.interval)


Check = DnsCheck | TcpConnectCheck | CommandCheck | ProcessCheck


def _parse_answer(data: bytes, query: DNSRecord) -> DNSRecord | None:
    """`data` as the answer to `query`, or None if it is not that (or not DNS at all)."""
    try:
        response = DNSRecord.parse(data)
    except Exception:  # dnslib raises several types on malformed input; it is not our answer
        return None
    if response.header.id != query.header.id or not response.header.qr:
        return None
    return response


def _target(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _why(error: OSError) -> str:
    """The system's words for an error ("Connection refused"), else the exception's text."""
    return os.strerror(error.errno) if error.errno else str(error)


def _rdata_text(text: str) -> str:
    """RDATA text compared loosely: case, surrounding quotes and a final dot do not matter."""
    return text.strip().strip('"').rstrip(".").lower()
