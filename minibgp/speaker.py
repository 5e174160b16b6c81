"""The asyncio shell around the sans-I/O BGP core: sockets, clock, signals, logs.

`Speaker(config)` runs one `PeerSession` per configured peer. A session owns a `Connection`
(minibgp.connection) and feeds it what happens on its TCP connection and on the clock
(`time.monotonic()`): bytes read, connection up or lost, timers due. After every input it writes
what the connection wants sent and acts on its events: open a TCP connection, close it, apply an
UPDATE to the peer's Adj-RIB-In, log a state change.

Connections come both ways: each non-passive session connects out (the core's ConnectRetry timer
and back-off decide when), and a listening socket accepts the peer's connections and hands each
to the session of its source address. A connection from the peer while ours is already opening
is a possible collision (RFC 4271 §6.8): it gets a `Connection` of its own, and once an OPEN has
arrived on either, `minibgp.collision.collision_loser` says which one goes.

Signals: SIGTERM (and Ctrl-C) withdraw every route, send Cease / Administrative Shutdown
(RFC 4486 §4) on every session and exit; with `drain_on_sigterm` the routes are first drained
(RFC 8326, minibgp.drain) for `drain_time`, and a second SIGTERM cuts that wait short. SIGHUP
re-reads the config and sends only the difference, or keeps the running config when the new one
is bad.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import ipaddress
import logging
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from minibgp import systemd
from minibgp.announce import Route
from minibgp.bfd.endpoint import BFD_CONTROL_PORT, BfdSessions
from minibgp.bfd.session import SessionDown as BfdSessionDown
from minibgp.bfd.session import SessionUp as BfdSessionUp
from minibgp.collision import Initiator, collision_loser
from minibgp.config import (
    AnnounceConfig,
    Config,
    ConfigError,
    Listen,
    PeerConfig,
    SpeakerConfig,
    control_socket_path,
    load_config,
)
from minibgp.connection import Connection
from minibgp.control import advertised_route_json, route_json, route_summary, start_control_server
from minibgp.describe import describe_message
from minibgp.drain import Drain, DrainPhase, Drains, DrainScope
from minibgp.events import (
    CloseRequested,
    ConnectionEvent,
    ConnectRequested,
    EndOfRibReceived,
    MessageReceived,
    MessageSent,
    NotificationReceived,
    NotificationSent,
    RouteRefreshReceived,
    SessionEnded,
    SessionEstablished,
    StateChanged,
    UpdateReceived,
)
from minibgp.fsm import State
from minibgp.health.runner import HealthMonitor
from minibgp.rib import AdjRibIn
from minibgp.router_id import default_router_id, is_on_local_interface, local_addresses
from minibgp.settings import SessionSettings
from minibgp.sockopts import set_md5_key, set_ttl_security
from minibgp.wire.context import CodecContext
from minibgp.wire.errors import CeaseSubcode
from minibgp.wire.messages import Update, encode_message
from minibgp.wire.nlri import IPAddress, family_name

log = logging.getLogger("minibgp")

SHUTDOWN_GRACE = 0.5  # seconds to let the last UPDATEs and the Cease reach the peers
DETAILED_UPDATE_LIMIT = 8  # UPDATEs with more prefixes than this are logged as counts


def plain_address(address: str) -> IPAddress:
    """An address as a socket reports it, IPv4-mapped IPv6 (::ffff:a.b.c.d) made IPv4 again."""
    parsed = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


def routes_for(peer: PeerConfig, announcements: Iterable[AnnounceConfig]) -> list[Route]:
    """The routes to advertise to `peer`: its announcements, with the next hop each gets.

    The announcement's own next hop wins; else the peer's `next_hop` if it fits the prefix's
    family (an IPv4 next hop also serves IPv6 prefixes, as ::ffff:a.b.c.d); else next-hop self.
    """
    routes = []
    for announcement in announcements:
        if not announcement.applies_to(peer.address):
            continue
        next_hop = announcement.next_hop
        peer_hop = peer.next_hop
        if (
            next_hop is None
            and peer_hop is not None
            and peer_hop.version <= announcement.prefix.version
        ):
            next_hop = peer_hop
        routes.append(
            Route(
                prefix=announcement.prefix,
                next_hop=next_hop,
                communities=announcement.communities,
                large_communities=announcement.large_communities,
                med=announcement.med,
                as_path_prepend=announcement.as_path_prepend,
            )
        )
    return routes


def session_settings(
    config: Config, peer: PeerConfig, router_id: ipaddress.IPv4Address, trace: bool
) -> SessionSettings:
    return SessionSettings(
        local_as=config.speaker.asn,
        router_id=router_id,
        peer_address=peer.address,
        peer_as=peer.asn,
        hold_time=peer.hold_time,
        connect_retry_time=peer.connect_retry,
        max_connect_retry_time=max(120.0, peer.connect_retry),
        passive=peer.passive,
        local_address=peer.local_address,
        trace=trace,
    )


class _BgpProtocol(asyncio.Protocol):
    """Moves bytes between one TCP connection and the `_Channel` that carries it."""

    def __init__(self, session: PeerSession | None, channel: _Channel | None, speaker: Speaker):
        self.session = session
        self.channel = channel
        self.speaker = speaker
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self.speaker.open_transports.add(self)
        if self.channel is None:
            self.speaker.accept(self)  # the peer connected to us
        else:
            assert self.session is not None
            self.session.connected(self.channel, self, inbound=False)

    def data_received(self, data: bytes) -> None:
        if self.session is not None and self.channel is not None:
            self.session.data_received(self.channel, self, data)

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.speaker.open_transports.discard(self)
        if not self.closed.done():
            self.closed.set_result(None)
        if self.session is not None and self.channel is not None:
            self.session.connection_lost(self.channel, self, exc)


@dataclass(eq=False)
class _Channel:
    """One `Connection` and the TCP connection it currently runs on."""

    connection: Connection
    initiator: Initiator | None = None  # who opened the current TCP connection
    protocol: _BgpProtocol | None = None
    connecting: asyncio.Task[None] | None = None
    replaces_main: bool = False  # took over after winning a collision as the peer's connection


@dataclass(eq=False)
class PeerSession:
    """Everything about one configured peer: its connection(s), routes in and out, timers."""

    speaker: Speaker
    config: PeerConfig
    settings: SessionSettings
    routes: list[Route]
    rib_in: AdjRibIn = field(default_factory=AdjRibIn)
    main: _Channel = field(init=False)
    candidate: _Channel | None = None  # the other connection of a possible collision
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _timer_task: asyncio.Task[None] | None = None
    stopped: bool = False

    def __post_init__(self) -> None:
        self.main = self._new_channel()

    @property
    def name(self) -> str:
        return f"peer {self.config.address}"

    @property
    def connection(self) -> Connection:
        return self.main.connection

    def _new_channel(self) -> _Channel:
        connection = Connection(self.settings)
        connection.replace_routes(self.routes, time.monotonic())
        return _Channel(connection)

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        log.info(
            "%s: AS %d, %s%s",
            self.name,
            self.config.asn,
            "passive (waiting for the peer to connect)" if self.config.passive else "connecting",
            f", port {self.config.port}" if self.config.port != 179 else "",
        )
        self._timer_task = asyncio.create_task(self._run_timers(), name=self.name)
        self.main.connection.start(time.monotonic())
        self.pump(self.main)

    def stop(self, subcode: int = CeaseSubcode.ADMINISTRATIVE_SHUTDOWN) -> None:
        """Withdraw our routes and send Cease with `subcode` (RFC 4486), then close."""
        self.stopped = True
        now = time.monotonic()
        for channel in self._channels():
            channel.connection.stop(now, subcode)
            self.pump(channel)
        if self._timer_task is not None:
            self._timer_task.cancel()

    def reset(self, subcode: int) -> None:
        """Drop the session with Cease `subcode` (RFC 4486) and start it again."""
        now = time.monotonic()
        if self.candidate is not None:
            self.candidate.connection.stop(now, subcode)
            self.pump(self.candidate)
        self.main.connection.stop(now, subcode)
        self.pump(self.main)
        self.main.connection.start(now)
        self.pump(self.main)

    def set_routes(self, routes: list[Route]) -> None:
        """Advertise exactly `routes` from now on; only the difference is sent."""
        old = {route.prefix: route for route in self.routes}
        new = {route.prefix: route for route in routes}
        gone = [str(p) for p in old if p not in new]
        changed = [str(p) for p, r in new.items() if old.get(p) != r]
        self.routes = routes
        if gone:
            log.info("%s: withdrawing %s", self.name, ", ".join(gone))
        if changed:
            log.info("%s: announcing %s", self.name, ", ".join(changed))
        now = time.monotonic()
        for channel in self._channels():
            channel.connection.replace_routes(routes, now)
            self.pump(channel)

    def _channels(self) -> list[_Channel]:
        return [self.main] + ([self.candidate] if self.candidate else [])

    async def _run_timers(self) -> None:
        """Sleep until the earliest timer of our connections, fire it, repeat."""
        while True:
            deadlines = [c.connection.get_timer() for c in self._channels()]
            deadline = min((d for d in deadlines if d is not None), default=None)
            self._wake.clear()
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            now = time.monotonic()
            for channel in self._channels():
                due = channel.connection.get_timer()
                if due is not None and now >= due:
                    channel.connection.handle_timer(now)
                    self.pump(channel)

    # -- the core's outputs ----------------------------------------------------------------------

    def pump(self, channel: _Channel) -> None:
        """Write what the connection has to send, then act on its events."""
        self._write(channel)
        connection = channel.connection
        while (event := connection.next_event()) is not None:
            self._on_event(channel, event)
        self._wake.set()  # its timers may have changed

    def _write(self, channel: _Channel) -> None:
        data = channel.connection.data_to_send()
        if data and channel.protocol is not None and channel.protocol.transport is not None:
            channel.protocol.transport.write(data)

    def _on_event(self, channel: _Channel, event: ConnectionEvent) -> None:
        if isinstance(event, ConnectRequested):
            self._cancel_connect(channel)
            channel.connecting = asyncio.create_task(self._connect(channel))
        elif isinstance(event, CloseRequested):
            self._cancel_connect(channel)
            self._close(channel)
        elif isinstance(event, StateChanged):
            self._state_changed(channel, event)
        elif isinstance(event, SessionEstablished):
            negotiated = event.negotiated
            families = ", ".join(family_name(*f) for f in sorted(negotiated.families))
            log.info(
                "%s: session Established (AS %d, BGP identifier %s, hold time %d s, %s)",
                self.name,
                negotiated.peer_as,
                negotiated.peer_identifier,
                negotiated.hold_time,
                families,
            )
            advertised = channel.connection.advertised_prefixes
            if advertised:
                log.info("%s: announced %s", self.name, ", ".join(map(str, advertised)))
            else:
                log.info("%s: nothing to announce", self.name)
        elif isinstance(event, SessionEnded):
            count = len(self.rib_in)
            self.rib_in.clear()
            log.warning(
                "%s: session down (%s); forgot the %d prefixes it sent",
                self.name,
                event.reason,
                count,
            )
        elif isinstance(event, UpdateReceived):
            self._update_received(event.update)
        elif isinstance(event, EndOfRibReceived):
            log.info(
                "%s: End-of-RIB for %s: %d prefixes held from this peer",
                self.name,
                family_name(event.afi, event.safi),
                self.rib_in.count((event.afi, event.safi)),
            )
        elif isinstance(event, RouteRefreshReceived):
            log.info("%s: route refresh for %s", self.name, family_name(event.afi, event.safi))
        elif isinstance(event, NotificationReceived):
            log.warning("%s: received NOTIFICATION %s", self.name, event.notification)
        elif isinstance(event, NotificationSent):
            log.warning("%s: sent NOTIFICATION %s: %s", self.name, event.notification, event.reason)
        elif isinstance(event, MessageSent | MessageReceived):
            self._trace(channel, event)

    def _state_changed(self, channel: _Channel, event: StateChanged) -> None:
        which = "" if channel is self.main else " (the peer's second connection)"
        log.info("%s: %s -> %s%s", self.name, event.old.value, event.new.value, which)
        if event.new is State.OpenConfirm:
            self._resolve_collision(channel)
        elif event.new is State.Idle:
            self._retire(channel)

    def _resolve_collision(self, channel: _Channel) -> None:
        """An OPEN arrived on `channel`: if the other connection collides, one goes (§6.8)."""
        other = self.candidate if channel is self.main else self.main
        if other is None or other.connection.state in (State.Idle, State.Connect, State.Active):
            return
        assert channel.initiator is not None
        loser = collision_loser(channel.connection, channel.initiator, other.connection)
        if loser is None:
            return
        log.info("%s: connection collision (RFC 4271 §6.8), closing one of the two", self.name)
        loser_channel = channel if loser is channel.connection else other
        loser.collision_lost(time.monotonic())
        self.pump(loser_channel)

    def _retire(self, channel: _Channel) -> None:
        """A connection went Idle: drop a spare one; let the peer's connection take over."""
        if self.stopped:
            return
        if channel is self.candidate:
            self.candidate = None
            return
        candidate = self.candidate
        if candidate is not None:
            # The main connection lost the collision (or failed): the other one carries on.
            candidate.replaces_main = True
            self.main, self.candidate = candidate, None
        elif channel.replaces_main:
            # It was started passive for the peer's connection; resume our own behaviour.
            self.main = self._new_channel()
            self.main.connection.start(time.monotonic())
            asyncio.get_running_loop().call_soon(self.pump, self.main)

    def _update_received(self, update: Update) -> None:
        announced, withdrawn = self.rib_in.apply(update)
        if update.treat_as_withdraw:
            log.warning(
                "%s: malformed UPDATE treated as withdraw (RFC 7606): %s",
                self.name,
                "; ".join(update.errors),
            )
        if not log.isEnabledFor(logging.INFO):
            return
        if announced + withdrawn > DETAILED_UPDATE_LIMIT:
            log.debug("%s: received %d prefixes, %d withdrawn", self.name, announced, withdrawn)
            return
        for _afi, _safi, prefix in update.announced():
            attributes = self.rib_in.get(prefix)
            summary = route_summary(route_json(prefix, attributes)) if attributes else ""
            log.info("%s: received %s (%s)", self.name, prefix, summary)
        for _afi, _safi, prefix in update.withdrawn_prefixes():
            log.info("%s: withdrew %s", self.name, prefix)  # the peer did; ours: "withdrawing"

    def _trace(self, channel: _Channel, event: MessageSent | MessageReceived) -> None:
        negotiated = channel.connection.negotiated
        codec = CodecContext(four_octet_as=negotiated.four_octet_as if negotiated else False)
        raw = encode_message(event.message, codec)
        direction = "sent" if isinstance(event, MessageSent) else "received"
        log.info("%s: %s\n%s", self.name, direction, describe_message(raw, codec))

    # -- TCP -------------------------------------------------------------------------------------

    async def _connect(self, channel: _Channel) -> None:
        """Open our TCP connection to the peer (MD5 key and GTSM set before the SYN)."""
        peer = self.config
        family = socket.AF_INET if peer.address.version == 4 else socket.AF_INET6
        sock = socket.socket(family, socket.SOCK_STREAM)
        loop = asyncio.get_running_loop()
        try:
            sock.setblocking(False)
            if peer.password:
                set_md5_key(sock, peer.address, peer.password)
            if peer.ttl_security:
                set_ttl_security(sock, peer.ttl_security)
            if peer.local_address is not None:
                sock.bind((str(peer.local_address), 0))
            await loop.sock_connect(sock, (str(peer.address), peer.port))
        except OSError as exc:
            sock.close()
            channel.connecting = None
            log.info("%s: cannot connect: %s", self.name, exc.strerror or exc)
            channel.connection.tcp_failed(time.monotonic(), f"cannot connect: {exc}")
            self.pump(channel)
            return
        except asyncio.CancelledError:
            sock.close()
            raise
        channel.initiator = Initiator.LOCAL
        # connection_made (below) reports the connection to the core before any byte is read
        await loop.create_connection(lambda: _BgpProtocol(self, channel, self.speaker), sock=sock)

    def _cancel_connect(self, channel: _Channel) -> None:
        task, channel.connecting = channel.connecting, None
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()

    def connected(self, channel: _Channel, protocol: _BgpProtocol, inbound: bool) -> None:
        """A TCP connection is up on `channel` (called from connection_made: before any byte)."""
        assert protocol.transport is not None
        if not inbound:
            channel.connecting = None
            if channel.protocol is not None:  # the peer's connection got there first
                protocol.session = None
                protocol.transport.close()
                return
        channel.protocol = protocol
        sockname = protocol.transport.get_extra_info("sockname")
        local = plain_address(sockname[0]) if sockname else None
        log.info(
            "%s: TCP connection %s (local address %s)",
            self.name,
            "accepted" if inbound else "established",
            local,
        )
        channel.connection.tcp_connected(time.monotonic(), local, inbound=inbound)
        self.pump(channel)

    def accept(self, protocol: _BgpProtocol) -> None:
        """The peer connected to us: carry it on the main connection, or on a second one."""
        assert protocol.transport is not None
        if self.config.ttl_security:
            sock = protocol.transport.get_extra_info("socket")
            set_ttl_security(sock, self.config.ttl_security)
        protocol.session = self
        if self.main.connection.state is State.Established:
            # RFC 4271 §6.8: a connection colliding with an Established one is closed.
            log.info("%s: already Established, refusing another connection", self.name)
            protocol.session = None
            protocol.transport.close()
            return
        if self.main.protocol is None:
            self._cancel_connect(self.main)
            protocol.channel = self.main
        elif self.candidate is None:
            self.candidate = self._new_channel()
            self.candidate.connection.start(time.monotonic(), passive=True)
            self.pump(self.candidate)
            protocol.channel = self.candidate
        else:
            log.info("%s: refusing a third connection", self.name)
            protocol.session = None
            protocol.transport.close()
            return
        protocol.channel.initiator = Initiator.REMOTE
        self.connected(protocol.channel, protocol, inbound=True)

    def data_received(self, channel: _Channel, protocol: _BgpProtocol, data: bytes) -> None:
        if channel.protocol is not protocol:
            return  # late bytes of a connection we gave up
        channel.connection.receive_data(data, time.monotonic())
        self.pump(channel)

    def connection_lost(
        self, channel: _Channel, protocol: _BgpProtocol, exc: Exception | None
    ) -> None:
        if channel.protocol is not protocol:
            return  # we closed it ourselves
        channel.protocol = None
        reason = f"TCP connection lost: {exc}" if exc else "the peer closed the TCP connection"
        log.info("%s: %s", self.name, reason)
        channel.connection.tcp_failed(time.monotonic(), reason)
        self.pump(channel)

    def _close(self, channel: _Channel) -> None:
        protocol, channel.protocol = channel.protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.transport.write(channel.connection.data_to_send())
            protocol.transport.close()  # after the buffered bytes are written

    # -- what `show` reports -------------------------------------------------------------------

    def neighbor_json(self, now: float) -> dict[str, Any]:
        connection = self.connection
        negotiated = connection.negotiated
        local = None
        if self.main.protocol is not None and self.main.protocol.transport is not None:
            sockname = self.main.protocol.transport.get_extra_info("sockname")
            local = str(plain_address(sockname[0])) if sockname else None
        return {
            "address": str(self.config.address),
            "asn": self.config.asn,
            "description": self.config.description,
            "state": connection.state.value,
            "uptime": connection.uptime(now),
            "local_address": local,
            "peer_router_id": str(negotiated.peer_identifier) if negotiated else None,
            "hold_time": negotiated.hold_time if negotiated else None,
            "families": sorted(family_name(*f) for f in negotiated.families) if negotiated else [],
            "prefixes_received": len(self.rib_in),
            "prefixes_advertised": len(connection.advertised_prefixes),
            "messages_received": dict(connection.messages_received),
            "messages_sent": dict(connection.messages_sent),
            "last_error": connection.last_error,
            "password": bool(self.config.password),
            "ttl_security": self.config.ttl_security,
            "bfd": self.speaker.bfd_json(self.config.address),
        }

    def routes_json(self) -> dict[str, Any]:
        connection = self.connection
        advertised = set(connection.advertised_prefixes)
        local = self.neighbor_json(time.monotonic())["local_address"]
        return {
            "address": str(self.config.address),
            "asn": self.config.asn,
            "received": [route_json(p, a) for p, a in self.rib_in.routes()],
            "advertised": [
                advertised_route_json(route, self.speaker.config.speaker.asn, local)
                for prefix, route in connection.routes.items()
                if prefix in advertised
            ],
        }


def _needs_restart(speaker: SpeakerConfig) -> SpeakerConfig:
    """The [speaker] settings a reload cannot change (the drain settings it can)."""
    return dataclasses.replace(speaker, drain_time=0.0, drain_on_sigterm=False)


def _checks_of(config: Config) -> dict[str, tuple[str, ...]]:
    return {str(a.prefix): a.checks for a in config.announcements}


class Speaker:
    """The whole program: sessions, listening sockets, control socket, signals."""

    bfd_port = BFD_CONTROL_PORT  # RFC 5881 §4 (tests run BFD on another port)

    def __init__(self, config: Config, trace: bool = False) -> None:
        self.config = config
        self.trace = trace
        self.router_id = config.speaker.router_id or default_router_id()
        self.sessions: dict[IPAddress, PeerSession] = {}
        self.open_transports: set[_BgpProtocol] = set()
        self._servers: list[asyncio.AbstractServer] = []
        self._listen_sockets: list[socket.socket] = []
        self._stopping: asyncio.Event | None = None
        self.control_path = control_socket_path(config, self.router_id)
        self.bfd: BfdSessions | None = None  # BFD to the peers that have `bfd` set
        self.health: HealthMonitor | None = None  # the [[check]]s of the announcements
        self.healthy: set[str] = set()  # prefixes whose checks all pass
        self.drains = Drains()  # RFC 8326 graceful drains in force (python -m minibgp drain)
        self._drain_timer: asyncio.TimerHandle | None = None
        self._drain_progress = asyncio.Event()  # set (and replaced) when a drain moves on

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT (SIGHUP reloads); return the exit status."""
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        await self.start()
        systemd.notify(
            "READY=1", f"STATUS=AS {self.config.speaker.asn}, router id {self.router_id}"
        )
        await self._stopping.wait()
        systemd.notify("STOPPING=1")
        if self.config.speaker.drain_on_sigterm:
            await self.drain_before_stop()
        await self.shutdown()
        return 0

    async def start(self) -> None:
        """Listen, open the control socket and start every session."""
        log.info(
            "minibgp: AS %d, router id %s%s",
            self.config.speaker.asn,
            self.router_id,
            "" if self.config.speaker.router_id else " (highest local IPv4 address)",
        )
        self._check_announcements(self.config)
        await self._listen(self.config.speaker.listen)
        self._servers.append(await start_control_server(self.control_path, self.control_request))
        log.info("control socket %s", self.control_path)
        for peer in self.config.peers:
            self._add_session(peer)
        self._start_health(self.config)

    def request_stop(self) -> None:
        """SIGTERM: stop; a second one while draining withdraws without waiting any longer."""
        if self._stopping is None:
            return
        if self._stopping.is_set():
            log.info("stop requested again: withdrawing now")
            self._drain_skip_wait()
        self._stopping.set()

    async def drain_before_stop(self) -> None:
        """`drain_on_sigterm`: drain every route (RFC 8326) before the shutdown withdraws them.

        There is no wait when no peer has a route of ours (nothing to move)."""
        if not any(s.connection.advertised_prefixes for s in self.sessions.values()):
            return
        drain_time = self.config.speaker.drain_time
        log.info("stopping: graceful shutdown of every route for %.3g s first (RFC 8326)",
                 drain_time)  # fmt: skip
        drain = self.start_drain(DrainScope(), drain_time)
        await self._drain_done(drain)

    async def shutdown(self) -> None:
        """Withdraw everything, Cease every session, give the bytes a moment, close."""
        log.info("shutting down: withdrawing routes, Cease / Administrative Shutdown to every peer")
        for server in self._servers:
            server.close()
        if self._drain_timer is not None:
            self._drain_timer.cancel()
        for session in self.sessions.values():
            session.stop()
        if self.bfd is not None:
            self.bfd.close()  # AdminDown to the routers (RFC 5880 §6.8.16)
        if self.health is not None:
            await self.health.close()
        closing = [p.closed for p in self.open_transports]
        if closing:
            await asyncio.wait(closing, timeout=SHUTDOWN_GRACE)
        for protocol in list(self.open_transports):
            if protocol.transport is not None:
                protocol.transport.abort()
        with contextlib.suppress(OSError):
            self.control_path.unlink()
        log.info("stopped")

    def bfd_json(self, address: IPAddress) -> dict[str, Any] | None:
        """The BFD session to `address` as `show neighbors --json` gives it; None without BFD."""
        if self.bfd is None:
            return None
        peer = next((p for p in self.bfd.peers if p.address == str(address)), None)
        if peer is None:
            return None
        session = peer.session
        detection = session.detection_time
        return {
            "state": session.state.name,
            "diagnostic": session.local_diag.name,
            "transmit_interval_ms": round(session.transmit_interval * 1000),
            "detection_time_ms": None if detection is None else round(detection * 1000),
        }

    # -- sessions --------------------------------------------------------------------------------

    def _add_session(self, peer: PeerConfig) -> None:
        settings = session_settings(self.config, peer, self.router_id, self.trace)
        session = PeerSession(self, peer, settings, self._routes_for(peer))
        self.sessions[peer.address] = session
        session.start()
        if peer.bfd is not None:
            if self.bfd is None:
                self.bfd = BfdSessions(port=self.bfd_port)
            local = str(peer.local_address) if peer.local_address else None
            self.bfd.add_peer(
                str(peer.address),
                peer.bfd,
                functools.partial(self._on_bfd, peer.address),
                local_address=local,
            )

    def _remove_session(self, address: IPAddress, subcode: int) -> None:
        self.sessions.pop(address).stop(subcode)
        if self.bfd is not None and self.config.peer(address) is not None:
            with contextlib.suppress(KeyError):
                self.bfd.remove_peer(str(address))

    def _on_bfd(self, address: IPAddress, event: object) -> None:
        """BFD saw the path to a peer fail: drop its BGP session now, not at the hold timer."""
        session = self.sessions.get(address)
        if session is None:
            return
        if isinstance(event, BfdSessionUp):
            log.info("%s: BFD session Up", session.name)
        elif isinstance(event, BfdSessionDown):
            if event.remote_admin_down:  # RFC 5882 §3.2: not a path failure
                log.info("%s: BFD AdminDown from the peer; BGP session left alone", session.name)
                return
            log.warning("%s: BFD session Down (%s): dropping the BGP session", session.name,
                        event.diag.name)  # fmt: skip
            session.reset(CeaseSubcode.BFD_DOWN)  # RFC 9384 §2

    # -- health checks ---------------------------------------------------------------------------

    def _live_announcements(self) -> list[AnnounceConfig]:
        """The announcements to advertise now: those without checks, or whose checks pass."""
        return [
            a for a in self.config.announcements if not a.checks or str(a.prefix) in self.healthy
        ]

    def _routes_for(self, peer: PeerConfig) -> list[Route]:
        """What `peer` is to be sent now: the live announcements, as the drains leave them."""
        return self.drains.apply(peer.address, routes_for(peer, self._live_announcements()))

    def _refresh_routes(self) -> None:
        """Send every peer the difference between what it has and what it is to have."""
        for session in self.sessions.values():
            session.set_routes(self._routes_for(session.config))

    # -- graceful drain (RFC 8326) ---------------------------------------------------------------

    def start_drain(self, scope: DrainScope, drain_time: float) -> Drain:
        """Announce the routes in `scope` with GRACEFUL_SHUTDOWN now; withdraw them after
        `drain_time` seconds (minibgp.drain)."""
        drain = self.drains.start(scope, time.monotonic(), drain_time)
        what = ", ".join(scope.to_json()["prefixes"] or ["every route"])
        peers = ", ".join(scope.to_json()["peers"] or ["every peer"])
        if drain.phase is DrainPhase.WITHDRAWN:
            log.info("drain: withdrawing %s (to %s) now", what, peers)
        else:
            log.info("drain: %s (to %s) announced with GRACEFUL_SHUTDOWN 65535:0 (RFC 8326); "
                     "withdrawn in %.3g s", what, peers, drain_time)  # fmt: skip
        self._drain_changed()
        return drain

    def undrain(self) -> None:
        """End every drain: announce the routes normally again."""
        if self.drains:
            log.info("undrain: announcing every route normally again")
            self.drains.clear()
            self._drain_changed()

    def _drain_skip_wait(self) -> None:
        if self.drains.skip_wait(time.monotonic()):
            log.info("drain: withdrawing without waiting any longer")
            self._drain_changed()

    def _drain_timer_fired(self) -> None:
        self._drain_timer = None
        if self.drains.handle_timer(time.monotonic()):
            log.info("drain: time is up, withdrawing")
        self._drain_changed()

    def _drain_changed(self) -> None:
        """Send the routes as the drains now want them, re-arm the timer, wake the waiters."""
        self._refresh_routes()
        if self._drain_timer is not None:
            self._drain_timer.cancel()
            self._drain_timer = None
        deadline = self.drains.get_timer()
        if deadline is not None:
            delay = max(0.0, deadline - time.monotonic())
            self._drain_timer = asyncio.get_running_loop().call_later(
                delay, self._drain_timer_fired
            )
        self._drain_progress.set()
        self._drain_progress = asyncio.Event()

    async def _drain_done(self, drain: Drain) -> bool:
        """Wait until `drain` has withdrawn its routes (True) or was undone by undrain (False)."""
        while drain in self.drains.drains and drain.phase is not DrainPhase.WITHDRAWN:
            await self._drain_progress.wait()
        return drain.phase is DrainPhase.WITHDRAWN

    async def _drain_steps(self, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """The control socket's `drain`: start it, report each step (unless `wait` is false)."""
        drain_time = request.get("drain_time", self.config.speaker.drain_time)
        drain = self.start_drain(_drain_scope(request), float(drain_time))
        wait = request.get("wait", True)
        now = time.monotonic()
        yield {"step": drain.phase.value, "drain": drain.to_json(now), "final": not wait}
        if not wait:
            return
        done = await self._drain_done(drain)
        yield {
            "step": "withdrawn" if done else "undrained",
            "drain": drain.to_json(time.monotonic()),
            "final": True,
            **self._neighbors_answer(list(self.sessions.values())),
        }

    def _start_health(self, config: Config) -> None:
        checked = {str(a.prefix): a.checks for a in config.announcements if a.checks}
        if not checked:
            return
        log.info("health checks: %s held back until their checks pass", ", ".join(checked))
        self.health = HealthMonitor(list(config.checks.values()), checked, self._on_health)
        self.health.start()

    def _on_health(self, prefix: str, up: bool) -> None:
        """A prefix's checks all pass (`up`) or one failed: announce or withdraw it."""
        if up:
            log.info("health: %s passes its checks: announcing", prefix)
            self.healthy.add(prefix)
        else:
            log.warning("health: %s fails a check: withdrawing", prefix)
            self.healthy.discard(prefix)
        self._refresh_routes()

    def _check_announcements(self, config: Config) -> None:
        """Warn about announced prefixes no local interface holds: traffic to them is dropped."""
        addresses = local_addresses()
        for announcement in config.announcements:
            if not is_on_local_interface(announcement.prefix, addresses):
                log.warning(
                    "%s: announced, but no local interface has an address in it; traffic "
                    "drawn to it will be dropped (add it to a loopback: ip addr add %s dev lo)",
                    announcement.prefix,
                    announcement.prefix,
                )

    def reload(self) -> None:
        """SIGHUP: apply a new config, sending only the differences; keep the old one if bad."""
        path = self.config.path
        log.info("SIGHUP: reloading %s", path)
        try:
            new = load_config(path)
            if _needs_restart(new.speaker) != _needs_restart(self.config.speaker):
                raise ConfigError(
                    f"{path.name}: speaker: changes to [speaker] need a restart "
                    "(except drain_time and drain_on_sigterm)"
                )
        except ConfigError as exc:
            log.error("config not reloaded, the running one stays: %s", exc)
            return
        self._check_announcements(new)
        old = self.config
        checks_changed = new.checks != old.checks or _checks_of(new) != _checks_of(old)
        if checks_changed and self.health is not None:
            asyncio.get_running_loop().create_task(self.health.close())
            self.health = None
        if checks_changed:
            self.healthy.clear()
        for peer in old.peers:
            if new.peer(peer.address) != peer:
                reason = "settings changed" if new.peer(peer.address) else "removed from config"
                log.info("peer %s: %s, stopping its session", peer.address, reason)
                subcode = (
                    CeaseSubcode.OTHER_CONFIGURATION_CHANGE
                    if new.peer(peer.address)
                    else CeaseSubcode.PEER_DE_CONFIGURED
                )
                self._remove_session(peer.address, subcode)
        self.config = new
        for peer in new.peers:
            session = self.sessions.get(peer.address)
            if session is None:
                self._add_session(peer)
            else:
                session.set_routes(self._routes_for(peer))
        if checks_changed:
            self._start_health(new)

    # -- listening -------------------------------------------------------------------------------

    async def _listen(self, listen: Listen | None) -> None:
        if listen is None:
            log.info("not listening (speaker.listen = false): active connections only")
            return
        loop = asyncio.get_running_loop()
        sock = self._listening_socket(listen)
        self._servers.append(
            await loop.create_server(lambda: _BgpProtocol(None, None, self), sock=sock)
        )
        address, port = sock.getsockname()[:2]
        log.info("listening on [%s]:%d", address, port)

    def _listening_socket(self, listen: Listen) -> socket.socket:
        """The listening socket, with every peer's MD5 key: the configured address, or by
        default one dual-stack socket on [::] (0.0.0.0 where IPv6 is off)."""
        if listen.address:
            return self._bind(listen.address, listen.port, dual_stack=False)
        try:
            return self._bind("::", listen.port, dual_stack=True)
        except OSError as exc:
            log.info("no IPv6 here (%s): listening on IPv4 only", exc.strerror or exc)
            return self._bind("0.0.0.0", listen.port, dual_stack=False)

    def _bind(self, address: str, port: int, dual_stack: bool) -> socket.socket:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if dual_stack:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            for peer in self.config.peers:
                if peer.password and (family == socket.AF_INET6 or peer.address.version == 4):
                    set_md5_key(sock, peer.address, peer.password)
            sock.bind((address, port))
            sock.listen(64)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._listen_sockets.append(sock)
        return sock

    def accept(self, protocol: _BgpProtocol) -> None:
        """A TCP connection arrived on the listening socket: find its peer."""
        assert protocol.transport is not None
        peername = protocol.transport.get_extra_info("peername")
        address = plain_address(peername[0]) if peername else None
        session = self.sessions.get(address) if address is not None else None
        if session is None:
            log.warning("connection from %s, which is not a configured peer: closed", address)
            protocol.transport.close()
            return
        session.accept(protocol)

    # -- control socket --------------------------------------------------------------------------

    def control_request(
        self, request: dict[str, Any]
    ) -> dict[str, Any] | AsyncIterator[dict[str, Any]]:
        """The control socket's handler (see minibgp.control): a drain answers step by step."""
        if request["command"] == "drain":
            error = _drain_request_error(request) or self._unknown_drain_target(request)
            if error:
                return {"error": error}
            return self._drain_steps(request)
        return self.answer(request)

    def _unknown_drain_target(self, request: dict[str, Any]) -> str | None:
        """Why a drain names a peer or prefix this speaker does not have, or None: a typo there
        must not look like a drain that worked."""
        for peer in request.get("peers") or ():
            if ipaddress.ip_address(peer) not in self.sessions:
                return f"drain: {peer} is not a configured peer"
        announced = {announcement.prefix for announcement in self.config.announcements}
        for prefix in request.get("prefixes") or ():
            if ipaddress.ip_network(prefix) not in announced:
                return f"drain: {prefix} is not announced"
        return None

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """The answer to one `show ...` or `undrain` request."""
        sessions = list(self.sessions.values())
        peer = request.get("peer")
        if peer:
            sessions = [s for s in sessions if str(s.config.address) == str(peer)]
            if not sessions:
                return {"error": f"{peer} is not a configured peer"}
        if request["command"] == "undrain":
            self.undrain()
            return self._neighbors_answer(sessions)
        if request["command"] == "show neighbors":
            return self._neighbors_answer(sessions)
        return {"peers": [s.routes_json() for s in sessions]}

    def _neighbors_answer(self, sessions: list[PeerSession]) -> dict[str, Any]:
        now = time.monotonic()
        return {
            "asn": self.config.speaker.asn,
            "router_id": str(self.router_id),
            "drained": bool(self.drains),
            "drains": self.drains.to_json(now),
            "neighbors": [s.neighbor_json(now) for s in sessions],
        }


def _drain_request_error(request: dict[str, Any]) -> str | None:
    """Why a `drain` request cannot be done, or None."""
    for key in ("prefixes", "peers"):
        value = request.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not value:
            return f"drain: {key} must be a non-empty list"
        try:
            for item in value:
                (ipaddress.ip_network if key == "prefixes" else ipaddress.ip_address)(item)
        except (TypeError, ValueError) as exc:
            return f"drain: {key}: {exc}"
    drain_time = request.get("drain_time", 0)
    if isinstance(drain_time, bool) or not isinstance(drain_time, int | float) or drain_time < 0:
        return "drain: drain_time must be a number of seconds (0 or more)"
    if not isinstance(request.get("wait", True), bool):
        return "drain: wait must be true or false"
    return None


def _drain_scope(request: dict[str, Any]) -> DrainScope:
    prefixes, peers = request.get("prefixes"), request.get("peers")
    return DrainScope(
        prefixes=None if prefixes is None else frozenset(map(ipaddress.ip_network, prefixes)),
        peers=None if peers is None else frozenset(map(ipaddress.ip_address, peers)),
    )


async def run_speaker(config_path: Path, trace: bool = False) -> int:
    """Load the config and run the speaker until it is told to stop."""
    config = load_config(config_path)
    return await Speaker(config, trace=trace).run()
