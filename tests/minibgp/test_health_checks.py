"""The health checks and watchers against real sockets and processes on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dnslib import QTYPE, RCODE, RR, A, DNSRecord

from minibgp.health.checks import (
    Check,
    CommandCheck,
    DnsCheck,
    ProcessCheck,
    TcpConnectCheck,
)
from minibgp.health.runner import HealthMonitor
from minibgp.health.state import Timing
from minibgp.health.watch import DnsConnectionWatch, ProcessWatch

LOCALHOST = "127.0.0.1"
QUICK = Timing(interval=0.1, timeout=0.5, rise=1, fall=1)
# Watchers with intervals this long can only pass the tests by seeing a failure at once.
SLOW = Timing(interval=30.0, timeout=2.0, rise=1, fall=1)
WAIT = 5.0

# A tiny authoritative server: example.com SOA, www.example.com A 192.0.2.1, NXDOMAIN otherwise.
# Run in-process for the probes, and as a separate process where a test kills it.
SERVER = r"""
import asyncio, sys
from dnslib import DNSRecord, RR, QTYPE, RCODE, A, SOA

def answer(data):
    query = DNSRecord.parse(data)
    reply = query.reply()
    name, qtype = str(query.q.qname).lower(), QTYPE[query.q.qtype]
    if name == "example.com." and qtype == "SOA":
        reply.add_answer(RR("example.com.", QTYPE.SOA, rdata=SOA(
            "ns1.example.com.", "hostmaster.example.com.", (1, 3600, 600, 86400, 60))))
    elif name == "www.example.com." and qtype == "A":
        reply.add_answer(RR(name, QTYPE.A, rdata=A("192.0.2.1")))
    elif name not in ("example.com.", "www.example.com."):
        reply.header.rcode = RCODE.NXDOMAIN
    return reply.pack()

class Udp(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport
    def datagram_received(self, data, addr):
        self.transport.sendto(answer(data), addr)

async def tcp_client(reader, writer):
    try:
        while True:
            length = int.from_bytes(await reader.readexactly(2), "big")
            data = answer(await reader.readexactly(length))
            writer.write(len(data).to_bytes(2, "big") + data)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()

async def serve(host, port=0):
    tcp = await asyncio.start_server(tcp_client, host, port)
    port = tcp.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    udp, _ = await loop.create_datagram_endpoint(Udp, local_addr=(host, port))
    return tcp, udp, port

async def main():
    tcp, udp, port = await serve("127.0.0.1")
    print(port, flush=True)
    await asyncio.Event().wait()

if __name__ == "__main__":
    asyncio.run(main())
"""
server_module: dict[str, object] = {}
exec(compile(SERVER, "tiny_dns_server", "exec"), server_module)


@pytest.fixture
async def dns_port() -> AsyncIterator[int]:
    tcp, udp, port = await server_module["serve"](LOCALHOST)  # type: ignore[operator]
    yield port
    tcp.close()
    udp.close()


@pytest.fixture
async def dns_process() -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVER, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    port = int(await asyncio.wait_for(process.stdout.readline(), 10))
    yield process, port
    if process.returncode is None:
        process.kill()
    await process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def dns_check(port: int, query: str = "example.com.", **kwargs: object) -> DnsCheck:
    return DnsCheck("dns", LOCALHOST, port, query, timing=QUICK, **kwargs)  # type: ignore[arg-type]


# -- DNS check -----------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_dns_check_passes_on_the_expected_rcode_and_answer(
    dns_port: int, transport: str
) -> None:
    assert (await dns_check(dns_port, transport=transport).probe()).ok
    check = dns_check(dns_port, "www.example.com.", query_type="A", transport=transport)
    assert (await check.probe()).ok
    with_answer = DnsCheck(
        "dns", LOCALHOST, dns_port, "www.example.com.", "A", expect_answer="192.0.2.1"
    )
    assert (await with_answer.probe()).ok


async def test_dns_check_fails_on_a_wrong_answer_or_rcode(dns_port: int) -> None:
    wrong = dns_check(dns_port, "www.example.com.", query_type="A", expect_answer="192.0.2.9")
    result = await wrong.probe()
    assert not result.ok and "192.0.2.9" in result.reason
    missing = await dns_check(dns_port, "nope.example.net.").probe()
    assert not missing.ok and "NXDOMAIN" in missing.reason
    assert (await dns_check(dns_port, "nope.example.net.", expect_rcode="NXDOMAIN").probe()).ok


async def test_dns_check_fails_when_nothing_listens_or_nothing_answers() -> None:
    refused = await dns_check(free_port()).probe()
    assert not refused.ok and "refused" in refused.reason.lower()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind((LOCALHOST, 0))
        check = DnsCheck(
            "dns", LOCALHOST, silent.getsockname()[1], "example.com.", timing=Timing(timeout=0.2)
        )
        result = await check.probe()
    assert not result.ok and "no answer within 0.2 s" in result.reason


async def test_dns_check_ignores_garbage_and_answers_to_other_queries() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind((LOCALHOST, 0))
        server.setblocking(False)
        check = DnsCheck("dns", LOCALHOST, server.getsockname()[1], "example.com.")
        probe = asyncio.create_task(check.probe())
        loop = asyncio.get_running_loop()
        data, client = await loop.sock_recvfrom(server, 512)
        query = DNSRecord.parse(data)
        other = DNSRecord.question("example.com.", "SOA")  # a different ID
        await loop.sock_sendto(server, other.reply().pack(), client)
        await loop.sock_sendto(server, b"\x00\x01garbage", client)
        await loop.sock_sendto(server, query.reply().pack(), client)
        assert (await probe).ok


def test_dns_check_judges_the_rcode_by_name() -> None:
    check = DnsCheck("dns", LOCALHOST, 53, "www.example.com.", "A", expect_answer="192.0.2.1")
    query = check.query()
    reply = query.reply()
    reply.add_answer(RR("www.example.com.", QTYPE.A, rdata=A("192.0.2.1")))
    assert check.judge(query, reply).ok
    reply.header.rcode = RCODE.SERVFAIL
    assert check.judge(query, reply).reason == "rcode SERVFAIL, expected NOERROR"


# -- TCP connect and command checks --------------------------------------------------------


async def test_tcp_connect_check(dns_port: int) -> None:
    assert (await TcpConnectCheck("tcp", LOCALHOST, dns_port, QUICK).probe()).ok
    result = await TcpConnectCheck("tcp", LOCALHOST, free_port(), QUICK).probe()
    assert not result.ok and "refused" in result.reason.lower()


async def test_command_check_passes_on_exit_status_zero() -> None:
    assert (await CommandCheck("cmd", ("true",), QUICK).probe()).ok
    failed = await CommandCheck("cmd", ("false",), QUICK).probe()
    assert failed == type(failed)(False, "exit status 1")
    missing = await CommandCheck("cmd", ("/nonexistent/healthy",), QUICK).probe()
    assert not missing.ok and "cannot run" in missing.reason


async def test_command_check_kills_a_command_that_runs_too_long(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    check = CommandCheck(
        "cmd", ("sh", "-c", f"echo $$ > {pidfile}; exec sleep 30"), Timing(timeout=0.5)
    )
    result = await check.probe()
    assert not result.ok and "still running" in result.reason
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


# -- watchers ------------------------------------------------------------------------------


async def wait_for(event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), WAIT)


async def test_keep_open_watcher_sees_a_killed_server_at_once(
    dns_process: tuple[asyncio.subprocess.Process, int],
) -> None:
    process, port = dns_process
    lost = asyncio.Event()
    reasons: list[str] = []

    def on_lost(reason: str) -> None:
        reasons.append(reason)
        lost.set()

    watch = DnsConnectionWatch(
        LOCALHOST, port, lambda: bytes(DNSRecord.question("example.com.", "SOA").pack()),
        keepalive_interval=SLOW.interval, retry_interval=SLOW.interval,
    )  # fmt: skip
    task = asyncio.create_task(watch.run(on_lost))
    try:
        await wait_for(watch.connected)
        process.kill()
        await wait_for(lost)
        assert reasons and "closed" in reasons[0]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_keep_open_watcher_does_not_report_a_live_server_closing_a_connection() -> None:
    connections = 0

    async def answer_once_then_close(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:  # RFC 7766 §6.2.3 allows a server to close connections
        nonlocal connections
        connections += 1
        length = int.from_bytes(await reader.readexactly(2), "big")
        data = server_module["answer"](await reader.readexactly(length))  # type: ignore[operator]
        writer.write(len(data).to_bytes(2, "big") + data)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer_once_then_close, LOCALHOST, 0)
    port = server.sockets[0].getsockname()[1]
    reasons: list[str] = []
    watch = DnsConnectionWatch(
        LOCALHOST, port, lambda: bytes(DNSRecord.question("example.com.", "SOA").pack()),
        keepalive_interval=SLOW.interval, retry_interval=0.05,
    )  # fmt: skip
    task = asyncio.create_task(watch.run(reasons.append))
    try:
        async with asyncio.timeout(WAIT):
            while connections < 4:
                await asyncio.sleep(0.01)
        assert reasons == []
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        server.close()


@pytest.mark.parametrize("by", ["pid", "pidfile"])
async def test_process_watcher_sees_an_exit_at_once(tmp_path: Path, by: str) -> None:
    process = await asyncio.create_subprocess_exec("sleep", "30")
    pidfile = tmp_path / "sleep.pid"
    pidfile.write_text(f"{process.pid}\n")
    lost = asyncio.Event()
    reasons: list[str] = []

    def on_lost(reason: str) -> None:
        reasons.append(reason)
        lost.set()

    if by == "pid":
        watch = ProcessWatch(pid=process.pid, retry_interval=SLOW.interval)
    else:
        watch = ProcessWatch(pidfile=pidfile, retry_interval=SLOW.interval)
    task = asyncio.create_task(watch.run(on_lost))
    try:
        for _ in range(100):
            if watch.watching == process.pid:
                break
            await asyncio.sleep(0.01)
        assert watch.watching == process.pid
        check = ProcessCheck("process", pid=process.pid)
        assert (await check.probe()).ok
        process.send_signal(signal.SIGKILL)
        await wait_for(lost)
        assert reasons == [f"process {process.pid} exited"]
        assert not (await check.probe()).ok  # a zombie is not running
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await process.wait()


async def test_process_check_without_its_pidfile_fails(tmp_path: Path) -> None:
    result = await ProcessCheck("process", pidfile=tmp_path / "missing.pid").probe()
    assert not result.ok and "no PID" in result.reason


# -- the monitor, end to end ---------------------------------------------------------------


async def test_monitor_announces_when_checks_pass_and_withdraws_when_the_server_dies(
    dns_process: tuple[asyncio.subprocess.Process, int],
) -> None:
    process, port = dns_process
    changes: list[tuple[str, bool]] = []
    changed = asyncio.Event()

    def on_change(prefix: str, up: bool) -> None:
        changes.append((prefix, up))
        changed.set()

    checks: list[Check] = [
        DnsCheck("dns", LOCALHOST, port, "example.com.", keep_open=True, timing=SLOW),
        ProcessCheck("process", pid=process.pid, timing=SLOW),
    ]
    monitor = HealthMonitor(checks, {"169.254.0.1/32": ["dns", "process"]}, on_change)
    monitor.start()
    try:
        await wait_for(changed)
        assert changes == [("169.254.0.1/32", True)]
        changed.clear()
        process.kill()
        await wait_for(changed)  # long before the next probe, 30 s away
        assert changes == [("169.254.0.1/32", True), ("169.254.0.1/32", False)]
        assert not monitor.is_up("169.254.0.1/32")
    finally:
        await monitor.close()
