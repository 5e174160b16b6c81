"""One Connection driven by hand: a fake clock, the peer's messages as bytes, and what comes out.

The peer is played by the tests with minibgp's own codec; every assertion is about what a peer
or an operator would see: the bytes sent (decoded), the state, the events, the next timer.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_network

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from minibgp import events as ev
from minibgp.adj_rib_out import Route
from minibgp.connection import Connection
from minibgp.fsm import State
from minibgp.settings import SessionSettings
from minibgp.wire.attributes.as_path import AsPath
from minibgp.wire.attributes.next_hop import NextHop
from minibgp.wire.attributes.origin import Origin
from minibgp.wire.capabilities import (
    AS_TRANS,
    Capability,
    FourOctetAS,
    Multiprotocol,
    RouteRefreshCapability,
    UnknownCapability,
)
from minibgp.wire.context import CodecContext
from minibgp.wire.errors import (
    CeaseSubcode,
    ErrorCode,
    FsmErrorSubcode,
    HeaderErrorSubcode,
    OpenErrorSubcode,
    UpdateErrorSubcode,
)
from minibgp.wire.header import MessageReader
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
from minibgp.wire.nlri import AFI, IPV4_UNICAST, IPV6_UNICAST, SAFI

ROUTER_AS = 4290001234
SERVER_AS = 64520
CTX = CodecContext(four_octet_as=True)


def settings(**changes: object) -> SessionSettings:
    values: dict[str, object] = {
        "local_as": SERVER_AS,
        "router_id": "192.168.57.100",
        "peer_address": "192.168.57.10",
        "peer_as": ROUTER_AS,
        "hold_time": 90,
        "connect_retry_time": 5.0,
        "max_connect_retry_time": 120.0,
    }
    values.update(changes)
    return SessionSettings(**values)  # type: ignore[arg-type]


def router_open(
    asn: int = ROUTER_AS,
    hold_time: int = 90,
    identifier: str = "192.168.57.10",
    capabilities: list[Capability] | None = None,
) -> bytes:
    if capabilities is None:
        capabilities = [
            Multiprotocol(AFI.IPV4, SAFI.UNICAST),
            Multiprotocol(AFI.IPV6, SAFI.UNICAST),
            RouteRefreshCapability(),
            FourOctetAS(asn),
        ]
    return encode_message(Open(asn, hold_time, IPv4Address(identifier), capabilities), CTX)


KEEPALIVE = encode_message(Keepalive(), CTX)


def sent(connection: Connection) -> list[Message]:
    """Decode what the connection wants to send."""
    reader = MessageReader()
    reader.feed(connection.data_to_send())
    return [decode_message(t, body, CTX) for t, body in reader]


def events(connection: Connection) -> list[ev.ConnectionEvent]:
    out = []
    while (event := connection.next_event()) is not None:
        out.append(event)
    return out


def notification_sent(connection: Connection) -> Notification:
    notifications = [m for m in sent(connection) if isinstance(m, Notification)]
    assert len(notifications) == 1
    return notifications[0]


def in_open_sent(now: float = 0.0, **changes: object) -> Connection:
    connection = Connection(settings(**changes))
    connection.start(now=now)
    connection.tcp_connected(local_address="192.168.57.100", now=now)
    sent(connection)
    events(connection)
    return connection


def in_open_confirm(
    now: float = 0.0, peer_open: bytes | None = None, **changes: object
) -> Connection:
    connection = in_open_sent(now, **changes)
    connection.receive_data(router_open() if peer_open is None else peer_open, now=now)
    assert connection.state is State.OpenConfirm
    sent(connection)
    events(connection)
    return connection


def established(now: float = 0.0, peer_open: bytes | None = None, **changes: object) -> Connection:
    connection = in_open_confirm(now, peer_open, **changes)
    connection.receive_data(KEEPALIVE, now=now)
    assert connection.state is State.Established
    sent(connection)
    events(connection)
    return connection


# --- starting and connecting --------------------------------------------------------------


def test_start_asks_for_a_tcp_connection_and_arms_the_connect_retry_timer() -> None:
    connection = Connection(settings())
    connection.start(now=100.0)
    assert connection.state is State.Connect
    assert ev.ConnectRequested() in events(connection)
    assert connection.get_timer() == 105.0


def test_passive_start_waits_without_any_timer() -> None:
    connection = Connection(settings(passive=True))
    connection.start(now=0.0)
    assert connection.state is State.Active
    assert not any(isinstance(e, ev.ConnectRequested) for e in events(connection))
    assert connection.get_timer() is None


def test_connect_retry_timer_retries_the_connection() -> None:
    connection = Connection(settings())
    connection.start(now=0.0)
    events(connection)
    connection.handle_timer(now=5.0)
    assert connection.state is State.Connect
    assert events(connection) == [ev.CloseRequested(), ev.ConnectRequested()]
    assert connection.get_timer() == 10.0


def test_tcp_up_sends_our_open() -> None:
    connection = Connection(settings())
    connection.start(now=0.0)
    connection.tcp_connected(now=1.0)
    assert connection.state is State.OpenSent
    [our_open] = sent(connection)
    assert isinstance(our_open, Open)
    assert (our_open.my_as, our_open.hold_time) == (SERVER_AS, 90)
    assert our_open.bgp_identifier == IPv4Address("192.168.57.100")
    capabilities = set(our_open.capabilities)
    assert Multiprotocol(AFI.IPV4, SAFI.UNICAST) in capabilities
    assert Multiprotocol(AFI.IPV6, SAFI.UNICAST) in capabilities
    assert RouteRefreshCapability() in capabilities
    assert FourOctetAS(SERVER_AS) in capabilities
    assert all(c.capability_code() != 64 for c in capabilities)  # no Graceful Restart
    # RFC 4271 §8.2.2: the HoldTimer waits "a large value" (4 minutes) for the peer's OPEN.
    assert connection.get_timer() == 241.0


def test_a_4_octet_as_is_sent_as_as_trans_in_my_as() -> None:
    connection = Connection(settings(local_as=ROUTER_AS, peer_as=SERVER_AS))
    connection.start(now=0.0)
    connection.tcp_connected(now=0.0)
    data = connection.data_to_send()
    assert int.from_bytes(data[20:22], "big") == AS_TRANS  # RFC 6793 §4.1
    reader = MessageReader()
    reader.feed(data)
    [(_, body)] = list(reader)
    assert FourOctetAS(ROUTER_AS) in Open.decode_body(body).capabilities


def test_tcp_failure_waits_then_restarts_by_itself() -> None:
    connection = Connection(settings())
    connection.start(now=0.0)
    events(connection)
    connection.tcp_failed(now=1.0)
    assert connection.state is State.Idle
    assert ev.CloseRequested() in events(connection)
    assert connection.get_timer() == 6.0
    connection.handle_timer(now=6.0)
    assert connection.state is State.Connect
    assert ev.ConnectRequested() in events(connection)


def fail_repeatedly(connection: Connection, now: float, times: int) -> tuple[float, list[float]]:
    """Refuse `times` connection attempts at once; the gaps between attempts, and the time."""
    gaps = []
    for _ in range(times):
        connection.tcp_failed(now=now)
        restart_at = connection.get_timer()
        assert restart_at is not None
        gaps.append(restart_at - now)
        now = restart_at
        connection.handle_timer(now=now)
        assert ev.ConnectRequested() in events(connection)
    return now, gaps


def test_back_off_doubles_up_to_the_maximum() -> None:
    connection = Connection(settings())
    connection.start(now=0.0)
    _, gaps = fail_repeatedly(connection, 0.0, 8)
    assert gaps == [5.0, 10.0, 20.0, 40.0, 80.0, 120.0, 120.0, 120.0]


def test_back_off_goes_on_for_a_peer_that_drops_the_session_at_once() -> None:
    connection = Connection(settings())
    connection.start(now=0.0)
    now, _ = fail_repeatedly(connection, 0.0, 3)
    connection.tcp_connected(now=now)
    connection.receive_data(router_open() + KEEPALIVE, now=now)
    assert connection.state is State.Established
    connection.tcp_closed(now=now + 1)
    assert connection.get_timer() == now + 1 + 40.0


def test_back_off_starts_afresh_after_a_stable_session() -> None:
    connection = Connection(settings())
    connection.start(now=0.0)
    now, _ = fail_repeatedly(connection, 0.0, 5)
    connection.tcp_connected(now=now)
    connection.receive_data(router_open() + KEEPALIVE, now=now)
    connection.receive_data(KEEPALIVE, now=now + 60)
    connection.receive_data(KEEPALIVE, now=now + 120)
    connection.tcp_closed(now=now + 121)
    assert connection.get_timer() == now + 121 + 5.0


def test_start_by_hand_forgets_the_back_off() -> None:
    connection = Connection(settings())
    connection.start(now=0.0)
    now, _ = fail_repeatedly(connection, 0.0, 5)
    connection.stop(now=now)
    connection.start(now=now)
    connection.tcp_failed(now=now)
    assert connection.get_timer() == now + 5.0


def test_idle_refuses_a_connection_when_not_started() -> None:
    connection = Connection(settings())
    connection.tcp_connected(inbound=True, now=0.0)
    assert connection.state is State.Idle
    assert events(connection) == [ev.CloseRequested()]
    assert connection.data_to_send() == b""


def test_a_peer_connecting_during_the_back_off_is_accepted() -> None:
    connection = Connection(settings())
    connection.start(now=0.0)
    connection.tcp_failed(now=0.0)
    events(connection)
    connection.tcp_connected(inbound=True, now=2.0)
    assert connection.state is State.OpenSent
    assert isinstance(sent(connection)[0], Open)


def test_stop_in_idle_cancels_the_automatic_restart() -> None:
    connection = Connection(settings())
    connection.start(now=0.0)
    connection.tcp_failed(now=0.0)
    connection.stop(now=1.0)
    assert connection.get_timer() is None
    assert connection.state is State.Idle


# --- OpenSent ------------------------------------------------------------------------------


def test_open_sent_accepts_the_open_and_answers_with_keepalive() -> None:
    connection = in_open_sent()
    connection.receive_data(router_open(), now=1.0)
    assert connection.state is State.OpenConfirm
    assert sent(connection) == [Keepalive()]
    negotiated = connection.negotiated
    assert negotiated is not None
    assert negotiated.peer_as == ROUTER_AS
    assert negotiated.four_octet_as
    assert negotiated.families == {IPV4_UNICAST, IPV6_UNICAST}
    assert connection.negotiated_hold_time == 90
    assert connection.get_timer() == 31.0  # KEEPALIVE every hold/3 (RFC 4271 §10)


def test_open_sent_tcp_loss_goes_to_active_and_reconnects() -> None:
    connection = in_open_sent()
    connection.tcp_closed(now=1.0)
    assert connection.state is State.Active
    assert ev.CloseRequested() in events(connection)
    connection.handle_timer(now=6.0)
    assert connection.state is State.Connect
    assert ev.ConnectRequested() in events(connection)


def test_open_sent_hold_timer_expiry_sends_hold_timer_expired() -> None:
    connection = in_open_sent()
    connection.handle_timer(now=240.0)
    assert connection.state is State.Idle
    assert notification_sent(connection).code == ErrorCode.HOLD_TIMER_EXPIRED


@pytest.mark.parametrize(
    ("message", "state_subcode"),
    [
        (KEEPALIVE, FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENSENT),
        (encode_message(Update(), CTX), FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENSENT),
        (
            encode_message(RouteRefresh(AFI.IPV4, SAFI.UNICAST), CTX),
            FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENSENT,
        ),
    ],
)
def test_unexpected_message_in_open_sent_is_an_fsm_error(
    message: bytes, state_subcode: FsmErrorSubcode
) -> None:
    connection = in_open_sent()
    connection.receive_data(message, now=1.0)
    assert connection.state is State.Idle
    notification = notification_sent(connection)
    assert (notification.code, notification.subcode) == (
        ErrorCode.FINITE_STATE_MACHINE_ERROR,
        state_subcode,
    )


def test_a_notification_in_open_sent_is_not_answered() -> None:
    connection = in_open_sent()
    cease = Notification(ErrorCode.CEASE, CeaseSubcode.CONNECTION_REJECTED)
    connection.receive_data(encode_message(cease, CTX), now=1.0)
    assert connection.state is State.Idle
    assert sent(connection) == []
    assert ev.NotificationReceived(cease) in events(connection)


# --- the OPEN's contents ---------------------------------------------------------------------


def test_wrong_peer_as_gets_bad_peer_as() -> None:
    connection = in_open_sent()
    connection.receive_data(router_open(asn=65001), now=1.0)
    assert connection.state is State.Idle
    notification = notification_sent(connection)
    assert (notification.code, notification.subcode) == (
        ErrorCode.OPEN_MESSAGE_ERROR,
        OpenErrorSubcode.BAD_PEER_AS,
    )
    assert "65001" in connection.last_error


def test_any_peer_as_is_accepted_when_none_is_expected() -> None:
    connection = in_open_sent(peer_as=None)
    connection.receive_data(router_open(asn=65001), now=1.0)
    assert connection.state is State.OpenConfirm


@pytest.mark.parametrize(
    ("ours", "theirs", "negotiated"), [(90, 0, 0), (90, 3, 3), (90, 90, 90), (30, 180, 30)]
)
def test_hold_time_is_the_smaller_of_both(ours: int, theirs: int, negotiated: int) -> None:
    connection = established(peer_open=router_open(hold_time=theirs), hold_time=ours)
    assert connection.negotiated_hold_time == negotiated
    if negotiated == 0:
        # RFC 4271 §4.4: no KEEPALIVEs and no HoldTimer at all.
        assert connection.get_timer() is None
    else:
        assert connection.get_timer() == negotiated / 3


@pytest.mark.parametrize("hold_time", [1, 2])
def test_a_hold_time_of_one_or_two_seconds_is_refused(hold_time: int) -> None:
    connection = in_open_sent()
    connection.receive_data(router_open(hold_time=hold_time), now=1.0)
    notification = notification_sent(connection)
    assert (notification.code, notification.subcode) == (
        ErrorCode.OPEN_MESSAGE_ERROR,
        OpenErrorSubcode.UNACCEPTABLE_HOLD_TIME,
    )


@pytest.mark.parametrize("hold_time", [1, 2, -1, 65536])
def test_our_hold_time_must_be_zero_or_at_least_three(hold_time: int) -> None:
    with pytest.raises(ValueError, match="hold time"):
        settings(hold_time=hold_time)


def test_an_internal_peer_with_our_identifier_gets_bad_bgp_identifier() -> None:
    connection = in_open_sent(peer_as=SERVER_AS)
    connection.receive_data(router_open(asn=SERVER_AS, identifier="192.168.57.100"), now=1.0)
    notification = notification_sent(connection)
    assert (notification.code, notification.subcode) == (
        ErrorCode.OPEN_MESSAGE_ERROR,
        OpenErrorSubcode.BAD_BGP_IDENTIFIER,
    )


def test_unknown_capabilities_are_ignored() -> None:
    capabilities: list[Capability] = [
        Multiprotocol(AFI.IPV4, SAFI.UNICAST),
        UnknownCapability(64, b"\x00\x78"),  # Graceful Restart, which we do not implement
        UnknownCapability(73, b"\x06router"),  # FQDN
        FourOctetAS(ROUTER_AS),
    ]
    connection = in_open_sent()
    connection.receive_data(router_open(capabilities=capabilities), now=1.0)
    assert connection.state is State.OpenConfirm
    negotiated = connection.negotiated
    assert negotiated is not None
    assert negotiated.families == {IPV4_UNICAST}  # the peer did not offer IPv6
    assert not negotiated.route_refresh


def test_a_peer_without_multiprotocol_capabilities_speaks_ipv4_unicast() -> None:
    connection = in_open_sent()
    connection.receive_data(router_open(capabilities=[FourOctetAS(ROUTER_AS)]), now=1.0)
    negotiated = connection.negotiated
    assert negotiated is not None
    assert negotiated.families == {IPV4_UNICAST}


def test_a_two_octet_peer_gets_two_octet_as_paths() -> None:
    # An OPEN from a peer that does not offer 4-octet AS numbers, built by hand because
    # minibgp's own OPEN always offers them: version 4, AS 65001, hold 90, id 10.0.0.1,
    # one Capabilities parameter holding Multiprotocol IPv4 unicast.
    body = bytes.fromhex("04fde9005a0a000001080206010400010001")
    old_peer_open = b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x01" + body
    connection = established(peer_open=old_peer_open, peer_as=65001)
    negotiated = connection.negotiated
    assert negotiated is not None
    assert not negotiated.four_octet_as
    connection.announce([Route("169.254.0.1/32")], now=1.0)
    reader = MessageReader()
    reader.feed(connection.data_to_send())
    [(msg_type, body)] = list(reader)
    update = decode_message(msg_type, body, CodecContext(four_octet_as=False))
    assert isinstance(update, Update)
    as_path = next(a for a in update.attributes if isinstance(a, AsPath))
    assert as_path.asns == [SERVER_AS]


# --- OpenConfirm -----------------------------------------------------------------------------


def test_keepalive_in_open_confirm_establishes_and_sends_routes_then_end_of_rib() -> None:
    connection = in_open_confirm()
    connection.announce([Route("169.254.0.1/32"), Route("2001:db8::53/128")], now=1.0)
    assert connection.data_to_send() == b""  # nothing before Established
    connection.receive_data(KEEPALIVE, now=2.0)
    assert connection.state is State.Established
    assert connection.uptime(now=12.0) == 10.0
    happened = events(connection)
    assert ev.StateChanged(State.OpenConfirm, State.Established) in happened
    assert any(isinstance(e, ev.SessionEstablished) for e in happened)
    updates = [m for m in sent(connection) if isinstance(m, Update)]
    assert [u.is_end_of_rib() for u in updates] == [None, None, IPV4_UNICAST, IPV6_UNICAST]
    announced = [prefix for u in updates for (_, _, prefix) in u.announced()]
    assert announced == [ip_network("169.254.0.1/32"), ip_network("2001:db8::53/128")]


def test_update_in_open_confirm_is_an_fsm_error() -> None:
    connection = in_open_confirm()
    connection.receive_data(encode_message(Update(), CTX), now=1.0)
    notification = notification_sent(connection)
    assert (notification.code, notification.subcode) == (
        ErrorCode.FINITE_STATE_MACHINE_ERROR,
        FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_OPENCONFIRM,
    )


def test_open_confirm_sends_keepalives_while_waiting() -> None:
    connection = in_open_confirm()
    connection.handle_timer(now=30.0)
    assert sent(connection) == [Keepalive()]
    assert connection.state is State.OpenConfirm


def test_losing_a_collision_sends_cease_and_does_not_restart() -> None:
    connection = in_open_confirm()
    connection.collision_lost(now=1.0)
    notification = notification_sent(connection)
    assert (notification.code, notification.subcode) == (
        ErrorCode.CEASE,
        CeaseSubcode.CONNECTION_COLLISION_RESOLUTION,
    )
    assert connection.state is State.Idle
    assert connection.get_timer() is None


# --- Established ---------------------------------------------------------------------------


def test_keepalives_go_out_every_third_of_the_hold_time() -> None:
    connection = established()
    for now in (30.0, 60.0):
        connection.receive_data(KEEPALIVE, now=now - 1)  # the peer keeps talking
        connection.handle_timer(now=now)
        assert sent(connection) == [Keepalive()]
    assert connection.state is State.Established


def test_a_silent_peer_hits_the_hold_timer() -> None:
    connection = established()
    now = 0.0
    while connection.state is State.Established:
        deadline = connection.get_timer()
        assert deadline is not None and deadline <= 90.0
        now = deadline
        connection.handle_timer(now=now)
    assert now == 90.0
    messages = sent(connection)
    assert messages[:-1] == [Keepalive(), Keepalive()]
    assert messages[-1] == Notification(ErrorCode.HOLD_TIMER_EXPIRED, 0)
    happened = events(connection)
    assert any(isinstance(e, ev.SessionEnded) for e in happened)
    assert ev.CloseRequested() in happened


def test_each_message_received_restarts_the_hold_timer() -> None:
    connection = established()
    connection.receive_data(KEEPALIVE, now=80.0)
    connection.handle_timer(now=90.0)
    assert connection.state is State.Established


def test_an_open_in_established_is_an_fsm_error() -> None:
    connection = established()
    connection.receive_data(router_open(), now=1.0)
    notification = notification_sent(connection)
    assert (notification.code, notification.subcode) == (
        ErrorCode.FINITE_STATE_MACHINE_ERROR,
        FsmErrorSubcode.UNEXPECTED_MESSAGE_IN_ESTABLISHED,
    )


def test_updates_are_passed_up() -> None:
    connection = established()
    update = Update(
        attributes=[Origin(), AsPath.sequence([ROUTER_AS]), NextHop(IPv4Address("192.168.57.10"))],
        nlri=[ip_network("192.168.60.0/24")],
    )
    connection.receive_data(encode_message(update, CTX), now=1.0)
    [received] = events(connection)
    assert isinstance(received, ev.UpdateReceived)
    assert received.update.announced() == [(1, 1, ip_network("192.168.60.0/24"))]


def test_end_of_rib_is_its_own_event() -> None:
    connection = established()
    connection.receive_data(encode_message(Update.end_of_rib(AFI.IPV6, SAFI.UNICAST), CTX), now=1.0)
    assert events(connection) == [ev.EndOfRibReceived(AFI.IPV6, SAFI.UNICAST)]


def test_treat_as_withdraw_is_passed_up_without_a_reset() -> None:
    connection = established()
    # ORIGIN with the undefined value 7: RFC 7606 §7.1 says treat-as-withdraw.
    attributes = bytes.fromhex("4001010740020600010000fde8400304c0a8390a")
    nlri = bytes.fromhex("18c0a83c")
    body = b"\x00\x00" + len(attributes).to_bytes(2, "big") + attributes + nlri
    connection.receive_data(
        b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body,
        now=1.0,
    )
    assert connection.state is State.Established
    [received] = events(connection)
    assert isinstance(received, ev.UpdateReceived)
    assert received.update.treat_as_withdraw
    assert sent(connection) == []


@pytest.mark.parametrize(
    ("data", "code", "subcode"),
    [
        # RFC 4271 §6.1: a Marker that is not all ones
        (b"\x00" * 16 + b"\x00\x13\x04", ErrorCode.MESSAGE_HEADER_ERROR,
         HeaderErrorSubcode.CONNECTION_NOT_SYNCHRONIZED),
        # a KEEPALIVE of 20 octets
        (b"\xff" * 16 + b"\x00\x14\x04\x00", ErrorCode.MESSAGE_HEADER_ERROR,
         HeaderErrorSubcode.BAD_MESSAGE_LENGTH),
        # message type 9
        (b"\xff" * 16 + b"\x00\x13\x09", ErrorCode.MESSAGE_HEADER_ERROR,
         HeaderErrorSubcode.BAD_MESSAGE_TYPE),
        # RFC 4271 §6.3: Withdrawn Routes Length running past the message
        (b"\xff" * 16 + b"\x00\x17\x02" + b"\x00\x10\x00\x00", ErrorCode.UPDATE_MESSAGE_ERROR,
         UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST),
    ],
)  # fmt: skip
def test_malformed_bytes_mid_session_get_the_right_notification(
    data: bytes, code: ErrorCode, subcode: int
) -> None:
    connection = established()
    connection.receive_data(data, now=1.0)
    assert connection.state is State.Idle
    notification = notification_sent(connection)
    assert (notification.code, notification.subcode) == (code, subcode)
    happened = events(connection)
    assert any(isinstance(e, ev.NotificationSent) for e in happened)
    assert any(isinstance(e, ev.SessionEnded) for e in happened)
    # The session comes back by itself after the back-off.
    assert connection.get_timer() == 6.0


def test_bytes_may_arrive_one_at_a_time() -> None:
    connection = in_open_sent()
    for byte in router_open() + KEEPALIVE:
        connection.receive_data(bytes((byte,)), now=1.0)
    assert connection.state is State.Established


def test_bytes_after_the_connection_closed_are_ignored() -> None:
    connection = established()
    connection.tcp_closed(now=1.0)
    events(connection)
    connection.receive_data(KEEPALIVE, now=1.5)
    assert connection.state is State.Idle
    assert events(connection) == []


def test_a_notification_from_the_peer_ends_the_session_quietly() -> None:
    connection = established()
    cease = Notification.cease(CeaseSubcode.ADMINISTRATIVE_RESET, "maintenance")
    connection.receive_data(encode_message(cease, CTX), now=1.0)
    assert connection.state is State.Idle
    assert sent(connection) == []
    happened = events(connection)
    assert ev.NotificationReceived(cease) in happened
    assert any(isinstance(e, ev.SessionEnded) for e in happened)


# --- advertising -----------------------------------------------------------------------------


def test_announce_sends_only_what_changed() -> None:
    connection = established()
    route = Route("169.254.0.1/32", communities=(64520 << 16 | 100,))
    connection.announce([route], now=1.0)
    assert len(sent(connection)) == 1
    connection.announce([route], now=2.0)
    assert sent(connection) == []
    connection.announce([Route("169.254.0.1/32", med=10)], now=3.0)
    [update] = sent(connection)
    assert isinstance(update, Update)
    assert update.announced() == [(1, 1, ip_network("169.254.0.1/32"))]
    connection.withdraw(["169.254.0.1/32"], now=4.0)
    [withdrawal] = sent(connection)
    assert isinstance(withdrawal, Update)
    assert withdrawal.withdrawn_prefixes() == [(1, 1, ip_network("169.254.0.1/32"))]
    connection.withdraw(["169.254.0.1/32"], now=5.0)
    assert sent(connection) == []


def test_sending_an_update_postpones_the_next_keepalive() -> None:
    connection = established()
    connection.announce([Route("169.254.0.1/32")], now=20.0)
    sent(connection)
    assert connection.get_timer() == 50.0


def test_replace_routes_sends_the_difference() -> None:
    connection = established()
    connection.announce([Route("169.254.0.1/32"), Route("169.254.0.2/32")], now=1.0)
    sent(connection)
    connection.replace_routes([Route("169.254.0.2/32"), Route("169.254.0.3/32")], now=2.0)
    updates = [m for m in sent(connection) if isinstance(m, Update)]
    assert [p for u in updates for (_, _, p) in u.withdrawn_prefixes()] == [
        ip_network("169.254.0.1/32")
    ]
    assert [p for u in updates for (_, _, p) in u.announced()] == [ip_network("169.254.0.3/32")]


def test_ipv6_route_over_ipv4_session_gets_a_mapped_next_hop() -> None:
    connection = established()
    connection.announce([Route("2001:db8::53/128")], now=1.0)
    [update] = sent(connection)
    assert isinstance(update, Update)
    assert update.mp_reach is not None
    assert update.mp_reach.next_hops == (IPv6Address("::ffff:192.168.57.100"),)


def test_route_refresh_resends_our_routes_of_that_family() -> None:
    connection = established()
    connection.announce([Route("169.254.0.1/32"), Route("2001:db8::53/128")], now=1.0)
    sent(connection)
    refresh = encode_message(RouteRefresh(AFI.IPV4, SAFI.UNICAST), CTX)
    connection.receive_data(refresh, now=2.0)
    [update] = sent(connection)
    assert isinstance(update, Update)
    assert update.announced() == [(1, 1, ip_network("169.254.0.1/32"))]
    assert events(connection) == [ev.RouteRefreshReceived(AFI.IPV4, SAFI.UNICAST)]


def test_route_refresh_for_a_family_not_negotiated_is_ignored() -> None:
    connection = established()
    connection.announce([Route("169.254.0.1/32")], now=1.0)
    sent(connection)
    refresh = encode_message(RouteRefresh(AFI.IPV4, SAFI.MULTICAST), CTX)
    connection.receive_data(refresh, now=2.0)
    assert sent(connection) == []
    assert connection.state is State.Established


def test_request_route_refresh_needs_the_peers_capability() -> None:
    connection = established()
    assert connection.request_route_refresh(AFI.IPV6, SAFI.UNICAST, now=1.0)
    assert sent(connection) == [RouteRefresh(AFI.IPV6, SAFI.UNICAST)]
    no_refresh = router_open(capabilities=[Multiprotocol(AFI.IPV4, SAFI.UNICAST)])
    without = established(peer_open=no_refresh)
    assert not without.request_route_refresh(AFI.IPV4, SAFI.UNICAST, now=1.0)
    assert sent(without) == []


# --- stopping --------------------------------------------------------------------------------


def test_stop_withdraws_then_sends_cease_administrative_shutdown() -> None:
    connection = established()
    connection.announce([Route("169.254.0.1/32"), Route("2001:db8::53/128")], now=1.0)
    sent(connection)
    connection.stop(message="server1 going down", now=2.0)
    messages = sent(connection)
    withdrawn = [
        p for m in messages if isinstance(m, Update) for (_, _, p) in m.withdrawn_prefixes()
    ]
    assert sorted(map(str, withdrawn)) == ["169.254.0.1/32", "2001:db8::53/128"]
    cease = messages[-1]
    assert isinstance(cease, Notification)
    assert (cease.code, cease.subcode) == (ErrorCode.CEASE, CeaseSubcode.ADMINISTRATIVE_SHUTDOWN)
    assert cease.shutdown_message == "server1 going down"
    assert connection.state is State.Idle
    assert connection.get_timer() is None  # stays down
    assert connection.routes  # kept for the next start


def test_stop_before_the_open_exchange_sends_nothing() -> None:
    connection = Connection(settings())
    connection.start(now=0.0)
    events(connection)
    connection.stop(now=1.0)
    assert connection.data_to_send() == b""
    assert events(connection) == [ev.CloseRequested(), ev.StateChanged(State.Connect, State.Idle)]


# --- what show neighbors reads ---------------------------------------------------------------


def test_message_counters_and_trace_events() -> None:
    connection = established(trace=True)
    assert connection.messages_sent == {"OPEN": 1, "KEEPALIVE": 1, "UPDATE": 2}
    assert connection.messages_received == {"OPEN": 1, "KEEPALIVE": 1}
    connection.receive_data(KEEPALIVE, now=1.0)
    connection.handle_timer(now=30.0)
    traced = [(type(e), e.octets) for e in events(connection)]  # type: ignore[attr-defined]
    assert traced == [(ev.MessageReceived, KEEPALIVE), (ev.MessageSent, KEEPALIVE)]


# An UPDATE from the router (AS 4290001234, external) with a LOCAL_PREF, which RFC 7606 §7.5
# has us discard: 54 octets on the wire, 47 once decoded and re-encoded.
UPDATE_WITH_LOCAL_PREF = bytes.fromhex(
    "ffffffffffffffffffffffffffffffff 0036 02 0000 001b"
    "40010100 40020602 01fdb5f2d2 400304c0a8390a 40050400000064"
    "18 0a3901"
)


def test_trace_gives_the_octets_as_they_arrived_before_decoding() -> None:
    connection = established(trace=True)
    connection.receive_data(UPDATE_WITH_LOCAL_PREF, now=1.0)
    received = [e for e in events(connection) if isinstance(e, ev.MessageReceived)]
    assert [e.octets for e in received] == [UPDATE_WITH_LOCAL_PREF]
    assert received[0].codec.four_octet_as and received[0].codec.external
    assert connection.state is State.Established


@pytest.mark.parametrize(
    "message",
    [
        router_open(),  # unexpected in Established: FSM Error
        b"\xfe" * 16 + bytes.fromhex("0013 04"),  # a bad Marker
        bytes.fromhex("ffffffffffffffffffffffffffffffff 0017 02 0000 00ff"),  # lengths overrun
    ],
)
def test_trace_gives_unexpected_and_malformed_messages_too(message: bytes) -> None:
    connection = established(trace=True)
    connection.receive_data(message, now=1.0)
    happened = events(connection)
    received = [e.octets for e in happened if isinstance(e, ev.MessageReceived)]
    assert received == [message]
    assert any(isinstance(e, ev.NotificationSent) for e in happened)


# --- bad input never crashes ------------------------------------------------------------------


@hypothesis_settings(max_examples=300, deadline=None)
@given(msg_type=st.integers(1, 5), body=st.binary(max_size=120))
def test_any_message_body_is_answered_never_raised(msg_type: int, body: bytes) -> None:
    connection = established()
    header = b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + bytes((msg_type,))
    connection.receive_data(header + body, now=1.0)
    happened = events(connection)
    if connection.state is not State.Established:
        # Ended with our NOTIFICATION, or by the peer's own (a NOTIFICATION message).
        assert any(isinstance(e, ev.NotificationSent | ev.NotificationReceived) for e in happened)


def test_a_deliberate_cease_from_the_peer_is_not_a_flap() -> None:
    """A router that restarts says Cease / Administrative Shutdown: the next attempt comes after
    the first interval, whatever the failures before."""
    connection = Connection(settings())
    connection.start(now=0.0)
    now, _ = fail_repeatedly(connection, 0.0, 5)
    connection.tcp_connected(now=now)
    connection.receive_data(router_open() + KEEPALIVE, now=now)
    assert connection.state is State.Established
    cease = Notification.cease(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN)
    connection.receive_data(encode_message(cease, CTX), now=now + 1)
    assert connection.get_timer() == now + 1 + 5.0  # not the 80 s of the sixth failure


@pytest.mark.parametrize(
    "notification",
    [
        Notification.cease(CeaseSubcode.CONNECTION_REJECTED),
        Notification(ErrorCode.HOLD_TIMER_EXPIRED, 0),
    ],
)
def test_other_notifications_from_the_peer_count_as_failures(notification: Notification) -> None:
    connection = Connection(settings())
    connection.start(now=0.0)
    now, _ = fail_repeatedly(connection, 0.0, 3)
    connection.tcp_connected(now=now)
    connection.receive_data(router_open() + KEEPALIVE, now=now)
    connection.receive_data(encode_message(notification, CTX), now=now + 1)
    assert connection.get_timer() == now + 1 + 40.0


def test_the_default_back_off_is_low_for_an_anycast_announcer() -> None:
    connection = Connection(SessionSettings(SERVER_AS, "192.168.57.100", "192.168.57.10"))
    connection.start(now=0.0)
    _, gaps = fail_repeatedly(connection, 0.0, 6)
    assert gaps == [1.0, 2.0, 3.0, 3.0, 3.0, 3.0]
