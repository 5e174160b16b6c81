"""The asyncio shell: UDP and TCP sockets that move bytes to and from a DnsService."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from dataclasses import dataclass, field
from typing import cast

from minidns.service import DnsService

log = logging.getLogger(__name__)

LENGTH_PREFIX = 2  # RFC 1035 §4.2.2, RFC 7766 §8
MAX_UDP_MESSAGE = 65535


@dataclass(frozen=True)
class TcpLimits:
    """RFC 7766 §6.2: how long an idle connection stays open, and how many may be open."""

    idle_timeout: float = 10.0
    max_connections: int = 256


class UdpReceiver:
    """One UDP socket served by blocking receive loops, each in a thread of its own.

    Each datagram is a query and each answer one datagram back: one `recvfrom` and one `sendto`,
    with no readiness polling in between. Both calls release the GIL, so two threads on one
    socket overlap their system calls. Measured with dnsperf on this 2-CPU machine, in the same
    run: one thread 10-20 % more queries per second than a uvloop datagram protocol, two threads
    5-15 % more again, four threads less (bench/dns_perf.py). The threads only call
    `DnsService.answer_datagram`; TCP stays on the event loop.
    """

    def __init__(self, service: DnsService, sock: socket.socket, threads: int = 2) -> None:
        self.service = service
        self.socket = sock
        self._threads = [
            threading.Thread(target=self._receive_loop, name=f"udp {self.port}", daemon=True)
            for _ in range(threads)
        ]

    @property
    def port(self) -> int:
        return int(self.socket.getsockname()[1])

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        """Wake the receive loops (Linux: shutdown() on a UDP socket does) and close the socket."""
        with contextlib.suppress(OSError):  # ENOTCONN, yet every blocked recvfrom returns
            self.socket.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=1.0)
        self.socket.close()

    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def _receive_loop(self) -> None:
        receive, send = self.socket.recvfrom, self.socket.sendto
        answer = self.service.answer_datagram
        while True:
            try:
                data, addr = receive(MAX_UDP_MESSAGE)
            except OSError as error:
                log.debug("UDP receive error: %s", error)
                if self.socket.fileno() < 0:
                    return
                continue
            if addr is None:  # shut down by close()
                return
            try:
                response = answer(data)
                if response is not None:
                    send(response, addr)
            except Exception:  # a bug must cost one answer, never the server
                log.exception("no answer to a UDP query from %s", addr)


class MessageFramer:
    """Splits a TCP byte stream into DNS messages by their 2-octet length (RFC 1035 §4.2.2)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """The messages completed by `data`."""
        self._buffer += data
        messages = []
        while len(self._buffer) >= LENGTH_PREFIX:
            length = int.from_bytes(self._buffer[:LENGTH_PREFIX], "big")
            end = LENGTH_PREFIX + length
            if len(self._buffer) < end:
                break
            messages.append(bytes(self._buffer[LENGTH_PREFIX:end]))
            del self._buffer[:end]
        return messages


def frame(message: bytes) -> bytes:
    return len(message).to_bytes(LENGTH_PREFIX, "big") + message


@dataclass
class TcpConnections:
    """The open TCP connections of one server, to enforce TcpLimits.max_connections."""

    limits: TcpLimits
    open: set[TcpConnection] = field(default_factory=set)


class TcpConnection(asyncio.Protocol):
    """One TCP client: any number of queries, pipelined, until idle (RFC 7766 §6.2.1)."""

    def __init__(self, service: DnsService, connections: TcpConnections) -> None:
        self.service = service
        self.connections = connections
        self.framer = MessageFramer()
        self.transport: asyncio.Transport | None = None
        self.client = ""
        self._loop = asyncio.get_running_loop()
        self._last_activity = 0.0
        self._idle_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if len(self.connections.open) >= self.connections.limits.max_connections:
            self.transport.abort()  # RFC 7766 §6.2.2: over the limit
            return
        self.connections.open.add(self)
        peer = transport.get_extra_info("peername")
        self.client = str(peer[0]) if peer else ""
        self._touch()
        self._arm_idle_timer(self.connections.limits.idle_timeout)

    def data_received(self, data: bytes) -> None:
        self._touch()
        for message in self.framer.feed(data):
            try:
                responses = self.service.answer_stream(message, self.client)
            except Exception:  # a bug must cost one answer, never the server
                log.exception("no answer to a TCP query from %s", self.client)
                continue
            if self.transport is not None:
                self.transport.writelines(frame(response) for response in responses)

    def pause_writing(self) -> None:
        # A client that sends queries without reading the answers: stop reading its queries
        # until the answers drain (RFC 7766 §6.2.3 lets a server apply such limits).
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.open.discard(self)
        if self._idle_timer is not None:
            self._idle_timer.cancel()

    def _touch(self) -> None:
        self._last_activity = self._loop.time()

    def _arm_idle_timer(self, delay: float) -> None:
        self._idle_timer = self._loop.call_later(delay, self._check_idle)

    def _check_idle(self) -> None:
        remaining = self._last_activity + self.connections.limits.idle_timeout - self._loop.time()
        if remaining > 0:
            self._arm_idle_timer(remaining)
        elif self.transport is not None:
            self.transport.close()  # RFC 7766 §6.2.3: the server closes idle connections


@dataclass
class ListeningServer:
    """The sockets of one listen address, to close them."""

    udp: UdpReceiver
    tcp: asyncio.Server
    connections: TcpConnections

    @property
    def port(self) -> int:
        return self.udp.port

    def close(self) -> None:
        self.udp.close()
        self.tcp.close()
        for connection in list(self.connections.open):
            if connection.transport is not None:
                connection.transport.abort()


def udp_socket(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """A bound UDP socket; with `reuse_port`, several processes share the port (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


async def serve(
    service: DnsService,
    host: str,
    port: int,
    limits: TcpLimits | None = None,
    reuse_port: bool = False,
    udp_threads: int = 2,
) -> ListeningServer:
    """Listen for DNS over UDP and TCP on one address (port 0: the same free port for both)."""
    loop = asyncio.get_running_loop()
    connections = TcpConnections(limits or TcpLimits())
    udp = UdpReceiver(service, udp_socket(host, port, reuse_port), udp_threads)
    try:
        tcp_server = await loop.create_server(
            lambda: TcpConnection(service, connections),
            host,
            udp.port,
            family=udp.socket.family,
            reuse_address=True,
            reuse_port=reuse_port,
        )
    except OSError:
        udp.socket.close()
        raise
    udp.start()
    return ListeningServer(udp, tcp_server, connections)
