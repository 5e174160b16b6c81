"""minidns.udp and its C extension minidns._udpbatch, over real sockets on the loopback."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading

import pytest
from dnslib import DNSRecord

import minidns.udp
from minidns.badinput import BadInput
from minidns.service import DnsService
from minidns.udp import DEFAULT_BATCH, UdpReceiver, batching_available, sockaddr_text
from tests.conftest import require
from tests.minidns.zonetext import zones_from_text

ZONE = """
@    IN SOA ns1 hostmaster 1 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.53
www  IN A   192.0.2.1
"""
LOOPBACKS = [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]


@pytest.fixture
def udpbatch():
    require(batching_available(), "minidns._udpbatch is not built (make venv builds it)")
    from minidns import _udpbatch

    return _udpbatch


@pytest.fixture
def sockets():
    """Bound UDP sockets, closed after the test."""
    made: list[socket.socket] = []

    def make(family: int = socket.AF_INET, host: str = "127.0.0.1") -> socket.socket:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        made.append(sock)
        sock.bind((host, 0))
        sock.settimeout(2.0)
        return sock

    yield make
    for sock in made:
        sock.close()


def query(name: str, qid: int) -> bytes:
    record = DNSRecord.question(name, "A")
    record.header.id = qid
    return bytes(record.pack())


@pytest.mark.parametrize(("family", "host"), LOOPBACKS, ids=["IPv4", "IPv6"])
def test_receive_takes_every_waiting_datagram_and_send_answers_each_sender(
    udpbatch, sockets, family, host
):
    server = sockets(family, host)
    clients = [sockets(family, host) for _ in range(3)]
    for number, client in enumerate(clients):
        client.sendto(b"query %d" % number, server.getsockname())
    datagrams = udpbatch.Receiver(server.fileno(), 8).receive()
    assert [payload for payload, _ in datagrams] == [b"query 0", b"query 1", b"query 2"]
    port = clients[1].getsockname()[1]
    assert sockaddr_text(datagrams[1][1]) == f"{host} {port}"

    sent = udpbatch.send(server.fileno(), [(b"answer " + p, address) for p, address in datagrams])
    assert sent == 3
    for number, client in enumerate(clients):
        assert client.recvfrom(100) == (b"answer query %d" % number, server.getsockname())


def test_receive_takes_no_more_than_its_count(udpbatch, sockets):
    server, client = sockets(), sockets()
    for number in range(5):
        client.sendto(bytes([number]), server.getsockname())
    receiver = udpbatch.Receiver(server.fileno(), 2)
    assert [len(receiver.receive()) for _ in range(3)] == [2, 2, 1]


def test_the_largest_datagram_arrives_whole(udpbatch, sockets):
    server, client = sockets(), sockets()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    largest = bytes(range(256)) * 255 + bytes(range(227))  # 65507: IPv4's UDP maximum
    client.sendto(largest, server.getsockname())
    client.sendto(b"", server.getsockname())  # an empty datagram is a datagram too
    received = udpbatch.Receiver(server.fileno(), 4).receive()
    assert [payload for payload, _ in received] == [largest, b""]


def test_send_goes_on_past_a_datagram_that_cannot_be_sent(udpbatch, sockets):
    server, client = sockets(), sockets()
    client.sendto(b"q", server.getsockname())
    [(_, address)] = udpbatch.Receiver(server.fileno()).receive()
    nowhere = bytes(len(address))  # family 0: the kernel refuses it
    assert udpbatch.send(server.fileno(), [(b"lost", nowhere), (b"kept", address)]) == 1
    assert client.recv(10) == b"kept"


def test_send_moves_more_than_one_chunk(udpbatch, sockets):
    server, client = sockets(), sockets()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    client.sendto(b"q", server.getsockname())
    [(_, address)] = udpbatch.Receiver(server.fileno()).receive()
    answers = [(number.to_bytes(2, "big"), address) for number in range(150)]  # chunks of 64
    assert udpbatch.send(server.fileno(), answers) == 150
    assert [int.from_bytes(client.recv(10), "big") for _ in range(150)] == list(range(150))


def test_bad_arguments_are_errors_not_crashes(udpbatch, sockets):
    server = sockets()
    with pytest.raises(ValueError, match="count"):
        udpbatch.Receiver(server.fileno(), 0)
    with pytest.raises(TypeError, match="tuple"):
        udpbatch.send(server.fileno(), [b"not a pair"])
    with pytest.raises(TypeError):
        udpbatch.send(server.fileno(), [("text", b"\x02\x00")])
    with pytest.raises(ValueError, match="sockaddr"):
        udpbatch.send(server.fileno(), [(b"x", bytes(200))])
    with pytest.raises(OSError):
        udpbatch.Receiver(-1).receive()
    with pytest.raises(OSError):
        udpbatch.send(-1, [(b"x", bytes(16))])


def test_shutdown_wakes_a_blocked_receive_with_an_empty_list_and_a_receiver_is_not_shared(
    udpbatch, sockets
):
    server = sockets()
    server.settimeout(None)  # blocking, as minidns's own sockets are
    results: list[object] = []
    receiver = udpbatch.Receiver(server.fileno())
    thread = threading.Thread(target=lambda: results.append(receiver.receive()))
    thread.start()
    thread.join(timeout=0.2)
    assert thread.is_alive()  # blocked in recvmmsg, without the GIL: this test still runs
    with pytest.raises(RuntimeError, match="one per thread"):
        receiver.receive()  # its buffers are the kernel's until the other call returns
    with contextlib.suppress(OSError):  # ENOTCONN, yet the blocked receive returns
        server.shutdown(socket.SHUT_RDWR)
    thread.join(timeout=2.0)
    assert not thread.is_alive() and results == [[]]


def service() -> DnsService:
    return DnsService(zones_from_text(("example.com.", ZONE)), identity="udp-test")


def receiver(batch: int, threads: int = 1) -> UdpReceiver:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return UdpReceiver(service(), sock, threads=threads, batch=batch)


@pytest.mark.parametrize("batch", [1, DEFAULT_BATCH], ids=["one-per-call", "batched"])
def test_a_query_that_breaks_the_service_costs_only_its_own_answer(batch, sockets, monkeypatch):
    if batch > 1:
        require(batching_available(), "minidns._udpbatch is not built")
    udp = receiver(batch)
    real_answer = udp.service.answer_datagram

    def answer(wire: bytes) -> bytes | None:
        if wire.startswith(b"\x00\x02"):  # the query with ID 2
            raise RuntimeError("a bug")
        return real_answer(wire)

    monkeypatch.setattr(udp.service, "answer_datagram", answer)
    client = sockets()
    for qid in range(1, 5):  # all waiting before the thread starts: one batch when batched
        client.sendto(query("www.example.com", qid), udp.socket.getsockname())
    try:
        udp.start()
        ids = sorted(DNSRecord.parse(client.recv(512)).header.id for _ in range(3))
        assert ids == [1, 3, 4]
        assert udp.service.bad_input.totals[BadInput.INTERNAL_ERROR] == 1
        (line,) = udp.service.bad_input.report()  # counted, and logged later without traceback
        assert f"from 127.0.0.1 {client.getsockname()[1]}, RuntimeError: a bug" in line
    finally:
        udp.close()
    assert not udp.running()


def test_without_the_extension_it_moves_one_datagram_per_call(monkeypatch, sockets, caplog):
    monkeypatch.setattr(minidns.udp, "_udpbatch", None)
    with caplog.at_level(logging.WARNING, logger="minidns.udp"):
        udp = receiver(DEFAULT_BATCH, threads=2)
    assert udp.batch == 1 and "not built" in caplog.text
    client = sockets()
    try:
        udp.start()
        client.sendto(query("www.example.com", 7), udp.socket.getsockname())
        assert DNSRecord.parse(client.recv(512)).header.id == 7
    finally:
        udp.close()


def test_a_batch_size_out_of_range_is_refused():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with sock, pytest.raises(ValueError, match="batch"):
        UdpReceiver(service(), sock, batch=0)


def test_sockaddr_text_of_something_else_is_hex():
    assert sockaddr_text(b"\x01\x00abc") == "0100616263"


@pytest.mark.parametrize("batch", [1, DEFAULT_BATCH], ids=["one-per-call", "batched"])
def test_two_threads_on_one_socket_answer_every_query_of_a_burst_once(batch, sockets):
    if batch > 1:
        require(batching_available(), "minidns._udpbatch is not built")
    udp = receiver(batch, threads=2)
    client = sockets()
    try:
        udp.start()
        answered: list[int] = []
        for burst in range(5):
            ids = range(burst * 100, burst * 100 + 100)
            for qid in ids:
                client.sendto(query("www.example.com", qid), udp.socket.getsockname())
            for _ in ids:
                response = DNSRecord.parse(client.recv(512))
                assert str(response.rr[0].rdata) == "192.0.2.1"
                answered.append(response.header.id)
        assert sorted(answered) == list(range(500))
    finally:
        udp.close()
