"""One BGP session with one peer, without I/O: bytes and the time in; bytes, events and the next
timer deadline out (the shape of aioquic's QuicConnection and h11's Connection).

The code that drives a `Connection` (`minibgp.peer`, and the asyncio shell around it) owns the
socket and the clock. Every input takes `now=`, keyword-only and last: a monotonic time in
seconds (the event loop's clock); nothing in here sleeps, reads a clock or touches a socket.

Inputs
    start(passive=None, *, now)       ManualStart (RFC 4271 §8.1.2 Event 1), or with passive
                                      ManualStart_with_PassiveTcpEstablishment (Event 4)
    stop(subcode=ADMINISTRATIVE_SHUTDOWN, message="", *, now)
                                      ManualStop (Event 2): withdraw our routes, send Cease
    tcp_connected(local_address=None, inbound=False, *, now)
                                      our connection is up (Tcp_CR_Acked, Event 16) or the
                                      peer's was accepted (TcpConnectionConfirmed, Event 17)
    tcp_failed(reason, *, now) / tcp_closed(*, now)
                                      TcpConnectionFails (Event 18)
    receive_data(data, *, now)        bytes read from the TCP connection
    handle_timer(*, now)              call when `get_timer()` is reached: ConnectRetryTimer
                                      (Event 9), HoldTimer (Event 10), KeepaliveTimer (Event 11)
                                      and the back-off before an automatic restart
    collision_lost(*, now)            this connection lost a collision (RFC 4271 §6.8,
                                      OpenCollisionDump, Event 23); see `minibgp.peer`
    announce(routes, *, now) / withdraw(prefixes, *, now) / replace_routes(routes, *, now)
                                      change what we advertise; sent at once when Established
    request_route_refresh(afi, safi, *, now)
                                      ask the peer to send its routes again (RFC 2918)

Outputs
    data_to_send() -> bytes           write these to the TCP connection, after every input
    next_event() -> ConnectionEvent | None
                                      what happened (`minibgp.events`), until None
    get_timer() -> float | None       when to call `handle_timer()` next

After each input the driver writes `data_to_send()`, then handles events until `next_event()`
is None: `ConnectRequested` → open a TCP connection to the peer and report the outcome with
`tcp_connected` or `tcp_failed`; `CloseRequested` → close the TCP connection (or abandon the
attempt) once the bytes already handed over are written; the others are news to log or to apply
(`UpdateReceived` to the Adj-RIB-In, `SessionEnded` → forget the peer's routes). Then it sleeps
until `get_timer()` or the next bytes.

Read-only state for `show neighbors`: `state`, `peer_open`, `negotiated` (hold time, families,
4-octet AS, route refresh), `negotiated_hold_time`, `established_at`, `uptime(now=)`, `routes`
(what we advertise), `advertised` (what was sent), `messages_sent` / `messages_received` (counts by
message type name) and `last_error`.

A Connection carries one TCP connection at a time. Two TCP connections to one peer (both sides
connected at once, RFC 4271 §6.8) are two Connections, and `minibgp.peer.Peer` decides which
one goes; `collision_lost` works in any state (the loser may already be Established when the
KEEPALIVE came in the same read as the OPEN).

Retries back off: after each consecutive failure the ConnectRetry interval doubles, from
`settings.connect_retry_time` up to `settings.max_connect_retry_time`. It starts afresh when the
session is started by hand, when the peer ends it with a deliberate Cease (a router that
restarts, `DELIBERATE_CEASE`), or when it fails after having stayed Established at least that
maximum: a peer that accepts the session and drops it at once is not retried at full speed
forever (RFC 4271 §8.1.1 DampPeerOscillations). A session that fails waits that long in Idle
and then starts again by itself (AutomaticStart, Event 3 or 5); only `stop()` keeps it down.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from ipaddress import ip_address, ip_network
from typing import Protocol

from minibgp.adj_rib_out import AdjRibOut, Advertising, Route, end_of_rib
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
from minibgp.fsm import (
    FSM_ERROR_SUBCODE,
    MESSAGE_EVENTS,
    Action,
    Event,
    State,
    event_for_error,
    expects,
    transition,
)
from minibgp.negotiation import OPEN_SENT_HOLD_TIME, Negotiated, build_open, negotiate
from minibgp.settings import SessionSettings
from minibgp.wire.attributes import PathAttribute
from minibgp.wire.context import CodecContext
from minibgp.wire.errors import BGPError, CeaseSubcode, ErrorCode, OpenErrorSubcode, error_name
from minibgp.wire.header import MAX_MESSAGE_LENGTH, MessageReader, MessageType, encode_header
from minibgp.wire.messages import (
    Keepalive,
    Message,
    Notification,
    Open,
    RouteRefresh,
    Update,
    decode_message,
    encode_message,
)
from minibgp.wire.nlri import Family, IPAddress, Prefix

_MESSAGE_NAMES = {int(t): t.name for t in MessageType}


# Cease subcodes of a peer that ends the session on purpose (RFC 4486 §4, RFC 8538 §3): a
# restart or a reconfiguration, not a flap. The next attempt comes after the first interval.
DELIBERATE_CEASE = frozenset(
    {
        CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
        CeaseSubcode.PEER_DE_CONFIGURED,
        CeaseSubcode.ADMINISTRATIVE_RESET,
        CeaseSubcode.OTHER_CONFIGURATION_CHANGE,
        CeaseSubcode.CONNECTION_COLLISION_RESOLUTION,
        CeaseSubcode.HARD_RESET,
    }
)


class _Action(Protocol):
    """A Connection method that does one `Action` of the FSM table."""

    def __call__(self, detail: object, *, now: float) -> None: ...


class Connection:
    """The BGP finite state machine (RFC 4271 §8) and message exchange for one peer."""

    def __init__(self, settings: SessionSettings, routes: Iterable[Route] = ()) -> None:
        """A session in Idle that will advertise `routes` once Established."""
        self.settings = settings
        self._state = State.Idle
        self._events: deque[ConnectionEvent] = deque()
        self._outgoing = bytearray()
        self._reader = MessageReader()
        self._codec = CodecContext(four_octet_as=False)
        self._rib_out = AdjRibOut()
        self._rib_out.replace(routes)
        self._passive = settings.passive
        self._local_address: IPAddress | None = settings.local_address
        # Timers, as the time they fire (None: not running).
        self._connect_retry_at: float | None = None
        self._hold_at: float | None = None
        self._keepalive_at: float | None = None
        self._restart_at: float | None = None  # back-off in Idle before an automatic restart
        self._failures = 0  # consecutive, for the back-off
        self._peer_open: Open | None = None
        self._negotiated: Negotiated | None = None
        self._established_at: float | None = None
        self._cease = Notification.cease(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN)
        self._down_reason = ""
        self.last_error = ""
        self.messages_received: Counter[str] = Counter()
        self.messages_sent: Counter[str] = Counter()
        self._actions: dict[Action, _Action] = {
            Action.IGNORE: self._ignore,
            Action.REFUSE_CONNECTION: self._refuse_connection,
            Action.CANCEL_RESTART: self._cancel_restart,
            Action.INITIATE_CONNECTION: self._initiate_connection,
            Action.LISTEN: self._listen,
            Action.RETRY_CONNECTION: self._retry_connection,
            Action.SEND_OPEN: self._send_open,
            Action.CONNECTION_LOST: self._connection_lost,
            Action.ACCEPT_OPEN: self._accept_open,
            Action.ESTABLISH: self._establish,
            Action.SEND_KEEPALIVE: self._send_keepalive,
            Action.RESTART_HOLD_TIMER: self._restart_hold_timer,
            Action.PROCESS_UPDATE: self._process_update,
            Action.PROCESS_ROUTE_REFRESH: self._process_route_refresh,
            Action.STOP: self._stop,
            Action.STOP_WITH_CEASE: self._stop_with_cease,
            Action.DROP: self._drop,
            Action.SEND_ERROR_NOTIFICATION: self._send_error_notification,
            Action.SEND_HOLD_TIMER_EXPIRED: self._send_hold_timer_expired,
            Action.SEND_FSM_ERROR: self._send_fsm_error,
            Action.PEER_NOTIFICATION: self._peer_notification,
            Action.COLLISION_DUMP: self._collision_dump,
        }

    # ------------------------------------------------------------------ read-only state

    @property
    def state(self) -> State:
        """The FSM state (RFC 4271 §8.2.2)."""
        return self._state

    @property
    def peer_open(self) -> Open | None:
        """The peer's OPEN on the current connection, once received."""
        return self._peer_open

    @property
    def negotiated(self) -> Negotiated | None:
        """What the OPEN exchange agreed on (from OpenConfirm on)."""
        return self._negotiated

    @property
    def negotiated_hold_time(self) -> int | None:
        """The Hold Time in use, in seconds (0: no KEEPALIVEs), once the OPENs are exchanged."""
        return None if self._negotiated is None else self._negotiated.hold_time

    @property
    def local_address(self) -> IPAddress | None:
        """Our end of the current TCP connection (our next hop), while there is one."""
        if self._state in (State.OpenSent, State.OpenConfirm, State.Established):
            return self._local_address
        return None

    @property
    def established_at(self) -> float | None:
        """When the session reached Established (the shell's clock), while it is up."""
        return self._established_at

    def uptime(self, *, now: float) -> float | None:
        """Seconds since the session reached Established, or None when it is not up."""
        return None if self._established_at is None else now - self._established_at

    @property
    def routes(self) -> dict[Prefix, Route]:
        """The routes we advertise to this peer (sent when the session is up)."""
        return self._rib_out.routes

    @property
    def advertised(self) -> dict[Prefix, tuple[PathAttribute, ...]]:
        """What the peer has been sent on the current session: prefix → path attributes."""
        return self._rib_out.advertised

    @property
    def connect_retry_interval(self) -> float:
        """The current back-off: doubles with each consecutive failure, up to the maximum."""
        doublings = min(max(self._failures - 1, 0), 30)
        interval = self.settings.connect_retry_time * float(1 << doublings)
        return min(interval, self.settings.max_connect_retry_time)

    # ------------------------------------------------------------------ outputs

    def data_to_send(self) -> bytes:
        """The bytes to write to the TCP connection now (and forget)."""
        data = bytes(self._outgoing)
        self._outgoing.clear()
        return data

    def next_event(self) -> ConnectionEvent | None:
        """The next event, or None when there is none."""
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        """When `handle_timer` must be called next, or None if no timer runs."""
        deadlines = [
            t
            for t in (self._hold_at, self._keepalive_at, self._connect_retry_at, self._restart_at)
            if t is not None
        ]
        return min(deadlines, default=None)

    # ------------------------------------------------------------------ inputs

    def start(self, passive: bool | None = None, *, now: float) -> None:
        """Start the session: ManualStart (Event 1), or Event 4 when passive.

        `passive` overrides `settings.passive`: a passive session waits for the peer to connect.
        """
        if self._state is State.Idle:
            self._passive = self.settings.passive if passive is None else passive
            self._failures = 0
            self._restart_at = None
        if self._passive:
            self._handle(Event.ManualStart_with_PassiveTcpEstablishment, now=now)
        else:
            self._handle(Event.ManualStart, now=now)

    def stop(
        self,
        subcode: int = CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
        message: str = "",
        *,
        now: float,
    ) -> None:
        """Stop the session and keep it down: ManualStop (Event 2).

        When Established, our routes are withdrawn first, then a NOTIFICATION Cease with
        `subcode` is sent; `message` is the shutdown communication of RFC 9003 (Administrative
        Shutdown and Reset only).
        """
        shutdown_communication = subcode in (
            CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
            CeaseSubcode.ADMINISTRATIVE_RESET,
        )
        self._cease = Notification.cease(subcode, message if shutdown_communication else "")
        if self._state is State.Established:
            for update in self._rib_out.withdraw_all(self._codec):
                self._send_update(update, now=now)
        self._handle(Event.ManualStop, now=now)

    def tcp_connected(
        self, local_address: str | IPAddress | None = None, inbound: bool = False, *, now: float
    ) -> None:
        """The TCP connection is up: ours (Event 16) or, with `inbound`, the peer's (Event 17).

        `local_address` is our end of it, used as next-hop self.
        """
        if local_address is not None:
            self._local_address = ip_address(local_address)
        if inbound and self._state is State.Idle and self._restart_at is not None:
            # The peer is connecting while we wait out our back-off: start now (Event 5)
            # instead of refusing it, as the peer's attempt makes waiting pointless.
            self._restart_at = None
            self._handle(Event.AutomaticStart_with_PassiveTcpEstablishment, now=now)
        if inbound:
            self._handle(Event.TcpConnectionConfirmed, now=now)
        else:
            self._handle(Event.Tcp_CR_Acked, now=now)

    def tcp_failed(self, reason: str = "TCP connection failed", *, now: float) -> None:
        """Our connection attempt failed, or the connection broke (Event 18)."""
        self._handle(Event.TcpConnectionFails, reason, now=now)

    def tcp_closed(self, *, now: float) -> None:
        """The peer closed the TCP connection (Event 18)."""
        self._handle(Event.TcpConnectionFails, "the peer closed the TCP connection", now=now)

    def collision_lost(self, *, now: float) -> None:
        """This connection lost a collision (RFC 4271 §6.8): OpenCollisionDump (Event 23)."""
        self._handle(Event.OpenCollisionDump, now=now)

    def handle_timer(self, *, now: float) -> None:
        """Fire every timer whose time has come (RFC 4271 §8.1.3)."""
        if self._hold_at is not None and now >= self._hold_at:
            self._hold_at = None
            self._handle(Event.HoldTimer_Expires, now=now)
        if self._keepalive_at is not None and now >= self._keepalive_at:
            self._keepalive_at = None
            self._handle(Event.KeepaliveTimer_Expires, now=now)
        if self._connect_retry_at is not None and now >= self._connect_retry_at:
            self._connect_retry_at = None
            self._handle(Event.ConnectRetryTimer_Expires, now=now)
        if self._restart_at is not None and now >= self._restart_at:
            self._restart_at = None
            if self._passive:
                self._handle(Event.AutomaticStart_with_PassiveTcpEstablishment, now=now)
            else:
                self._handle(Event.AutomaticStart, now=now)

    def receive_data(self, data: bytes, *, now: float) -> None:
        """Bytes read from the TCP connection."""
        if self._state not in (State.OpenSent, State.OpenConfirm, State.Established):
            return  # no BGP connection to read from (late bytes of a closed one)
        self._reader.feed(data)
        while self._state in (State.OpenSent, State.OpenConfirm, State.Established):
            try:
                try:
                    cut = self._reader.next_message()
                except BGPError:
                    if self.settings.trace:  # what arrived, as far as it goes
                        self._trace(MessageReceived, self._reader.unread()[:MAX_MESSAGE_LENGTH])
                    raise
                if cut is None:
                    return
                if self.settings.trace:
                    self._trace(MessageReceived, encode_header(*cut))
                event, message = self._decode(*cut)
            except BGPError as error:
                # The one place where malformed input becomes a NOTIFICATION (RFC 4271 §6).
                self._handle(event_for_error(error.code), error, now=now)
                return
            self._handle(event, message, now=now)

    def announce(self, routes: Iterable[Route], *, now: float) -> None:
        """Advertise `routes` (replacing routes of the same prefixes)."""
        for route in routes:
            self._rib_out.set(route)
        self._send_route_changes(now=now)

    def withdraw(self, prefixes: Iterable[str | Prefix], *, now: float) -> None:
        """Stop advertising `prefixes`."""
        for prefix in prefixes:
            self._rib_out.remove(ip_network(prefix))
        self._send_route_changes(now=now)

    def replace_routes(self, routes: Iterable[Route], *, now: float) -> None:
        """Advertise exactly `routes`: only the difference is sent."""
        self._rib_out.replace(routes)
        self._send_route_changes(now=now)

    def request_route_refresh(self, afi: int, safi: int, *, now: float) -> bool:
        """Ask the peer to re-send its routes of a family (RFC 2918 §3).

        False (and nothing sent) unless the session is Established, the peer advertised the
        Route Refresh capability and the family was negotiated (RFC 2918 §4).
        """
        negotiated = self._negotiated
        if (
            self._state is not State.Established
            or negotiated is None
            or not negotiated.route_refresh
            or (afi, safi) not in negotiated.families
        ):
            return False
        self._send(RouteRefresh(afi, safi))
        return True

    # ------------------------------------------------------------------ the FSM

    def _handle(self, event: Event, detail: object = None, *, now: float) -> None:
        """Run the transition RFC 4271 §8.2.2 gives for `event` in the current state."""
        action, next_state = transition(self._state, event)
        self._actions[action](detail, now=now)
        self._set_state(next_state, now=now)

    def _set_state(self, new: State, *, now: float) -> None:
        old = self._state
        if new is old:
            return
        self._state = new
        self._events.append(StateChanged(old, new))
        if old is State.Established:
            self._established_at = None
            self._rib_out.forget_advertised()
            self._events.append(SessionEnded(self._down_reason))
        if new is State.Established:
            assert self._peer_open is not None and self._negotiated is not None
            self._established_at = now
            self._events.append(SessionEstablished(self._peer_open, self._negotiated))
        if new in (State.Idle, State.Active):
            self._peer_open = None
            self._negotiated = None

    def _decode(self, msg_type: int, body: bytes) -> tuple[Event, Message | None]:
        """The FSM event a received message is, and the message (decoded when it matters)."""
        self.messages_received[_MESSAGE_NAMES[msg_type]] += 1
        message: Message | None = None
        if msg_type == MessageType.NOTIFICATION:
            notification = decode_message(msg_type, body, self._codec)
            assert isinstance(notification, Notification)
            message = notification
            # RFC 4271 §8.1.5: a NOTIFICATION with a version error is an event of its own.
            is_version_error = (notification.code, notification.subcode) == (
                ErrorCode.OPEN_MESSAGE_ERROR,
                OpenErrorSubcode.UNSUPPORTED_VERSION_NUMBER,
            )
            event = Event.NotifMsgVerErr if is_version_error else Event.NotifMsg
        else:
            event = MESSAGE_EVENTS[msg_type]
            # Decode only what this state expects: an UPDATE needs the negotiated codec, and an
            # out-of-place message is an FSM error whatever its content (RFC 6608 §4).
            if expects(self._state, event):
                message = decode_message(msg_type, body, self._codec)
            if event is Event.BGPOpen and message is not None:
                assert isinstance(message, Open)
                self._negotiated = negotiate(self.settings, message)
                self._peer_open = message
        return event, message

    # ------------------------------------------------------------------ actions

    def _ignore(self, detail: object, *, now: float) -> None:
        pass

    def _refuse_connection(self, detail: object, *, now: float) -> None:
        self._events.append(CloseRequested())

    def _cancel_restart(self, detail: object, *, now: float) -> None:
        self._restart_at = None

    def _initiate_connection(self, detail: object, *, now: float) -> None:
        self._start_connect_retry_timer(now=now)
        self._events.append(ConnectRequested())

    def _listen(self, detail: object, *, now: float) -> None:
        self._start_connect_retry_timer(now=now)

    def _retry_connection(self, detail: object, *, now: float) -> None:
        self._events.append(CloseRequested())
        self._start_connect_retry_timer(now=now)
        self._events.append(ConnectRequested())

    def _send_open(self, detail: object, *, now: float) -> None:
        self._connect_retry_at = None
        self._reader = MessageReader()
        self._codec = CodecContext(four_octet_as=False)
        self._send(build_open(self.settings))
        self._hold_at = now + OPEN_SENT_HOLD_TIME  # RFC 4271 §8.2.2: "a large value"

    def _connection_lost(self, detail: object, *, now: float) -> None:
        # RFC 4271 §8.2.2 (OpenSent, Event 18): close, restart the ConnectRetryTimer, listen.
        self._note_failure(str(detail), now=now)
        self._stop_timers()
        self._events.append(CloseRequested())
        self._start_connect_retry_timer(now=now)

    def _accept_open(self, detail: object, *, now: float) -> None:
        negotiated = self._negotiated
        assert negotiated is not None
        self._connect_retry_at = None
        # The ASes switch on the eBGP/iBGP checks of received UPDATEs (RFC 4271 §6.3, §5.1.5),
        # our address the next hop check (§6.3); only negotiated families count (RFC 4760 §8).
        self._codec = CodecContext(
            four_octet_as=negotiated.four_octet_as,
            local_as=self.settings.local_as,
            peer_as=negotiated.peer_as,
            local_address=self._local_address,
            families=negotiated.families,
        )
        self._send(Keepalive())
        self._start_hold_and_keepalive_timers(now=now)

    def _establish(self, detail: object, *, now: float) -> None:
        self._restart_hold_timer(detail, now=now)
        # RFC 4724 §2: after the initial routes, an End-of-RIB for each family.
        self._send_route_changes(force=True, now=now)
        negotiated = self._negotiated
        assert negotiated is not None
        for family in sorted(negotiated.families):
            self._send_update(end_of_rib(family), now=now)

    def _send_keepalive(self, detail: object, *, now: float) -> None:
        self._send(Keepalive())
        self._restart_keepalive_timer(now=now)

    def _restart_hold_timer(self, detail: object, *, now: float) -> None:
        hold_time = self.negotiated_hold_time
        self._hold_at = now + hold_time if hold_time else None

    def _process_update(self, detail: object, *, now: float) -> None:
        self._restart_hold_timer(detail, now=now)
        assert isinstance(detail, Update)
        family = detail.is_end_of_rib()
        if family is not None:
            self._events.append(EndOfRibReceived(*family))
        else:
            self._events.append(UpdateReceived(detail))

    def _process_route_refresh(self, detail: object, *, now: float) -> None:
        self._restart_hold_timer(detail, now=now)
        assert isinstance(detail, RouteRefresh)
        negotiated = self._negotiated
        assert negotiated is not None
        family: Family = (detail.afi, detail.safi)
        if family not in negotiated.families:
            return  # RFC 2918 §4: a family we did not advertise is ignored
        if detail.subtype != 0:
            return  # RFC 7313 §3.2 markers, from a peer that ignored our capabilities
        self._events.append(RouteRefreshReceived(detail.afi, detail.safi))
        self._rib_out.forget_advertised(family)
        self._send_route_changes(now=now)

    def _stop(self, detail: object, *, now: float) -> None:
        self._go_idle("stopped", restart=False, now=now)

    def _stop_with_cease(self, detail: object, *, now: float) -> None:
        self._send_notification(self._cease, "stopped")
        self._go_idle(f"stopped: {self._cease}", restart=False, now=now)

    def _drop(self, detail: object, *, now: float) -> None:
        reason = str(detail) if isinstance(detail, str) else "unexpected event"
        self._note_failure(reason, now=now)
        self._go_idle(reason, restart=True, now=now)

    def _send_error_notification(self, detail: object, *, now: float) -> None:
        assert isinstance(detail, BGPError)
        self._send_notification(Notification.from_error(detail), detail.reason)
        self._note_failure(
            f"sent {error_name(detail.code, detail.subcode)}: {detail.reason}", now=now
        )
        self._go_idle(self.last_error, restart=True, now=now)

    def _send_hold_timer_expired(self, detail: object, *, now: float) -> None:
        reason = "no message from the peer within the hold time"
        self._send_notification(Notification(ErrorCode.HOLD_TIMER_EXPIRED, 0, b""), reason)
        self._note_failure(f"sent Hold Timer Expired: {reason}", now=now)
        self._go_idle(self.last_error, restart=True, now=now)

    def _send_fsm_error(self, detail: object, *, now: float) -> None:
        # RFC 6608 §4: an unexpected message gets FSM Error with the state as subcode.
        subcode = FSM_ERROR_SUBCODE[self._state]
        reason = f"unexpected message in {self._state.value}"
        notification = Notification(ErrorCode.FINITE_STATE_MACHINE_ERROR, subcode, b"")
        self._send_notification(notification, reason)
        self._note_failure(f"sent {error_name(notification.code, subcode)}: {reason}", now=now)
        self._go_idle(self.last_error, restart=True, now=now)

    def _peer_notification(self, detail: object, *, now: float) -> None:
        assert isinstance(detail, Notification)
        self._events.append(NotificationReceived(detail))
        self._note_failure(f"received {error_name(detail.code, detail.subcode)}", now=now)
        if detail.code == ErrorCode.CEASE and detail.subcode in DELIBERATE_CEASE:
            self._failures = 0  # the peer stopped on purpose (a restart, say): not a flap
        self._go_idle(self.last_error, restart=True, now=now)

    def _collision_dump(self, detail: object, *, now: float) -> None:
        subcode = CeaseSubcode.CONNECTION_COLLISION_RESOLUTION
        reason = "the other connection to this peer won the collision (RFC 4271 §6.8)"
        self._send_notification(Notification(ErrorCode.CEASE, subcode, b""), reason)
        # The other connection carries the session: no automatic restart from this one.
        self._go_idle(reason, restart=False, now=now)

    # ------------------------------------------------------------------ helpers of actions

    def _go_idle(self, reason: str, *, restart: bool, now: float) -> None:
        """Release the connection; with `restart`, start again after the back-off."""
        self._down_reason = reason
        self._stop_timers()
        self._events.append(CloseRequested())
        self._restart_at = now + self.connect_retry_interval if restart else None

    def _note_failure(self, reason: str, *, now: float) -> None:
        stable_since = self._established_at
        if stable_since is not None and now - stable_since >= self.settings.max_connect_retry_time:
            # The session had been up longer than the longest back-off: start afresh.
            self._failures = 0
        self._failures += 1
        self.last_error = reason

    def _stop_timers(self) -> None:
        self._connect_retry_at = self._hold_at = self._keepalive_at = None

    def _start_connect_retry_timer(self, *, now: float) -> None:
        # A passive session never connects by itself, and this timer's expiry means "connect".
        self._connect_retry_at = None if self._passive else now + self.connect_retry_interval

    def _start_hold_and_keepalive_timers(self, *, now: float) -> None:
        self._restart_hold_timer(None, now=now)
        self._restart_keepalive_timer(now=now)

    def _restart_keepalive_timer(self, *, now: float) -> None:
        negotiated = self._negotiated
        if negotiated is None or negotiated.hold_time == 0:
            self._keepalive_at = None  # RFC 4271 §4.4: Hold Time 0, no KEEPALIVEs
        else:
            self._keepalive_at = now + negotiated.keepalive_time

    def _send(self, message: Message) -> None:
        octets = encode_message(message, self._codec)
        self._outgoing += octets
        self.messages_sent[_MESSAGE_NAMES[message.message_type]] += 1
        if self.settings.trace:
            self._trace(MessageSent, octets)

    def _trace(self, kind: type[MessageReceived | MessageSent], octets: bytes) -> None:
        """`--trace`: the octets as they are on the wire, and how this session reads them."""
        codec = CodecContext(
            four_octet_as=self._codec.four_octet_as,
            local_as=self._codec.local_as,
            peer_as=self._codec.peer_as,
            local_address=self._codec.local_address,
            families=self._codec.families,
        )
        self._events.append(kind(octets, codec))

    def _send_update(self, update: Update, *, now: float) -> None:
        self._send(update)
        # RFC 4271 §8.2.2: sending an UPDATE restarts the KeepaliveTimer.
        if self._keepalive_at is not None:
            self._restart_keepalive_timer(now=now)

    def _send_notification(self, notification: Notification, reason: str) -> None:
        self._send(notification)
        self._events.append(NotificationSent(notification, reason))

    def _send_route_changes(self, force: bool = False, *, now: float) -> None:
        if self._state is not State.Established and not force:
            return
        negotiated = self._negotiated
        assert negotiated is not None
        session = Advertising(
            local_as=self.settings.local_as,
            ibgp=negotiated.peer_as == self.settings.local_as,
            local_address=self._local_address,
            families=negotiated.families,
            codec=self._codec,
        )
        for update in self._rib_out.pending_updates(session):
            self._send_update(update, now=now)
