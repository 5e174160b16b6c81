"""Two Connections wired together in memory (h11's ConnectionPair), on one fake clock.

`server` is minibgp on a DNS server (AS 64520, connects out); `router` plays the router
(AS 4290001234, passive). `ConnectionPair` does what the asyncio shell does: moves bytes,
opens and closes the in-memory "TCP connection" on request, fires timers when the clock reaches
them. The tests read what each side learned the way an operator would.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_network
from typing import TypeVar

from minibgp import events as ev
from minibgp.adj_rib_out import Route
from minibgp.connection import Connection
from minibgp.fsm import State
from minibgp.settings import SessionSettings
from minibgp.wire.attributes.attribute_set import AttributeSet
from minibgp.wire.errors import CeaseSubcode, ErrorCode, OpenErrorSubcode
from minibgp.wire.nlri import AFI, SAFI, Prefix

SERVER_AS = 64520
ROUTER_AS = 4290001234
SERVER_ADDRESS = "192.168.57.100"
ROUTER_ADDRESS = "192.168.57.10"

T = TypeVar("T", bound=ev.ConnectionEvent)


def server_settings(**changes: object) -> SessionSettings:
    values: dict[str, object] = {
        "local_as": SERVER_AS,
        "router_id": SERVER_ADDRESS,
        "peer_address": ROUTER_ADDRESS,
        "peer_as": ROUTER_AS,
    }
    values.update(changes)
    return SessionSettings(**values)  # type: ignore[arg-type]


def router_settings(**changes: object) -> SessionSettings:
    values: dict[str, object] = {
        "local_as": ROUTER_AS,
        "router_id": ROUTER_ADDRESS,
        "peer_address": SERVER_ADDRESS,
        "peer_as": SERVER_AS,
        "passive": True,
    }
    values.update(changes)
    return SessionSettings(**values)  # type: ignore[arg-type]


class Side:
    """One end: its Connection, its address, what it saw and the routes it learned."""

    def __init__(self, connection: Connection, address: str) -> None:
        self.connection = connection
        self.address = address
        self.events: list[ev.ConnectionEvent] = []
        self.routes: dict[Prefix, AttributeSet] = {}  # a minimal Adj-RIB-In
        self.delivering = True  # False: what this side sends is lost (it "goes silent")

    def learn(self, event: ev.ConnectionEvent) -> None:
        self.events.append(event)
        if isinstance(event, ev.UpdateReceived):
            update = event.update
            for _, _, prefix in update.withdrawn_prefixes():
                self.routes.pop(prefix, None)
            for afi, safi, prefix in update.announced():
                self.routes[prefix] = update.attribute_set((afi, safi))
        elif isinstance(event, ev.SessionEnded):
            self.routes.clear()

    def of_type(self, kind: type[T]) -> list[T]:
        return [e for e in self.events if isinstance(e, kind)]


class ConnectionPair:
    """Two Connections and an in-memory TCP connection between them."""

    def __init__(self, server: SessionSettings, router: SessionSettings) -> None:
        self.server = Side(Connection(server), SERVER_ADDRESS)
        self.router = Side(Connection(router), ROUTER_ADDRESS)
        self.now = 0.0
        self.connected = False

    def other(self, side: Side) -> Side:
        return self.router if side is self.server else self.server

    def start(self) -> None:
        self.router.connection.start(now=self.now)
        self.server.connection.start(now=self.now)
        self.pump()

    def pump(self) -> None:
        """Move bytes and act on events until both sides are quiet."""
        for _ in range(1000):
            busy = False
            for side in (self.server, self.router):
                data = side.connection.data_to_send()
                if data and self.connected and side.delivering:
                    self.other(side).connection.receive_data(data, now=self.now)
                    busy = True
                while (event := side.connection.next_event()) is not None:
                    busy = True
                    side.learn(event)
                    if isinstance(event, ev.ConnectRequested):
                        self._connect(side)
                    elif isinstance(event, ev.CloseRequested) and self.connected:
                        self.connected = False
                        self.other(side).connection.tcp_closed(now=self.now)
            if not busy:
                return
        raise AssertionError("the two connections never went quiet")

    def _connect(self, side: Side) -> None:
        self.connected = True
        side.connection.tcp_connected(local_address=side.address, now=self.now)
        other = self.other(side)
        other.connection.tcp_connected(local_address=other.address, inbound=True, now=self.now)

    def advance(self, seconds: float) -> None:
        """Let `seconds` of fake time pass, firing every timer on the way."""
        until = self.now + seconds
        for _ in range(100_000):
            deadlines = [
                t
                for t in (self.server.connection.get_timer(), self.router.connection.get_timer())
                if t is not None and t <= until
            ]
            if not deadlines:
                break
            self.now = max(self.now, min(deadlines))
            self.server.connection.handle_timer(now=self.now)
            self.router.connection.handle_timer(now=self.now)
            self.pump()
        self.now = until

    def announce(self, side: Side, routes: list[Route]) -> None:
        side.connection.announce(routes, now=self.now)
        self.pump()


def established_pair(**server_changes: object) -> ConnectionPair:
    pair = ConnectionPair(server_settings(**server_changes), router_settings())
    pair.start()
    assert pair.server.connection.state is State.Established
    assert pair.router.connection.state is State.Established
    return pair


def test_the_pair_reaches_established_with_a_4_octet_router_as() -> None:
    pair = established_pair()
    [at_server] = pair.server.of_type(ev.SessionEstablished)
    [at_router] = pair.router.of_type(ev.SessionEstablished)
    assert at_server.negotiated.peer_as == ROUTER_AS
    assert at_server.peer_open.my_as == ROUTER_AS
    assert at_router.negotiated.peer_as == SERVER_AS
    assert at_server.negotiated.four_octet_as and at_router.negotiated.four_octet_as
    # Each side says it has sent everything: End-of-RIB for IPv4 and IPv6 unicast.
    for side in (pair.server, pair.router):
        assert {(e.afi, e.safi) for e in side.of_type(ev.EndOfRibReceived)} == {
            (AFI.IPV4, SAFI.UNICAST),
            (AFI.IPV6, SAFI.UNICAST),
        }


def test_ipv4_and_ipv6_routes_reach_the_router_with_their_attributes() -> None:
    pair = established_pair()
    pair.announce(
        pair.server,
        [
            Route(
                "169.254.0.1/32",
                communities=(SERVER_AS << 16 | 53,),
                large_communities=((SERVER_AS, 1, 2),),
                med=10,
            ),
            Route("2001:db8:53::1/128", as_path_prepend=2),
            Route("198.51.100.0/24", next_hop="192.168.57.200"),
        ],
    )
    anycast = pair.router.routes[ip_network("169.254.0.1/32")]
    assert anycast.next_hop == IPv4Address(SERVER_ADDRESS)
    assert anycast.as_path.asns == [SERVER_AS]
    assert anycast.communities == (SERVER_AS << 16 | 53,)
    assert anycast.large_communities == ((SERVER_AS, 1, 2),)
    assert anycast.med == 10
    assert anycast.local_pref is None  # not sent to an external peer
    ipv6 = pair.router.routes[ip_network("2001:db8:53::1/128")]
    assert ipv6.as_path.asns == [SERVER_AS] * 3
    assert ipv6.next_hop == IPv6Address("::ffff:" + SERVER_ADDRESS)
    assert pair.router.routes[ip_network("198.51.100.0/24")].next_hop == IPv4Address(
        "192.168.57.200"
    )


def test_routes_from_the_router_carry_its_4_octet_as() -> None:
    pair = established_pair()
    pair.announce(pair.router, [Route("192.168.60.0/24"), Route("192.168.61.0/24")])
    assert set(pair.server.routes) == {
        ip_network("192.168.60.0/24"),
        ip_network("192.168.61.0/24"),
    }
    assert pair.server.routes[ip_network("192.168.60.0/24")].as_path.asns == [ROUTER_AS]
    # Equal attributes: both prefixes came in one UPDATE.
    assert len(pair.server.of_type(ev.UpdateReceived)) == 1


def test_withdraw_removes_the_route_at_the_router() -> None:
    pair = established_pair()
    pair.announce(pair.server, [Route("169.254.0.1/32"), Route("2001:db8:53::1/128")])
    pair.server.connection.withdraw(["169.254.0.1/32", "2001:db8:53::1/128"], now=pair.now)
    pair.pump()
    assert pair.router.routes == {}
    assert pair.router.connection.state is State.Established


def test_route_refresh_makes_the_server_send_its_routes_again() -> None:
    pair = established_pair()
    pair.announce(pair.server, [Route("169.254.0.1/32"), Route("2001:db8:53::1/128")])
    updates_before = len(pair.router.of_type(ev.UpdateReceived))
    assert pair.router.connection.request_route_refresh(AFI.IPV6, SAFI.UNICAST, now=pair.now)
    pair.pump()
    assert pair.server.of_type(ev.RouteRefreshReceived) == [
        ev.RouteRefreshReceived(AFI.IPV6, SAFI.UNICAST)
    ]
    resent = pair.router.of_type(ev.UpdateReceived)[updates_before:]
    assert [p for e in resent for (_, _, p) in e.update.announced()] == [
        ip_network("2001:db8:53::1/128")
    ]


def test_stop_is_seen_as_cease_administrative_shutdown() -> None:
    pair = established_pair()
    pair.announce(pair.server, [Route("169.254.0.1/32")])
    pair.server.connection.stop(message="maintenance", now=pair.now)
    pair.pump()
    [notification] = pair.router.of_type(ev.NotificationReceived)
    assert (notification.notification.code, notification.notification.subcode) == (
        ErrorCode.CEASE,
        CeaseSubcode.ADMINISTRATIVE_SHUTDOWN,
    )
    assert notification.notification.shutdown_message == "maintenance"
    # The withdrawal came before the NOTIFICATION.
    withdrawals = [
        e for e in pair.router.of_type(ev.UpdateReceived) if e.update.withdrawn_prefixes()
    ]
    assert len(withdrawals) == 1
    assert pair.router.of_type(ev.SessionEnded)
    assert pair.server.connection.state is State.Idle
    # The stopped server stays down; the passive router waits for it.
    pair.advance(600)
    assert pair.server.connection.state is State.Idle
    assert pair.router.connection.state is State.Active


def test_a_router_expecting_another_as_sends_bad_peer_as() -> None:
    pair = ConnectionPair(server_settings(), router_settings(peer_as=65000))
    pair.start()
    [notification] = pair.server.of_type(ev.NotificationReceived)
    assert (notification.notification.code, notification.notification.subcode) == (
        ErrorCode.OPEN_MESSAGE_ERROR,
        OpenErrorSubcode.BAD_PEER_AS,
    )
    assert not pair.server.of_type(ev.SessionEstablished)


def test_keepalives_keep_the_session_up_for_hours() -> None:
    pair = established_pair()
    pair.advance(4 * 3600)
    assert pair.server.connection.state is State.Established
    assert pair.router.connection.state is State.Established
    assert len(pair.server.of_type(ev.StateChanged)) == 4  # Idle→Connect→...→Established
    assert pair.server.connection.messages_sent["KEEPALIVE"] >= 4 * 3600 // 30


def test_a_silent_server_is_dropped_by_the_hold_timer() -> None:
    pair = established_pair()
    pair.announce(pair.server, [Route("169.254.0.1/32")])
    pair.server.delivering = False  # frozen: its bytes no longer arrive
    pair.advance(89)
    assert pair.router.connection.state is State.Established
    pair.advance(2)
    [sent] = pair.router.of_type(ev.NotificationSent)
    assert sent.notification.code == ErrorCode.HOLD_TIMER_EXPIRED
    assert pair.router.routes == {}


def test_the_session_comes_back_after_the_router_drops_it() -> None:
    pair = established_pair()
    pair.announce(pair.server, [Route("169.254.0.1/32")])
    pair.router.connection.tcp_failed(now=pair.now)  # e.g. the router's bgpd restarted
    pair.pump()
    assert pair.router.routes == {}
    pair.advance(30)
    assert pair.server.connection.state is State.Established
    assert set(pair.router.routes) == {ip_network("169.254.0.1/32")}
    assert len(pair.server.of_type(ev.SessionEstablished)) == 2
