"""The shell around a DnsService: its UDP socket (minidns.udp) and TCP on the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import struct
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from minidns.badinput import BadInput
from minidns.service import DnsService
from minidns.tcp import ConnectionTable, TcpLimits, TcpSession, Verdict
from minidns.udp import DEFAULT_BATCH, UdpReceiver

if TYPE_CHECKING:  # prometheus-client is imported only when --metrics asks for it
    from minidns.metrics import ServerCounts

log = logging.getLogger(__name__)

# Octets of answers waiting in a connection's transport above which it answers no more of the
# queries received (nor reads more) until the client takes them: a bound on buffered output.
OUTPUT_LIMIT = 256 * 1024
LINGER_RESET = struct.pack("ii", 1, 0)  # struct linger: on, 0 seconds
FREE_PORT_ATTEMPTS = 20  # with port 0, for a port free for both UDP and TCP
# Pending connections the kernel queues while the event loop is busy (listen(2) backlog).
ACCEPT_BACKLOG = 1024


@dataclass
class TcpConnections:
    """The open TCP connections of one listen address (`minidns.tcp.ConnectionTable`)."""

    limits: TcpLimits
    table: ConnectionTable[TcpConnection] = field(init=False)
    counts: ServerCounts | None = None

    def __post_init__(self) -> None:
        self.table = ConnectionTable(self.limits)

    @property
    def open(self) -> list[TcpConnection]:
        return self.table.connections()


class TcpConnection(asyncio.Protocol):
    """One TCP client: queries answered as they come, pipelined (RFC 7766 §6.2.1), until the
    connection's `TcpSession` says to close or abort it."""

    def __init__(self, service: DnsService, connections: TcpConnections) -> None:
        self.service = service
        self.connections = connections
        self.transport: asyncio.Transport | None = None
        self.client = ""
        self._loop = asyncio.get_running_loop()
        self.session = TcpSession(connections.limits, now=self._loop.time())
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._queries: deque[bytes] = deque()  # received, not answered yet
        self._answers: deque[bytes] = deque()  # framed, not written yet
        self._writing_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.client = str(peer[0]) if peer else ""
        now = self._loop.time()
        counts = self.connections.counts
        admission = self.connections.table.admit(self, self.client, self.session, now=now)
        if not admission.accepted:
            reset(self.transport)  # RFC 7766 §6.2.2, §10: over the limit, none to evict
            if counts is not None:
                counts.tcp_refused += 1
            return
        if admission.evict is not None:
            log.debug("TCP: %s evicted for %s", admission.evict.client, self.client)
            admission.evict.abort()
        if counts is not None:
            counts.tcp_accepted += 1
            counts.tcp_open = len(self.connections.table)
        self._arm()

    def data_received(self, data: bytes) -> None:
        messages = self.session.receive(data, now=self._loop.time())
        if messages:
            self._queries.extend(messages)
            self._pump()

    def _pump(self) -> None:
        """Answer the queries received, writing while less than OUTPUT_LIMIT octets wait in
        the transport; what is left waits for `resume_writing`, and so does reading."""
        transport = self.transport
        if transport is None:
            return
        queries, answers = self._queries, self._answers
        queued = 0
        while queries or answers:
            budget = OUTPUT_LIMIT - transport.get_write_buffer_size()
            if budget <= 0:  # above the high-water mark too: resume_writing will come
                break
            written = self._answer_some(budget)
            transport.write(written)  # one write for many answers: one system call
            queued += len(written)
        self.session.wrote(queued, transport.get_write_buffer_size(), now=self._loop.time())
        if queries or answers:
            transport.pause_reading()  # RFC 7766 §6.2.3: no more queries until these go out
        elif not self._writing_paused and not transport.is_reading():
            transport.resume_reading()
        self._arm()

    def _answer_some(self, budget: int) -> bytes:
        """Answers waiting, then answers to queries waiting, up to about `budget` octets."""
        queries, answers = self._queries, self._answers
        out: list[bytes] = []
        while answers and budget > 0:  # the rest of a zone transfer, say
            answer = answers.popleft()
            out.append(answer)
            budget -= len(answer)
        answer_stream = self.service.answer_stream
        counts = self.connections.counts
        while queries and budget > 0:
            message = queries.popleft()
            arrived = time.perf_counter() if counts is not None else 0.0
            try:
                responses = answer_stream(message, self.client)
            except Exception as error:  # a bug must cost one answer, never the server
                self.service.bad_input.add_error(
                    BadInput.INTERNAL_ERROR, message, error, self.client
                )
                responses = []
            for response in responses:
                framed = len(response).to_bytes(2, "big") + response
                if budget > 0:
                    out.append(framed)
                    budget -= len(framed)
                else:
                    answers.append(framed)
            if counts is not None:  # uvloop's clock has millisecond steps: perf_counter
                counts.tcp.count(message, responses[0] if responses else None)
                counts.tcp.took(time.perf_counter() - arrived)
        return b"".join(out)

    def pause_writing(self) -> None:
        # A client that sends queries without reading the answers: stop reading its queries
        # until the answers drain, and the write timeout runs (RFC 7766 §6.2.3, §10).
        self._writing_paused = True
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._pump()

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.table.remove(self)
        if self.connections.counts is not None:
            self.connections.counts.tcp_open = len(self.connections.table)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.transport = None

    def abort(self) -> None:
        """Reset the connection at once (RST), dropping what the client left unread."""
        if self.transport is not None:
            reset(self.transport)

    def _refresh(self, now: float) -> None:
        """Tell the session how much of what was written is still waiting."""
        if self.transport is not None:
            self.session.wrote(0, self.transport.get_write_buffer_size(), now=now)

    def _arm(self) -> None:
        """One timer per connection, moved earlier when the session's deadline is; a timer
        that fires early (the deadline moved later) is simply armed again."""
        when = self.session.get_timer()
        if self._timer is not None:
            if when >= self._timer_at:
                return
            self._timer.cancel()
        self._timer_at = when
        self._timer = self._loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        transport = self.transport
        if transport is None:
            return
        now = self._loop.time()
        self._refresh(now)
        verdict = self.session.handle_timer(now=now)
        if verdict is Verdict.ABORT:
            log.debug("TCP: %s reset (answers unread)", self.client)
            reset(transport)
            return
        if verdict is Verdict.CLOSE:
            self.session.close(now=now)
            transport.close()
        self._arm()


def reset(transport: asyncio.Transport) -> None:
    """Close with a reset: SO_LINGER 0 makes the kernel drop the unsent data at once instead of
    keeping it for a client that does not read (a plain close keeps it until it times out)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
    transport.abort()


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
        for connection in self.connections.open:
            connection.abort()


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
    # Port 0: the kernel picks a free UDP port, which TCP may have in use (a client's
    # ephemeral port, say); then another UDP port is tried, a bounded number of times.
    for attempt in range(FREE_PORT_ATTEMPTS):
        sock = udp_socket(host, port, reuse_port)
        udp_port = int(sock.getsockname()[1])
        try:
            tcp_server = await loop.create_server(
                lambda: TcpConnection(service, connections),
                host,
                udp_port,
                family=sock.family,
                backlog=ACCEPT_BACKLOG,
                reuse_address=True,
                reuse_port=reuse_port,
            )
        except OSError as error:
            sock.close()
            if port or error.errno != errno.EADDRINUSE or attempt == FREE_PORT_ATTEMPTS - 1:
                raise
            continue
        break
    udp = UdpReceiver(service, sock, udp_threads, udp_batch, counts)
    udp.start()
    return ListeningServer(udp, tcp_server, connections)
