"""The TCP side of the shell: each peer's connections, to it and from it.

A `PeerLink` holds a peer's `Peer` core (minibgp.peer: its connections, collisions, Adj-RIB-In)
and maps each of the core's channels to the TCP connection that carries it. After every input —
bytes read, a connection up or lost, a timer due — it writes what the core has to send, acts on
its events (open a TCP connection, close one, log them: minibgp.session_log) and re-arms one timer
from the core's `get_timer()` (minibgp.timer), on the event loop's clock. Each non-passive peer
connects out when its core asks; the speaker hands each connection it accepts from a peer to the
peer's link. `Transports` keeps every TCP connection, to close what is left at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import cast

from minibgp.adj_rib_out import Route
from minibgp.config import PeerConfig
from minibgp.events import CloseRequested, ConnectRequested, SessionEnded, SessionEstablished
from minibgp.peer import Channel, Peer
from minibgp.session_log import log_event
from minibgp.sockets import connecting_socket, plain_address, set_ttl_security
from minibgp.timer import CoreTimer
from minibgp.wire.errors import CeaseSubcode
from minibgp.wire.nlri import IPAddress

log = logging.getLogger("minibgp")


class Transports:
    """Every TCP connection of the speaker."""

    def __init__(self) -> None:
        self.open: set[BgpProtocol] = set()

    async def close(self, grace: float) -> None:
        """Give the connections `grace` seconds to write their last bytes, then abort them."""
        closing = [p.closed for p in self.open]
        if closing:
            await asyncio.wait(closing, timeout=grace)
        for protocol in list(self.open):
            if protocol.transport is not None:
                protocol.transport.abort()


class BgpProtocol(asyncio.Protocol):
    """Moves bytes between one TCP connection to a peer and the channel that carries it (for a
    connection from the peer, the core names the channel once the connection is made)."""

    def __init__(self, link: PeerLink, channel: Channel | None) -> None:
        self.link, self.channel = link, channel
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self.link.transports.open.add(self)
        self.link.connection_made(self)

    def data_received(self, data: bytes) -> None:
        self.link.data_received(self, data)

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.link.transports.open.discard(self)
        if not self.closed.done():
            self.closed.set_result(None)
        self.link.connection_lost(self, exc)

    def local_address(self) -> IPAddress | None:
        sockname = self.transport.get_extra_info("sockname") if self.transport else None
        return plain_address(sockname[0]) if sockname else None


class PeerLink:
    """One configured peer: its `Peer` core, the TCP connection of each of the core's channels,
    and the core's timer. `on_session(True)` is called when the session reaches Established,
    `on_session(False)` when it leaves it."""

    def __init__(
        self,
        transports: Transports,
        config: PeerConfig,
        peer: Peer,
        on_session: Callable[[bool], None] | None = None,
    ) -> None:
        self.transports, self.config, self.peer = transports, config, peer
        self.on_session = on_session
        self.name = f"peer {config.address}"
        self._loop = asyncio.get_running_loop()
        self._transports: dict[Channel, BgpProtocol] = {}
        self._connecting: dict[Channel, asyncio.Task[None]] = {}
        self._timer = CoreTimer(self._loop, self._on_timer)

    def start(self) -> None:
        config = self.config
        log.info("%s: AS %d, %s%s", self.name, config.asn,
                 "passive (waiting for the peer to connect)" if config.passive else "connecting",
                 f", port {config.port}" if config.port != 179 else "")  # fmt: skip
        self.peer.start(now=self._loop.time())
        self.pump()

    def stop(self, subcode: int = CeaseSubcode.ADMINISTRATIVE_SHUTDOWN) -> None:
        """Withdraw our routes and send Cease with `subcode` (RFC 4486), then close."""
        self.peer.stop(subcode, now=self._loop.time())
        self.pump()
        self._timer.cancel()

    def reset(self, subcode: int) -> None:
        """Drop the session with Cease `subcode` (RFC 4486) and start it again."""
        self.peer.reset(subcode, now=self._loop.time())
        self.pump()

    def set_routes(self, routes: list[Route]) -> None:
        """Advertise exactly `routes` from now on; only the difference is sent."""
        gone, changed = self.peer.set_routes(routes, now=self._loop.time())
        if gone:
            log.info("%s: withdrawing %s", self.name, ", ".join(map(str, gone)))
        if changed:
            log.info("%s: announcing %s", self.name, ", ".join(map(str, changed)))
        self.pump()

    def pump(self) -> None:
        """Write what the core has to send, act on its events, re-arm its timer."""
        for channel, data in self.peer.data_to_send():
            protocol = self._transports.get(channel)
            if protocol is not None and protocol.transport is not None:
                protocol.transport.write(data)
        while (output := self.peer.next_event()) is not None:
            channel, event = output
            if isinstance(event, ConnectRequested):
                self._cancel_connect(channel)
                self._connecting[channel] = self._loop.create_task(self._connect(channel))
            elif isinstance(event, CloseRequested):
                self._close(channel)
            log_event(self.peer, channel, event)
            if isinstance(event, SessionEstablished | SessionEnded) and self.on_session:
                self.on_session(isinstance(event, SessionEstablished))
        if not self.peer.stopped:
            self._timer.rearm(self.peer.get_timer())

    def _on_timer(self) -> None:
        self.peer.handle_timer(now=self._loop.time())
        self.pump()

    # -- TCP -------------------------------------------------------------------------------------

    async def _connect(self, channel: Channel) -> None:
        """Open our TCP connection to the peer (MD5 key and GTSM set before the SYN)."""
        peer = self.config
        try:
            sock = connecting_socket(peer.address, peer.local_address, peer.password,
                                     peer.ttl_security)  # fmt: skip
        except OSError as exc:
            self._connect_failed(channel, exc)
            return
        try:
            await self._loop.sock_connect(sock, (str(peer.address), peer.port))
        except OSError as exc:
            sock.close()
            self._connect_failed(channel, exc)
            return
        except asyncio.CancelledError:
            sock.close()
            raise
        self._connecting.pop(channel, None)
        # connection_made (outbound, below) reports it to the core before any byte is read
        await self._loop.create_connection(lambda: BgpProtocol(self, channel), sock=sock)

    def _connect_failed(self, channel: Channel, exc: OSError) -> None:
        self._connecting.pop(channel, None)
        log.info("%s: cannot connect: %s", self.name, exc.strerror or exc)
        self.peer.tcp_failed(channel, f"cannot connect: {exc}", now=self._loop.time())
        self.pump()

    def _cancel_connect(self, channel: Channel) -> None:
        task = self._connecting.pop(channel, None)
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()

    async def accept(self, sock: socket.socket) -> None:
        """Take a connection the peer opened to us (GTSM set before any byte is read)."""
        sock.setblocking(False)
        if self.config.ttl_security:
            set_ttl_security(sock, self.config.ttl_security)
        await self._loop.connect_accepted_socket(lambda: BgpProtocol(self, None), sock)

    def connection_made(self, protocol: BgpProtocol) -> None:
        """A TCP connection is up, ours or the peer's (from connection_made: before any byte).
        The core says whether to keep it, and for the peer's, on which channel."""
        assert protocol.transport is not None
        local, now = protocol.local_address(), self._loop.time()
        if protocol.channel is not None:  # ours
            protocol.channel = self.peer.tcp_connected(protocol.channel, local, now=now)
            if protocol.channel is None:
                protocol.transport.close()
                self.pump()
                return
            how = "established"
        else:
            protocol.channel = self.peer.connection_accepted(local, now=now)
            if protocol.channel is None:
                protocol.transport.close()
                self.pump()
                return
            self._cancel_connect(protocol.channel)  # ours, if still on its way, is not needed
            how = "accepted"
        self._transports[protocol.channel] = protocol
        log.info("%s: TCP connection %s (local address %s)", self.name, how, local)
        self.pump()

    def data_received(self, protocol: BgpProtocol, data: bytes) -> None:
        channel = protocol.channel
        if channel is None or self._transports.get(channel) is not protocol:
            return  # late bytes of a connection we gave up
        self.peer.receive_data(channel, data, now=self._loop.time())
        self.pump()

    def connection_lost(self, protocol: BgpProtocol, exc: Exception | None) -> None:
        channel = protocol.channel
        if channel is None or self._transports.get(channel) is not protocol:
            return  # we closed it ourselves
        del self._transports[channel]
        reason = f"TCP connection lost: {exc}" if exc else "the peer closed the TCP connection"
        log.info("%s: %s", self.name, reason)
        self.peer.tcp_failed(channel, reason, now=self._loop.time())
        self.pump()

    def _close(self, channel: Channel) -> None:
        """Close the channel's TCP connection once its last bytes are written."""
        self._cancel_connect(channel)
        protocol = self._transports.pop(channel, None)
        if protocol is not None and protocol.transport is not None:
            protocol.transport.write(channel.connection.data_to_send())
            protocol.transport.close()  # after the buffered bytes are written
