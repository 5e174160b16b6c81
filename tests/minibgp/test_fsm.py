"""The transition table against RFC 4271 §8.2.2, state by state.

Each row is (state, event, action, next state) as the RFC's text for that state says; the
comment quotes or summarises the rule. How each action behaves is tested in test_connection.py.
"""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from minibgp.connection import Connection
from minibgp.fsm import (
    FSM_ERROR_SUBCODE,
    OTHER_EVENTS,
    TRANSITIONS,
    Action,
    Event,
    State,
    event_for_error,
    transition,
)
from minibgp.settings import SessionSettings
from minibgp.wire.errors import ErrorCode, FsmErrorSubcode

S, E, A = State, Event, Action

RFC_4271_TRANSITIONS = [
    # Idle: "initiates a TCP connection ... changes its state to Connect" (Events 1, 3)
    (S.Idle, E.ManualStart, A.INITIATE_CONNECTION, S.Connect),
    (S.Idle, E.AutomaticStart, A.INITIATE_CONNECTION, S.Connect),
    # Idle: "listens for a connection ... changes its state to Active" (Events 4, 5)
    (S.Idle, E.ManualStart_with_PassiveTcpEstablishment, A.LISTEN, S.Active),
    (S.Idle, E.AutomaticStart_with_PassiveTcpEstablishment, A.LISTEN, S.Active),
    # Idle: "The ManualStop event ... [is] ignored in the Idle state."
    (S.Idle, E.ManualStop, A.CANCEL_RESTART, S.Idle),
    # Idle: "Any other event ... does not cause change in the state"; connections are refused.
    (S.Idle, E.HoldTimer_Expires, A.IGNORE, S.Idle),
    (S.Idle, E.TcpConnectionFails, A.IGNORE, S.Idle),
    (S.Idle, E.BGPOpen, A.IGNORE, S.Idle),
    (S.Idle, E.UpdateMsg, A.IGNORE, S.Idle),
    (S.Idle, E.TcpConnectionConfirmed, A.REFUSE_CONNECTION, S.Idle),
    # Connect: start events are ignored.
    (S.Connect, E.ManualStart, A.IGNORE, S.Connect),
    (S.Connect, E.AutomaticStart, A.IGNORE, S.Connect),
    # Connect, ManualStop: "drops the TCP connection ... changes its state to Idle"
    (S.Connect, E.ManualStop, A.STOP, S.Idle),
    # Connect, ConnectRetryTimer_Expires: "drops the TCP connection, restarts the
    # ConnectRetryTimer, ... initiates a TCP connection ... stays in the Connect state"
    (S.Connect, E.ConnectRetryTimer_Expires, A.RETRY_CONNECTION, S.Connect),
    # Connect, Events 16/17 without DelayOpen: "sends an OPEN message ... OpenSent"
    (S.Connect, E.Tcp_CR_Acked, A.SEND_OPEN, S.OpenSent),
    (S.Connect, E.TcpConnectionConfirmed, A.SEND_OPEN, S.OpenSent),
    # Connect, TcpConnectionFails without DelayOpen: "changes its state to Idle"
    (S.Connect, E.TcpConnectionFails, A.DROP, S.Idle),
    # Connect, any other event: "changes its state to Idle"
    (S.Connect, E.HoldTimer_Expires, A.DROP, S.Idle),
    (S.Connect, E.NotifMsg, A.DROP, S.Idle),
    (S.Connect, E.UpdateMsg, A.DROP, S.Idle),
    # Active
    (S.Active, E.ManualStart_with_PassiveTcpEstablishment, A.IGNORE, S.Active),
    (S.Active, E.ManualStop, A.STOP, S.Idle),
    # Active, ConnectRetryTimer_Expires: "initiates a TCP connection ... Connect"
    (S.Active, E.ConnectRetryTimer_Expires, A.INITIATE_CONNECTION, S.Connect),
    (S.Active, E.Tcp_CR_Acked, A.SEND_OPEN, S.OpenSent),
    (S.Active, E.TcpConnectionConfirmed, A.SEND_OPEN, S.OpenSent),
    (S.Active, E.TcpConnectionFails, A.DROP, S.Idle),
    (S.Active, E.KeepAliveMsg, A.DROP, S.Idle),
    # OpenSent
    (S.OpenSent, E.ManualStart, A.IGNORE, S.OpenSent),
    # ManualStop: "sends the NOTIFICATION with a Cease ... Idle"
    (S.OpenSent, E.ManualStop, A.STOP_WITH_CEASE, S.Idle),
    # HoldTimer_Expires: "sends a NOTIFICATION message with the error code Hold Timer Expired"
    (S.OpenSent, E.HoldTimer_Expires, A.SEND_HOLD_TIMER_EXPIRED, S.Idle),
    # TcpConnectionFails: "restarts the ConnectRetryTimer, continues to listen ... Active"
    (S.OpenSent, E.TcpConnectionFails, A.CONNECTION_LOST, S.Active),
    # BGPOpen: "sends a KEEPALIVE message ... changes its state to OpenConfirm"
    (S.OpenSent, E.BGPOpen, A.ACCEPT_OPEN, S.OpenConfirm),
    # BGPHeaderErr / BGPOpenMsgErr: "sends a NOTIFICATION message with the appropriate error"
    (S.OpenSent, E.BGPHeaderErr, A.SEND_ERROR_NOTIFICATION, S.Idle),
    (S.OpenSent, E.BGPOpenMsgErr, A.SEND_ERROR_NOTIFICATION, S.Idle),
    (S.OpenSent, E.OpenCollisionDump, A.COLLISION_DUMP, S.Idle),
    (S.OpenSent, E.NotifMsgVerErr, A.PEER_NOTIFICATION, S.Idle),
    # any other event: "sends the NOTIFICATION with the Error Code Finite State Machine Error"
    (S.OpenSent, E.KeepAliveMsg, A.SEND_FSM_ERROR, S.Idle),
    (S.OpenSent, E.UpdateMsg, A.SEND_FSM_ERROR, S.Idle),
    (S.OpenSent, E.RouteRefreshMsg, A.SEND_FSM_ERROR, S.Idle),
    (S.OpenSent, E.ConnectRetryTimer_Expires, A.SEND_FSM_ERROR, S.Idle),
    (S.OpenSent, E.KeepaliveTimer_Expires, A.SEND_FSM_ERROR, S.Idle),
    # OpenConfirm
    (S.OpenConfirm, E.ManualStop, A.STOP_WITH_CEASE, S.Idle),
    (S.OpenConfirm, E.HoldTimer_Expires, A.SEND_HOLD_TIMER_EXPIRED, S.Idle),
    # KeepaliveTimer_Expires: "sends a KEEPALIVE message, restarts the KeepaliveTimer"
    (S.OpenConfirm, E.KeepaliveTimer_Expires, A.SEND_KEEPALIVE, S.OpenConfirm),
    (S.OpenConfirm, E.TcpConnectionFails, A.DROP, S.Idle),
    (S.OpenConfirm, E.NotifMsgVerErr, A.PEER_NOTIFICATION, S.Idle),
    (S.OpenConfirm, E.NotifMsg, A.PEER_NOTIFICATION, S.Idle),
    (S.OpenConfirm, E.BGPHeaderErr, A.SEND_ERROR_NOTIFICATION, S.Idle),
    (S.OpenConfirm, E.BGPOpenMsgErr, A.SEND_ERROR_NOTIFICATION, S.Idle),
    (S.OpenConfirm, E.OpenCollisionDump, A.COLLISION_DUMP, S.Idle),
    # KeepAliveMsg: "restarts the HoldTimer and changes its state to Established"
    (S.OpenConfirm, E.KeepAliveMsg, A.ESTABLISH, S.Established),
    (S.OpenConfirm, E.UpdateMsg, A.SEND_FSM_ERROR, S.Idle),
    (S.OpenConfirm, E.BGPOpen, A.SEND_FSM_ERROR, S.Idle),
    (S.OpenConfirm, E.ConnectRetryTimer_Expires, A.SEND_FSM_ERROR, S.Idle),
    # Established
    (S.Established, E.ManualStart, A.IGNORE, S.Established),
    (S.Established, E.ManualStop, A.STOP_WITH_CEASE, S.Idle),
    (S.Established, E.HoldTimer_Expires, A.SEND_HOLD_TIMER_EXPIRED, S.Idle),
    (S.Established, E.KeepaliveTimer_Expires, A.SEND_KEEPALIVE, S.Established),
    (S.Established, E.TcpConnectionFails, A.DROP, S.Idle),
    # KeepAliveMsg: "restarts its HoldTimer"; UpdateMsg: "processes the message, restarts
    # its HoldTimer"
    (S.Established, E.KeepAliveMsg, A.RESTART_HOLD_TIMER, S.Established),
    (S.Established, E.UpdateMsg, A.PROCESS_UPDATE, S.Established),
    (S.Established, E.RouteRefreshMsg, A.PROCESS_ROUTE_REFRESH, S.Established),
    # UpdateMsgErr: "sends a NOTIFICATION message with an Update error"
    (S.Established, E.UpdateMsgErr, A.SEND_ERROR_NOTIFICATION, S.Idle),
    (S.Established, E.BGPHeaderErr, A.SEND_ERROR_NOTIFICATION, S.Idle),
    (S.Established, E.NotifMsgVerErr, A.PEER_NOTIFICATION, S.Idle),
    (S.Established, E.NotifMsg, A.PEER_NOTIFICATION, S.Idle),
    (S.Established, E.OpenCollisionDump, A.COLLISION_DUMP, S.Idle),
    # any other event: "sends a NOTIFICATION message with the Error Code Finite State
    # Machine Error"
    (S.Established, E.BGPOpen, A.SEND_FSM_ERROR, S.Idle),
    (S.Established, E.ConnectRetryTimer_Expires, A.SEND_FSM_ERROR, S.Idle),
]


@pytest.mark.parametrize(("state", "event", "action", "next_state"), RFC_4271_TRANSITIONS)
def test_transition_follows_rfc_4271(
    state: State, event: Event, action: Action, next_state: State
) -> None:
    assert transition(state, event) == (action, next_state)


def test_event_numbers_are_rfc_4271s() -> None:
    assert E.ManualStart.value == 1
    assert E.ManualStop.value == 2
    assert E.ManualStart_with_PassiveTcpEstablishment.value == 4
    assert E.ConnectRetryTimer_Expires.value == 9
    assert E.HoldTimer_Expires.value == 10
    assert E.KeepaliveTimer_Expires.value == 11
    assert E.Tcp_CR_Acked.value == 16
    assert E.TcpConnectionConfirmed.value == 17
    assert E.TcpConnectionFails.value == 18
    assert E.BGPOpen.value == 19
    assert E.NotifMsg.value == 25
    assert E.KeepAliveMsg.value == 26
    assert E.UpdateMsg.value == 27
    assert E.UpdateMsgErr.value == 28


def test_every_state_and_event_has_a_transition() -> None:
    for state in State:
        for event in Event:
            action, next_state = transition(state, event)
            assert isinstance(action, Action)
            assert isinstance(next_state, State)


def test_only_a_keepalive_in_openconfirm_reaches_established() -> None:
    into_established = [
        (state, event)
        for (state, event), (_, next_state) in TRANSITIONS.items()
        if next_state is State.Established and state is not State.Established
    ]
    assert into_established == [(State.OpenConfirm, Event.KeepAliveMsg)]


def test_an_established_session_leaves_only_for_idle() -> None:
    leaving = {
        next_state
        for (state, _), (_, next_state) in TRANSITIONS.items()
        if state is State.Established and next_state is not State.Established
    }
    assert leaving == {State.Idle}
    assert OTHER_EVENTS[State.Established] == (Action.SEND_FSM_ERROR, State.Idle)


def test_unexpected_messages_get_rfc_6608_subcodes() -> None:
    assert FSM_ERROR_SUBCODE[State.OpenSent] == FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENSENT
    assert FSM_ERROR_SUBCODE[State.OpenConfirm] == FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENCONFIRM
    assert FSM_ERROR_SUBCODE[State.Established] == FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_ESTABLISHED


@pytest.mark.parametrize(
    ("code", "event"),
    [
        (ErrorCode.MESSAGE_HEADER_ERROR, Event.BGPHeaderErr),
        (ErrorCode.OPEN_MESSAGE_ERROR, Event.BGPOpenMsgErr),
        (ErrorCode.UPDATE_MESSAGE_ERROR, Event.UpdateMsgErr),
        (ErrorCode.ROUTE_REFRESH_MESSAGE_ERROR, Event.UpdateMsgErr),
    ],
)
def test_decoding_errors_map_to_rfc_events(code: ErrorCode, event: Event) -> None:
    assert event_for_error(code) is event


def test_the_connection_implements_every_action_of_the_table() -> None:
    settings = SessionSettings(64520, IPv4Address("192.168.57.100"), IPv4Address("192.168.57.10"))
    connection = Connection(settings)
    used = {action for action, _ in TRANSITIONS.values()} | {a for a, _ in OTHER_EVENTS.values()}
    assert used <= set(connection._actions)
