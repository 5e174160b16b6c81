"""TCP clients that abuse the server, over real sockets on 127.0.0.1: a client that never reads,
one that trickles its query (slowloris), and clients that hold every connection slot. Time
bounds are loose: the limits are a fraction of a second, the checks allow seconds."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import pytest
from dnslib import DNSRecord

from minidns.server import OUTPUT_LIMIT, ListeningServer, serve
from minidns.service import DnsService
from minidns.tcp import TcpLimits, frame
from tests.minidns.zonetext import zones_from_text

MANY = "\n".join(f"big IN A 10.0.{i // 250}.{i % 250}" for i in range(100))
ZONE = f"""
@    IN SOA ns1 hostmaster 1 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.53
www  IN A   192.0.2.1
{MANY}
"""
LIMITS = TcpLimits(
    idle_timeout=0.5,
    write_timeout=0.5,
    max_lifetime=30.0,
    max_connections=8,
    max_per_client=4,
    quiet_after=0.2,
)


def query(name: str, qid: int = 1) -> bytes:
    record = DNSRecord.question(name)
    record.header.id = qid
    return bytes(record.pack())


@pytest.fixture
async def server():
    service = DnsService(zones_from_text(("example.com.", ZONE)))
    listening = await serve(service, "127.0.0.1", 0, LIMITS)
    yield listening
    listening.close()


async def until(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.05)


async def connect(
    port: int, source: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def ask(port: int, source: str = "127.0.0.1", qid: int = 7) -> int:
    """The ID of the answer to one query on a new connection from `source`."""
    reader, writer = await connect(port, source)
    try:
        writer.write(frame(query("www.example.com", qid)))
        length = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), 5), "big")
        return int.from_bytes((await reader.readexactly(length))[:2], "big")
    finally:
        writer.close()


async def test_a_client_that_never_reads_is_reset(server: ListeningServer):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", server.port))
    try:
        queries = b"".join(frame(query("big.example.com", i)) for i in range(8000))
        await loop.sock_sendall(sock, queries)  # about 13 MB of answers, never read
        await until(lambda: len(server.connections.table) == 1)
        (connection,) = server.connections.open
        buffered = []

        def gone() -> bool:
            if connection.transport is not None:
                buffered.append(connection.transport.get_write_buffer_size())
            return len(server.connections.table) == 0

        await until(gone)
        assert 0 < max(buffered) <= OUTPUT_LIMIT + 65537  # bounded: one answer past the limit
        with pytest.raises(ConnectionResetError):
            while await asyncio.wait_for(loop.sock_recv(sock, 65536), 5):
                pass
    finally:
        sock.close()
    assert await ask(server.port) == 7


async def test_a_query_trickled_an_octet_at_a_time_is_closed_as_idle(server: ListeningServer):
    reader, writer = await connect(server.port)
    started = time.monotonic()
    message = frame(query("www.example.com"))
    closed = asyncio.ensure_future(reader.read())
    for octet in message[:-1] * 10:  # never the last octet: the query never completes
        if closed.done():
            break
        writer.write(bytes((octet,)))
        await asyncio.sleep(0.05)
    # a close, or a reset when the octets sent meanwhile reach the closed socket
    with contextlib.suppress(ConnectionResetError):
        assert await asyncio.wait_for(closed, 5) == b""
    assert time.monotonic() - started < 5
    writer.close()


@pytest.mark.parametrize("hostile_source", ["127.0.0.1", "127.0.0.2"])
async def test_clients_holding_every_slot_do_not_shut_out_another(
    server: ListeningServer, hostile_source: str
):
    hostile = [await connect(server.port, hostile_source) for _ in range(4)]
    hostile += [await connect(server.port, "127.0.0.3") for _ in range(4)]
    await until(lambda: len(server.connections.table) == 8)
    await asyncio.sleep(LIMITS.quiet_after * 2)  # they send nothing: quiet
    assert await ask(server.port) == 7  # one of them made room
    assert await ask(server.port, qid=8) == 8
    for _, writer in hostile:
        writer.close()


async def test_a_busy_client_is_not_evicted_by_newcomers(server: ListeningServer):
    reader, writer = await connect(server.port)
    others = []
    for number in range(12):
        writer.write(frame(query("www.example.com", number)))
        length = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), 5), "big")
        assert (await reader.readexactly(length))[:2] == number.to_bytes(2, "big")
        others.append(await connect(server.port, f"127.0.0.{10 + number}"))
        await asyncio.sleep(0.05)
    writer.close()
    for _, other in others:
        other.close()
