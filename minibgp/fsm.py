"""The BGP finite state machine of RFC 4271 §8, as a table.

`TRANSITIONS[(state, event)]` is the `(action, next state)` RFC 4271 §8.2.2 prescribes;
`OTHER_EVENTS[state]` is the state's "any other event" rule. `transition()` reads both.
The table says *what* happens; `minibgp.connection.Connection` does each `Action`.

States and events carry the names (and, for events, the numbers) RFC 4271 §8.1 and §8.2.1 give
them. Only the events minibgp can meet are listed: there is no DelayOpen timer (§8.1.1
DelayOpen is FALSE), no AutomaticStop, and oscillation damping is the connection's back-off
(§8.1.1 DampPeerOscillations, whose method "is outside the scope" of the RFC). Where the table
departs from the RFC's text it says so, with the reason.
"""

from __future__ import annotations

from enum import Enum

from minibgp.wire.errors import ErrorCode, FsmErrorSubcode
from minibgp.wire.header import MessageType


class State(Enum):
    """The six states of a BGP connection (RFC 4271 §8.2.2)."""

    Idle = "Idle"
    Connect = "Connect"
    Active = "Active"
    OpenSent = "OpenSent"
    OpenConfirm = "OpenConfirm"
    Established = "Established"


class Event(Enum):
    """FSM events, valued by their number in RFC 4271 §8.1."""

    # Administrative events (RFC 4271 §8.1.2)
    ManualStart = 1
    ManualStop = 2
    AutomaticStart = 3
    ManualStart_with_PassiveTcpEstablishment = 4
    AutomaticStart_with_PassiveTcpEstablishment = 5
    # Timer events (RFC 4271 §8.1.3)
    ConnectRetryTimer_Expires = 9
    HoldTimer_Expires = 10
    KeepaliveTimer_Expires = 11
    # TCP connection-based events (RFC 4271 §8.1.4)
    Tcp_CR_Acked = 16
    TcpConnectionConfirmed = 17
    TcpConnectionFails = 18
    # BGP message-based events (RFC 4271 §8.1.5)
    BGPOpen = 19
    BGPHeaderErr = 21
    BGPOpenMsgErr = 22
    OpenCollisionDump = 23
    NotifMsgVerErr = 24
    NotifMsg = 25
    KeepAliveMsg = 26
    UpdateMsg = 27
    UpdateMsgErr = 28
    # Not numbered by RFC 4271: a ROUTE-REFRESH message (RFC 2918 §3) arrived. It is welcome
    # only in Established; elsewhere it is an unexpected message like an UPDATE (RFC 6608 §3).
    RouteRefreshMsg = "RFC 2918"


class Action(Enum):
    """What the connection does on a transition; each bundles steps of RFC 4271 §8.2.2."""

    IGNORE = "ignore"
    # Idle: a TCP connection arrived although the peer is not started; refuse it.
    REFUSE_CONNECTION = "refuse the TCP connection"
    # Idle: ManualStop cancels a pending automatic restart (outside the RFC, see Connection).
    CANCEL_RESTART = "cancel the automatic restart"
    # Start the ConnectRetryTimer and ask for a TCP connection.
    INITIATE_CONNECTION = "initiate a TCP connection"
    # Start the ConnectRetryTimer (unless passive) and wait for the peer to connect.
    LISTEN = "listen for a TCP connection"
    # Connect, ConnectRetryTimer expired: drop the attempt, retry.
    RETRY_CONNECTION = "retry the TCP connection"
    # TCP is up: send OPEN, arm the HoldTimer with its large initial value.
    SEND_OPEN = "send OPEN"
    # OpenSent, TCP lost: restart the ConnectRetryTimer and keep listening.
    CONNECTION_LOST = "drop the connection, keep listening"
    # An OPEN that passed the checks: send KEEPALIVE, arm the negotiated timers.
    ACCEPT_OPEN = "accept the OPEN"
    # The first KEEPALIVE after the OPENs: the session is up.
    ESTABLISH = "establish the session"
    SEND_KEEPALIVE = "send KEEPALIVE"
    RESTART_HOLD_TIMER = "restart the HoldTimer"
    PROCESS_UPDATE = "process the UPDATE"
    PROCESS_ROUTE_REFRESH = "re-advertise on ROUTE-REFRESH"
    # Back to Idle, each in its own way:
    STOP = "stop without a NOTIFICATION"
    STOP_WITH_CEASE = "send Cease and stop"
    DROP = "drop the connection"
    SEND_ERROR_NOTIFICATION = "send the error's NOTIFICATION and drop"
    SEND_HOLD_TIMER_EXPIRED = "send Hold Timer Expired and drop"
    SEND_FSM_ERROR = "send Finite State Machine Error and drop"
    PEER_NOTIFICATION = "the peer sent a NOTIFICATION: drop"
    COLLISION_DUMP = "send Cease / Connection Collision Resolution and drop"


Transition = tuple[Action, State]

# The event each received message is (RFC 4271 §8.1.5); a NOTIFICATION is NotifMsg or, with a
# version error, NotifMsgVerErr.
MESSAGE_EVENTS: dict[int, Event] = {
    MessageType.OPEN: Event.BGPOpen,
    MessageType.KEEPALIVE: Event.KeepAliveMsg,
    MessageType.UPDATE: Event.UpdateMsg,
    MessageType.ROUTE_REFRESH: Event.RouteRefreshMsg,
}

_S, _E, _A = State, Event, Action

_STARTS = (
    _E.ManualStart,
    _E.AutomaticStart,
    _E.ManualStart_with_PassiveTcpEstablishment,
    _E.AutomaticStart_with_PassiveTcpEstablishment,
)
_TCP_UP = (_E.Tcp_CR_Acked, _E.TcpConnectionConfirmed)
_MESSAGE_ERRORS = (_E.BGPHeaderErr, _E.BGPOpenMsgErr, _E.UpdateMsgErr)


def _same(
    state: State, events: tuple[Event, ...], action: Action
) -> dict[tuple[State, Event], Transition]:
    return {(state, event): (action, state) for event in events}


TRANSITIONS: dict[tuple[State, Event], Transition] = {
    # ---- Idle (RFC 4271 §8.2.2, "Idle state") ----
    (_S.Idle, _E.ManualStart): (_A.INITIATE_CONNECTION, _S.Connect),
    (_S.Idle, _E.AutomaticStart): (_A.INITIATE_CONNECTION, _S.Connect),
    (_S.Idle, _E.ManualStart_with_PassiveTcpEstablishment): (_A.LISTEN, _S.Active),
    (_S.Idle, _E.AutomaticStart_with_PassiveTcpEstablishment): (_A.LISTEN, _S.Active),
    # "The ManualStop event [is] ignored in the Idle state"; it also cancels our back-off timer.
    (_S.Idle, _E.ManualStop): (_A.CANCEL_RESTART, _S.Idle),
    # "Idle ... refuses all incoming BGP connections for this peer."
    (_S.Idle, _E.Tcp_CR_Acked): (_A.REFUSE_CONNECTION, _S.Idle),
    (_S.Idle, _E.TcpConnectionConfirmed): (_A.REFUSE_CONNECTION, _S.Idle),
    # ---- Connect ----
    **_same(_S.Connect, _STARTS, _A.IGNORE),
    (_S.Connect, _E.ManualStop): (_A.STOP, _S.Idle),
    (_S.Connect, _E.ConnectRetryTimer_Expires): (_A.RETRY_CONNECTION, _S.Connect),
    (_S.Connect, _E.Tcp_CR_Acked): (_A.SEND_OPEN, _S.OpenSent),
    (_S.Connect, _E.TcpConnectionConfirmed): (_A.SEND_OPEN, _S.OpenSent),
    (_S.Connect, _E.TcpConnectionFails): (_A.DROP, _S.Idle),
    # ---- Active ----
    **_same(_S.Active, _STARTS, _A.IGNORE),
    (_S.Active, _E.ManualStop): (_A.STOP, _S.Idle),
    (_S.Active, _E.ConnectRetryTimer_Expires): (_A.INITIATE_CONNECTION, _S.Connect),
    (_S.Active, _E.Tcp_CR_Acked): (_A.SEND_OPEN, _S.OpenSent),
    (_S.Active, _E.TcpConnectionConfirmed): (_A.SEND_OPEN, _S.OpenSent),
    (_S.Active, _E.TcpConnectionFails): (_A.DROP, _S.Idle),
    # ---- OpenSent ----
    **_same(_S.OpenSent, _STARTS, _A.IGNORE),
    # A second TCP connection is a collision (§6.8): the shell gives it a Connection of its own.
    **_same(_S.OpenSent, _TCP_UP, _A.IGNORE),
    (_S.OpenSent, _E.ManualStop): (_A.STOP_WITH_CEASE, _S.Idle),
    (_S.OpenSent, _E.HoldTimer_Expires): (_A.SEND_HOLD_TIMER_EXPIRED, _S.Idle),
    (_S.OpenSent, _E.TcpConnectionFails): (_A.CONNECTION_LOST, _S.Active),
    (_S.OpenSent, _E.BGPOpen): (_A.ACCEPT_OPEN, _S.OpenConfirm),
    **{(_S.OpenSent, e): (_A.SEND_ERROR_NOTIFICATION, _S.Idle) for e in _MESSAGE_ERRORS},
    (_S.OpenSent, _E.OpenCollisionDump): (_A.COLLISION_DUMP, _S.Idle),
    (_S.OpenSent, _E.NotifMsgVerErr): (_A.PEER_NOTIFICATION, _S.Idle),
    # The RFC lists NotifMsg among OpenSent's "other events", answered with an FSM Error
    # NOTIFICATION; but the peer closes right after its NOTIFICATION (§4.5), so we only drop.
    (_S.OpenSent, _E.NotifMsg): (_A.PEER_NOTIFICATION, _S.Idle),
    # ---- OpenConfirm ----
    **_same(_S.OpenConfirm, _STARTS, _A.IGNORE),
    **_same(_S.OpenConfirm, _TCP_UP, _A.IGNORE),
    (_S.OpenConfirm, _E.ManualStop): (_A.STOP_WITH_CEASE, _S.Idle),
    (_S.OpenConfirm, _E.HoldTimer_Expires): (_A.SEND_HOLD_TIMER_EXPIRED, _S.Idle),
    (_S.OpenConfirm, _E.KeepaliveTimer_Expires): (_A.SEND_KEEPALIVE, _S.OpenConfirm),
    (_S.OpenConfirm, _E.TcpConnectionFails): (_A.DROP, _S.Idle),
    **{(_S.OpenConfirm, e): (_A.SEND_ERROR_NOTIFICATION, _S.Idle) for e in _MESSAGE_ERRORS},
    (_S.OpenConfirm, _E.OpenCollisionDump): (_A.COLLISION_DUMP, _S.Idle),
    (_S.OpenConfirm, _E.NotifMsgVerErr): (_A.PEER_NOTIFICATION, _S.Idle),
    (_S.OpenConfirm, _E.NotifMsg): (_A.PEER_NOTIFICATION, _S.Idle),
    (_S.OpenConfirm, _E.KeepAliveMsg): (_A.ESTABLISH, _S.Established),
    # ---- Established ----
    **_same(_S.Established, _STARTS, _A.IGNORE),
    # A connection arriving for an Established peer loses the collision (§6.8); the shell
    # refuses it without disturbing this one.
    **_same(_S.Established, _TCP_UP, _A.IGNORE),
    (_S.Established, _E.ManualStop): (_A.STOP_WITH_CEASE, _S.Idle),
    (_S.Established, _E.HoldTimer_Expires): (_A.SEND_HOLD_TIMER_EXPIRED, _S.Idle),
    (_S.Established, _E.KeepaliveTimer_Expires): (_A.SEND_KEEPALIVE, _S.Established),
    (_S.Established, _E.TcpConnectionFails): (_A.DROP, _S.Idle),
    **{(_S.Established, e): (_A.SEND_ERROR_NOTIFICATION, _S.Idle) for e in _MESSAGE_ERRORS},
    (_S.Established, _E.OpenCollisionDump): (_A.COLLISION_DUMP, _S.Idle),
    (_S.Established, _E.NotifMsgVerErr): (_A.PEER_NOTIFICATION, _S.Idle),
    (_S.Established, _E.NotifMsg): (_A.PEER_NOTIFICATION, _S.Idle),
    (_S.Established, _E.KeepAliveMsg): (_A.RESTART_HOLD_TIMER, _S.Established),
    (_S.Established, _E.UpdateMsg): (_A.PROCESS_UPDATE, _S.Established),
    (_S.Established, _E.RouteRefreshMsg): (_A.PROCESS_ROUTE_REFRESH, _S.Established),
}

# "In response to any other event" (RFC 4271 §8.2.2, last paragraph of each state).
OTHER_EVENTS: dict[State, Transition] = {
    # "Any other event ... received in the Idle state does not cause change in the state."
    State.Idle: (Action.IGNORE, State.Idle),
    State.Connect: (Action.DROP, State.Idle),
    State.Active: (Action.DROP, State.Idle),
    State.OpenSent: (Action.SEND_FSM_ERROR, State.Idle),
    State.OpenConfirm: (Action.SEND_FSM_ERROR, State.Idle),
    State.Established: (Action.SEND_FSM_ERROR, State.Idle),
}


def transition(state: State, event: Event) -> Transition:
    """The action to take and the state to move to when `event` happens in `state`."""
    return TRANSITIONS.get((state, event), OTHER_EVENTS[state])


def expects(state: State, event: Event) -> bool:
    """Whether `state` has a rule of its own for `event`: for a received message, whether the
    message is expected there; any other is unexpected (RFC 6608 §4) and not worth decoding."""
    return (state, event) in TRANSITIONS


# RFC 6608 §3: the FSM Error subcode names the state in which the unexpected message arrived.
FSM_ERROR_SUBCODE: dict[State, FsmErrorSubcode] = {
    State.OpenSent: FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENSENT,
    State.OpenConfirm: FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENCONFIRM,
    State.Established: FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_ESTABLISHED,
}


def event_for_error(code: int) -> Event:
    """The FSM event a decoding error raises (RFC 4271 §8.1.5)."""
    if code == ErrorCode.MESSAGE_HEADER_ERROR:
        return Event.BGPHeaderErr
    if code == ErrorCode.OPEN_MESSAGE_ERROR:
        return Event.BGPOpenMsgErr
    # UPDATE errors, and the few other message errors (a malformed ROUTE-REFRESH, RFC 7313
    # §5), all end the session with their NOTIFICATION: UpdateMsgErr does exactly that.
    return Event.UpdateMsgErr
