"""The shell around a DnsService: its UDP socket (minidns.udp) and TCP on the event loop."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from minidns.badinput import BadInput
from minidns.service import DnsService
from minidns.udp import DEFAULT_BATCH, UdpReceiver

if TYPE_CHECKING:  # prometheus-client is imported only when --metrics asks for it
    from minidns.metrics import ServerCounts

log = logging.getLogger(__name__)

LENGTH_PREFIX = 2  # RFC 1035 §4.2.2, RFC 7766 §8


@dataclass(frozen=True)
class TcpLimits:
    """RFC 7766 §6.2: how long an idle connection stays open, and how many may be open."""

    idle_timeout: float = 10.0
    max_connections: int = 256


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
    counts: ServerCounts | None = None


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
        counts = self.connections.counts
        if len(self.connections.open) >= self.connections.limits.max_connections:
            self.transport.abort()  # RFC 7766 §6.2.2: over the limit
            if counts is not None:
                counts.tcp_refused += 1
            return
        self.connections.open.add(self)
        if counts is not None:
            counts.tcp_accepted += 1
            counts.tcp_open = len(self.connections.open)
        peer = transport.get_extra_info("peername")
        self.client = str(peer[0]) if peer else ""
        self._touch()
        self._arm_idle_timer(self.connections.limits.idle_timeout)

    def data_received(self, data: bytes) -> None:
        self._touch()
        counts = self.connections.counts
        for message in self.framer.feed(data):
            arrived = time.perf_counter()  # uvloop's clock has millisecond steps
            try:
                responses = self.service.answer_stream(message, self.client)
            except Exception as error:  # a bug must cost one answer, never the server
                self.service.bad_input.add_error(
                    BadInput.INTERNAL_ERROR, message, error, self.client
                )
                responses = []
            if self.transport is not None:
                self.transport.writelines(frame(response) for response in responses)
            if counts is not None:
                counts.tcp.count(message, responses[0] if responses else None)
                counts.tcp.took(time.perf_counter() - arrived)

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
        if self.connections.counts is not None:
            self.connections.counts.tcp_open = len(self.connections.open)
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
    udp_batch: int = DEFAULT_BATCH,
    counts: ServerCounts | None = None,
) -> ListeningServer:
    """Listen for DNS over UDP and TCP on one address (port 0: the same free port for both);
    with `counts`, count what is answered (`minidns.metrics`)."""
    loop = asyncio.get_running_loop()
    connections = TcpConnections(limits or TcpLimits(), counts=counts)
    udp = UdpReceiver(service, udp_socket(host, port, reuse_port), udp_threads, udp_batch, counts)
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
