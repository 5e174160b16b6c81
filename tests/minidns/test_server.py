"""The UDP and TCP servers over real sockets on 127.0.0.1 (ephemeral ports).

Every UDP test runs twice: one datagram per system call, and in batches (minidns._udpbatch).
"""

from __future__ import annotations

import asyncio
import os

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

from minidns.server import serve
from minidns.service import DnsService
from minidns.tcp import MessageFramer, TcpLimits, frame
from minidns.udp import DEFAULT_BATCH, batching_available
from tests.conftest import require
from tests.minidns.zonetext import zones_from_text

MANY = "\n".join(f"big IN A 10.0.{i // 250}.{i % 250}" for i in range(100))
ZONE = f"""
@    IN SOA ns1 hostmaster 1 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.53
www  IN A   192.0.2.1
{MANY}
"""


@pytest.fixture(params=[1, DEFAULT_BATCH], ids=["one-per-call", "batched"])
def udp_batch(request: pytest.FixtureRequest) -> int:
    batch = int(request.param)
    if batch > 1:
        require(batching_available(), "minidns._udpbatch is not built (make venv builds it)")
    return batch


@pytest.fixture
async def server(udp_batch):
    service = DnsService(zones_from_text(("example.com.", ZONE)), identity="server1")
    limits = TcpLimits(idle_timeout=0.3, max_connections=4)
    listening = await serve(service, "127.0.0.1", 0, limits, udp_batch=udp_batch)
    assert listening.udp.batch == udp_batch
    yield listening
    listening.close()


def query(name: str, qtype: str = "A", qid: int = 1) -> bytes:
    record = DNSRecord.question(name, qtype)
    record.header.id = qid
    return bytes(record.pack())


async def udp_exchange(port: int, wire: bytes, timeout: float = 2.0) -> bytes | None:
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[bytes] = loop.create_future()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            if not answer.done():
                answer.set_result(data)

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=("127.0.0.1", port))
    transport.sendto(wire)
    try:
        return await asyncio.wait_for(answer, timeout)
    except TimeoutError:
        return None
    finally:
        transport.close()


async def read_message(reader: asyncio.StreamReader) -> bytes:
    length = int.from_bytes(await reader.readexactly(2), "big")
    return await reader.readexactly(length)


async def test_udp_query_is_answered(server):
    response = DNSRecord.parse(await udp_exchange(server.port, query("www.example.com", qid=77)))
    assert response.header.id == 77
    assert str(response.rr[0].rdata) == "192.0.2.1"


async def test_tcp_several_pipelined_queries_on_one_connection(server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    names = ["www.example.com", "ns1.example.com", "nope.example.com"]
    writer.write(b"".join(frame(query(name, qid=i)) for i, name in enumerate(names)))
    responses = [DNSRecord.parse(await read_message(reader)) for _ in names]
    assert sorted(r.header.id for r in responses) == [0, 1, 2]
    by_id = {r.header.id: r for r in responses}
    assert by_id[2].header.rcode == RCODE.NXDOMAIN
    # and the connection stays open for more
    writer.write(frame(query("www.example.com", qid=9)))
    assert DNSRecord.parse(await read_message(reader)).header.id == 9
    writer.close()


async def test_tcp_query_split_across_segments(server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    message = frame(query("www.example.com", qid=5))
    for octet in range(len(message)):
        writer.write(message[octet : octet + 1])
        await writer.drain()
    assert DNSRecord.parse(await read_message(reader)).header.id == 5
    writer.close()


async def test_idle_tcp_connection_is_closed(server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    # RFC 7766 §6.2.3: the server closes a connection idle for longer than its timeout (0.3 s)
    assert await asyncio.wait_for(reader.read(), timeout=5) == b""
    writer.close()


async def test_connections_over_the_limit_are_closed(server):
    connections = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(4)]
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    with pytest.raises(ConnectionResetError):  # refused: the others are not quiet yet
        await asyncio.wait_for(reader.read(), timeout=5)
    for _, open_writer in connections:
        open_writer.close()
    writer.close()


async def test_truncated_over_udp_complete_over_tcp(server):
    udp = DNSRecord.parse(await udp_exchange(server.port, query("big.example.com")))
    assert udp.header.tc == 1 and udp.rr == []
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(frame(query("big.example.com")))
    tcp = DNSRecord.parse(await read_message(reader))
    assert tcp.header.tc == 0 and len(tcp.rr) == 100
    writer.close()


async def test_formerr_and_notimp(server):
    garbage = query("www.example.com")[:12] + b"\xff\xfe"
    formerr = DNSRecord.parse(await udp_exchange(server.port, garbage))
    assert formerr.header.rcode == RCODE.FORMERR
    status = bytearray(query("www.example.com"))
    status[2] |= 2 << 3  # opcode STATUS
    notimp = DNSRecord.parse(await udp_exchange(server.port, bytes(status)))
    assert notimp.header.rcode == RCODE.NOTIMP


async def test_garbage_never_stops_the_server(server):
    random = os.urandom(4096)
    for start in range(0, 4096, 37):
        await udp_exchange(server.port, random[start : start + 1 + start % 300], timeout=0.01)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(frame(random[:700]) + frame(b"") + frame(random[700:720]))
    writer.write(frame(query("www.example.com", qid=3)))
    responses = []
    while True:  # garbage gets FORMERR or nothing; the real query its answer
        response = DNSRecord.parse(await asyncio.wait_for(read_message(reader), timeout=5))
        responses.append(response)
        if response.header.id == 3 and response.header.rcode == RCODE.NOERROR:
            break
    writer.close()
    answer = DNSRecord.parse(await udp_exchange(server.port, query("www.example.com")))
    assert answer.rr[0].rtype == QTYPE.A


def test_framer_splits_a_stream_into_messages():
    framer = MessageFramer()
    stream = frame(b"one") + frame(b"") + frame(b"three")
    assert framer.feed(stream[:4]) == []
    assert framer.feed(stream[4:]) == [b"one", b"", b"three"]


async def test_a_client_that_reads_late_gets_every_answer(server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    count = 2000  # about 3 MB of answers: more than the socket buffers hold
    writer.write(b"".join(frame(query("big.example.com", qid=i)) for i in range(count)))
    await asyncio.sleep(0.2)  # the server stops reading while its answers wait
    ids = [int.from_bytes((await read_message(reader))[:2], "big") for _ in range(count)]
    assert ids == list(range(count))
    writer.close()


async def test_close_ends_the_udp_thread_and_frees_the_port(udp_batch):
    service = DnsService(zones_from_text(("example.com.", ZONE)), identity="server1")
    listening = await serve(service, "127.0.0.1", 0, udp_batch=udp_batch)
    port = listening.port
    assert await udp_exchange(port, query("www.example.com.")) is not None
    assert listening.udp.running()
    listening.close()
    assert not listening.udp.running()
    again = await serve(service, "127.0.0.1", port)  # the port is free again
    again.close()


def test_an_answer_from_zones_replaced_meanwhile_is_not_cached(monkeypatch):
    """UDP answers come from threads: a reload during the slow path must not leave the old
    zones' answer in the cache."""
    import minidns.service

    old = zones_from_text(("example.com.", ZONE))
    new = zones_from_text(("example.com.", ZONE.replace("192.0.2.1", "198.51.100.1")))
    service = DnsService(old, identity="server1")
    real_respond = minidns.service.respond_to

    def respond_then_reload(zones, query, **kwargs):  # type: ignore[no-untyped-def]
        response = real_respond(zones, query, **kwargs)
        if zones is old:
            service.replace_zones(new)  # SIGHUP arrives while the old answer is being built
        return response

    monkeypatch.setattr(minidns.service, "respond_to", respond_then_reload)
    wire = query("www.example.com.")
    first = DNSRecord.parse(service.answer_datagram(wire))
    assert str(first.rr[0].rdata) == "192.0.2.1"
    second = DNSRecord.parse(service.answer_datagram(wire))
    assert str(second.rr[0].rdata) == "198.51.100.1"
