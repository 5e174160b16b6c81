"""One configured peer, without I/O: its connections, connection collisions (RFC 4271 §6.8), and
the routes it sent us (Adj-RIB-In).

A `Connection` carries one TCP connection. When both speakers connect to each other at once there
are two TCP connections for one session, and RFC 4271 §6.8 keeps one of them. So a `Peer` has a
*main* `Channel` (a Connection and who opened its TCP connection) and, while a collision may be
under way, a *candidate* channel for the second TCP connection. When an OPEN arrives on either, the
BGP Identifiers decide which one goes (`surviving_initiator`); a channel that goes Idle is retired,
and the candidate, if any, becomes the main channel.

The shell maps each TCP connection to a channel and drives the Peer the way it would drive a
Connection: every input takes `now=`, keyword-only and last, from the event loop's clock.

Inputs
    start(*, now) / stop(subcode, *, now) / reset(subcode, *, now)
    set_routes(routes, *, now)          advertise exactly these; only the difference is sent
    tcp_connected(channel, local_address, *, now) -> Channel | None
                                        our TCP connection asked for by `channel` is up: the
                                        channel that carries it (None: close it)
    connection_accepted(local_address, *, now) -> Channel | None
                                        the peer connected to us: the channel that carries it
                                        (None: refuse it, `ConnectionRefused` says why)
    receive_data(channel, data, *, now) / tcp_failed(channel, reason, *, now)
    handle_timer(*, now)                when `get_timer()` is reached

Outputs
    data_to_send() -> [(channel, bytes)]  write each to the channel's TCP connection
    next_event() -> (channel, event) | None
                                        the Connections' events (`minibgp.events`), after the
                                        Peer has acted on them, and the Peer's own
                                        (`CollisionResolved`, `ConnectionRefused`,
                                        `RoutesForgotten`); the shell opens a TCP connection on
                                        `ConnectRequested` and, on `CloseRequested`, writes the
                                        channel's last bytes (`channel.connection.data_to_send()`)
                                        and closes it
    get_timer() -> float | None         when to call `handle_timer` next

Read-only: `connection` (the session, as `show` reports it), `rib_in`, `channels`, `counts`
(NOTIFICATIONs and sessions since the Peer was made) and `message_counts()` (messages on every
connection so far, for metrics: counts that outlive any one Connection).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv4Address

from minibgp.adj_rib_in import AdjRibIn
from minibgp.adj_rib_out import Route
from minibgp.connection import Connection
from minibgp.events import (
    CloseRequested,
    CollisionResolved,
    ConnectionEvent,
    ConnectionRefused,
    NotificationReceived,
    NotificationSent,
    PeerEvent,
    RoutesForgotten,
    SessionEnded,
    SessionEstablished,
    StateChanged,
    UpdateReceived,
)
from minibgp.fsm import State
from minibgp.settings import SessionSettings
from minibgp.wire.errors import CeaseSubcode
from minibgp.wire.nlri import IPAddress, Prefix


class Initiator(Enum):
    """Which side opened a TCP connection."""

    LOCAL = "local"  # we connected to the peer (outbound)
    REMOTE = "remote"  # the peer connected to us (inbound)


def surviving_initiator(
    local_identifier: IPv4Address,
    remote_identifier: IPv4Address,
    local_as: int,
    remote_as: int,
) -> Initiator:
    """Whose connection survives a collision: the one the higher BGP Identifier opened.

    RFC 4271 §6.8 compares the identifiers "as 4-octet unsigned integers"; when they are equal
    (possible between ASes, RFC 6286 §2.3), the connection opened by the larger AS survives.
    """
    local_key = (int(local_identifier), local_as)
    remote_key = (int(remote_identifier), remote_as)
    return Initiator.LOCAL if local_key > remote_key else Initiator.REMOTE


@dataclass(eq=False)
class Channel:
    """One Connection to the peer, the TCP connection it runs on (if any), and the routes the
    peer sent on it."""

    connection: Connection
    rib_in: AdjRibIn = field(default_factory=AdjRibIn)
    initiator: Initiator | None = None  # who opened the current TCP connection
    tcp_up: bool = False  # a TCP connection is carried (or being handed to the Connection)
    replaces_main: bool = False  # started for a collision, took over as the main channel


PeerOutput = tuple[Channel, ConnectionEvent | PeerEvent]


@dataclass
class PeerCounts:
    """What happened on the connections to one peer since its Peer was made."""

    notifications_sent: Counter[tuple[int, int]] = field(default_factory=Counter)  # (code, subcode)
    notifications_received: Counter[tuple[int, int]] = field(default_factory=Counter)
    established: int = 0  # sessions that reached Established
    # Messages by type name, of the Connections no longer in use (`Peer.message_counts()`).
    retired_messages_sent: Counter[str] = field(default_factory=Counter)
    retired_messages_received: Counter[str] = field(default_factory=Counter)


@dataclass(eq=False)
class Peer:
    """A peer's connection(s), the routes we advertise to it and the routes it sent us."""

    settings: SessionSettings
    routes: list[Route] = field(default_factory=list)
    main: Channel = field(init=False)
    candidate: Channel | None = field(default=None, init=False)
    stopped: bool = field(default=False, init=False)
    counts: PeerCounts = field(default_factory=PeerCounts, init=False)
    _events: deque[PeerOutput] = field(default_factory=deque, init=False)

    def __post_init__(self) -> None:
        self.main = self._new_channel()

    @property
    def address(self) -> IPAddress:
        return self.settings.peer_address

    @property
    def rib_in(self) -> AdjRibIn:
        """The routes the peer sent on the session (RFC 4271 §3.2 Adj-RIB-In). During a
        collision each connection has its own; the one that survives is the peer's."""
        return self.main.rib_in

    @property
    def connection(self) -> Connection:
        """The main channel's Connection: the session, as `show` reports it."""
        return self.main.connection

    @property
    def channels(self) -> list[Channel]:
        return [self.main] + ([self.candidate] if self.candidate else [])

    def message_counts(self) -> tuple[Counter[str], Counter[str]]:
        """Messages sent and received, by type name, on every connection to the peer so far."""
        sent = Counter(self.counts.retired_messages_sent)
        received = Counter(self.counts.retired_messages_received)
        for channel in self.channels:
            sent.update(channel.connection.messages_sent)
            received.update(channel.connection.messages_received)
        return sent, received

    # -- inputs ----------------------------------------------------------------------------------

    def start(self, *, now: float) -> None:
        """ManualStart: connect (or, passive, wait for the peer)."""
        self.stopped = False
        self.main.connection.start(now=now)
        self._collect(self.main, now=now)

    def stop(self, subcode: int = CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, *, now: float) -> None:
        """Withdraw our routes and send Cease with `subcode` (RFC 4486) on every connection."""
        self.stopped = True
        for channel in self.channels:
            channel.connection.stop(subcode, now=now)
            self._collect(channel, now=now)

    def reset(self, subcode: int, *, now: float) -> None:
        """Drop the session with Cease `subcode` (RFC 4486) and start it again."""
        if self.candidate is not None:
            self.candidate.connection.stop(subcode, now=now)
            self._collect(self.candidate, now=now)
        self.main.connection.stop(subcode, now=now)
        self._collect(self.main, now=now)
        self.main.connection.start(now=now)
        self._collect(self.main, now=now)

    def set_routes(
        self, routes: Sequence[Route], *, now: float
    ) -> tuple[list[Prefix], list[Prefix]]:
        """Advertise exactly `routes` from now on; only the difference is sent.

        Returns the prefixes withdrawn and those announced anew or with new attributes."""
        old = {route.prefix: route for route in self.routes}
        new = {route.prefix: route for route in routes}
        self.routes = list(routes)
        for channel in self.channels:
            channel.connection.replace_routes(self.routes, now=now)
            self._collect(channel, now=now)
        gone = [prefix for prefix in old if prefix not in new]
        changed = [prefix for prefix, route in new.items() if old.get(prefix) != route]
        return gone, changed

    def tcp_connected(
        self, channel: Channel, local_address: IPAddress | None, *, now: float
    ) -> Channel | None:
        """Our TCP connection, asked for by `channel`, is up: the channel that carries it, or
        None (close it). When the peer's connection got to `channel` first, ours goes on a
        candidate channel, and RFC 4271 §6.8 decides between the two once both OPENs are in:
        by arrival order, both sides could each keep the other's and close their own."""
        if channel not in self.channels:
            return None  # given up meanwhile
        if channel.tcp_up:
            established = channel.connection.state is State.Established
            if self.candidate is not None or established:
                return None  # RFC 4271 §6.8: an Established connection stays
            channel = self.candidate = self._new_channel()
            channel.connection.start(passive=True, now=now)  # it asks for no connection
            self._collect(channel, now=now)
        channel.tcp_up = True
        channel.initiator = Initiator.LOCAL
        channel.connection.tcp_connected(local_address, now=now)
        self._collect(channel, now=now)
        return channel

    def connection_accepted(self, local_address: IPAddress | None, *, now: float) -> Channel | None:
        """The peer connected to us: the channel that carries its connection, or None."""
        if self.main.connection.state is State.Established:
            # RFC 4271 §6.8: a connection colliding with an Established one is closed.
            self._events.append((self.main, ConnectionRefused("already Established")))
            return None
        if not self.main.tcp_up:
            channel = self.main  # ours, if any, is given up (`tcp_connected` says so)
        elif self.candidate is None:
            channel = self.candidate = self._new_channel()
            channel.connection.start(passive=True, now=now)
            self._collect(channel, now=now)
        else:
            self._events.append((self.main, ConnectionRefused("a third connection")))
            return None
        channel.tcp_up = True
        channel.initiator = Initiator.REMOTE
        channel.connection.tcp_connected(local_address, inbound=True, now=now)
        self._collect(channel, now=now)
        return channel

    def receive_data(self, channel: Channel, data: bytes, *, now: float) -> None:
        channel.connection.receive_data(data, now=now)
        self._collect(channel, now=now)

    def tcp_failed(self, channel: Channel, reason: str, *, now: float) -> None:
        """Our attempt failed, or the TCP connection of `channel` broke or was closed."""
        channel.tcp_up = False
        channel.connection.tcp_failed(reason, now=now)
        self._collect(channel, now=now)

    def handle_timer(self, *, now: float) -> None:
        for channel in self.channels:
            due = channel.connection.get_timer()
            if due is not None and now >= due:
                channel.connection.handle_timer(now=now)
                self._collect(channel, now=now)

    # -- outputs ---------------------------------------------------------------------------------

    def data_to_send(self) -> list[tuple[Channel, bytes]]:
        return [(c, data) for c in self.channels if (data := c.connection.data_to_send())]

    def next_event(self) -> PeerOutput | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        deadlines = [c.connection.get_timer() for c in self.channels]
        return min((d for d in deadlines if d is not None), default=None)

    # -- acting on the connections' events -------------------------------------------------------

    def _new_channel(self) -> Channel:
        return Channel(Connection(self.settings, self.routes))

    def _collect(self, channel: Channel, *, now: float) -> None:
        """Take the events of `channel`'s Connection, act on those that concern the Peer, and
        queue them all for the shell."""
        while (event := channel.connection.next_event()) is not None:
            self._events.append((channel, event))
            if isinstance(event, CloseRequested):
                channel.tcp_up = False
                if channel is self.candidate or (channel is self.main and channel.replaces_main):
                    self._retire(channel, now=now)  # it was there for a collision only
            elif isinstance(event, UpdateReceived):
                channel.rib_in.apply(event.update)
            elif isinstance(event, NotificationSent | NotificationReceived):
                notification = event.notification
                counts = (
                    self.counts.notifications_sent
                    if isinstance(event, NotificationSent)
                    else self.counts.notifications_received
                )
                counts[notification.code, notification.subcode] += 1
            elif isinstance(event, SessionEstablished):
                self.counts.established += 1
            elif isinstance(event, SessionEnded):
                self._events.append((channel, RoutesForgotten(len(channel.rib_in))))
                channel.rib_in.clear()
            elif isinstance(event, StateChanged) and event.new is State.OpenConfirm:
                self._resolve_collision(channel, now=now)
            elif isinstance(event, StateChanged) and event.new is State.Idle:
                self._retire(channel, now=now)

    def _resolve_collision(self, channel: Channel, *, now: float) -> None:
        """An OPEN arrived on `channel`: if the other connection collides, one goes (§6.8)."""
        other = self.candidate if channel is self.main else self.main
        negotiated = channel.connection.negotiated
        if other is None or negotiated is None:
            return
        if other.connection.state is State.Established:
            loser = channel  # RFC 4271 §6.8: the Established connection stays
        elif other.connection.state is State.OpenConfirm:
            # RFC 4271 §6.8: both OPENs are in, so both identifiers are known.
            winner = surviving_initiator(
                self.settings.router_id,
                negotiated.peer_identifier,
                self.settings.local_as,
                negotiated.peer_as,
            )
            loser = other if channel.initiator is winner else channel
        else:
            return  # Connect, Active, OpenSent: no collision yet
        self._events.append((loser, CollisionResolved()))
        loser.connection.collision_lost(now=now)
        self._collect(loser, now=now)

    def _retire(self, channel: Channel, *, now: float) -> None:
        """A connection went Idle, or one started for a collision lost its TCP connection: drop
        a spare channel; let the candidate take over from the main one, or go back to a main
        channel of our own (which connects by itself)."""
        if self.stopped:
            return
        if channel is self.candidate:
            self.candidate = None
            self._forget(channel)
        elif channel is self.main and self.candidate is not None:
            # The main connection lost the collision (or failed): the other one carries on.
            self.main, self.candidate = self.candidate, None
            self.main.replaces_main = True
            self._forget(channel)
        elif channel is self.main and channel.replaces_main:
            # It was started passive for the peer's connection; resume our own behaviour.
            self._forget(channel)
            self.main = self._new_channel()
            self.main.connection.start(now=now)
            self._collect(self.main, now=now)

    def _forget(self, channel: Channel) -> None:
        """`channel` is no longer used: keep its message counts."""
        self.counts.retired_messages_sent.update(channel.connection.messages_sent)
        self.counts.retired_messages_received.update(channel.connection.messages_received)
