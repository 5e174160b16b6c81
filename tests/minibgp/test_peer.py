"""The Peer core: connection collisions (RFC 4271 §6.8), retiring a channel, the Adj-RIB-In.

Two `Peer`s — minibgp on a DNS server and a router — joined by in-memory TCP connections on one
fake clock (`Network`). The network does what the asyncio shell does: it opens a connection when a
peer asks, hands the bytes over, closes a connection when a peer asks (after its last bytes) and
fires the timers when the clock reaches them.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address, ip_network

import pytest

from minibgp import events as ev
from minibgp.adj_rib_out import Route
from minibgp.fsm import State
from minibgp.peer import Channel, Initiator, Peer, surviving_initiator
from minibgp.settings import SessionSettings
from minibgp.wire.errors import CeaseSubcode, ErrorCode
from minibgp.wire.nlri import IPAddress

LOW = IPv4Address("192.168.57.10")
HIGH = IPv4Address("192.168.57.100")
SERVER_AS, ROUTER_AS = 64520, 4290001234
COLLISION = (ErrorCode.CEASE, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION)


@dataclass(eq=False)
class Tcp:
    """One in-memory TCP connection: an end on each peer."""

    ends: tuple[tuple[Peer, Channel], tuple[Peer, Channel]]
    open: bool = True

    def other(self, peer: Peer) -> tuple[Peer, Channel]:
        return self.ends[1] if self.ends[0][0] is peer else self.ends[0]


class Network:
    """Two peers, the TCP connections between them, and the clock."""

    def __init__(self, a: Peer, b: Peer) -> None:
        self.a, self.b = a, b
        self.now = 0.0
        self.tcp: list[Tcp] = []
        self.connect_requests: list[tuple[Peer, Channel]] = []
        self.events: dict[Peer, list[ev.ConnectionEvent | ev.PeerEvent]] = {a: [], b: []}
        self.notifications: list[tuple[int, int]] = []
        self.b_silent = False  # what b sends is lost

    def other(self, peer: Peer) -> Peer:
        return self.b if peer is self.a else self.a

    def local(self, peer: Peer) -> IPAddress:
        """`peer`'s own address: the one the other peer is configured with."""
        return self.other(peer).address

    def carrying(self, peer: Peer, channel: Channel) -> Tcp | None:
        return next((t for t in self.tcp if t.open and (peer, channel) in t.ends), None)

    def pump(self) -> None:
        """Move bytes and act on events until both peers are quiet; connections asked for
        stay pending until `complete_connects`."""
        for _ in range(1000):
            busy = False
            for peer in (self.a, self.b):
                for channel, data in peer.data_to_send():
                    busy |= self._deliver(peer, channel, data)
                while (output := peer.next_event()) is not None:
                    busy = True
                    channel, event = output
                    self.events[peer].append(event)
                    if isinstance(event, ev.ConnectRequested):
                        self.connect_requests.append((peer, channel))
                    elif isinstance(event, ev.CloseRequested):
                        self._close(peer, channel)
                    elif isinstance(event, ev.NotificationSent):
                        n = event.notification
                        self.notifications.append((n.code, n.subcode))
            if not busy:
                return
        raise AssertionError("the peers never went quiet")

    def complete_connects(self, crossing: bool = False) -> None:
        """Every TCP connection asked for succeeds. `crossing`: the SYNs cross, so each side
        sees its own connection up before the other side's arrives (RFC 4271 §6.8)."""
        requests, self.connect_requests = self.connect_requests, []
        if crossing:
            for peer, channel in requests:
                assert peer.tcp_connected(channel, self.local(peer), now=self.now) is channel
        accepted = []
        for peer, channel in requests:
            other = self.other(peer)
            theirs = other.connection_accepted(self.local(other), now=self.now)
            if theirs is None:
                peer.tcp_failed(channel, "refused", now=self.now)
                continue
            accepted.append(Tcp(((peer, channel), (other, theirs))))
        self.tcp += accepted
        if not crossing:
            for tcp in accepted:
                peer, channel = tcp.ends[0]
                carrier = peer.tcp_connected(channel, self.local(peer), now=self.now)
                if carrier is None:
                    tcp.open = False
                    other, theirs = tcp.ends[1]
                    other.tcp_failed(theirs, "the peer closed the TCP connection", now=self.now)
                else:
                    tcp.ends = ((peer, carrier), tcp.ends[1])
        self.pump()

    def settle(self, rounds: int = 5) -> None:
        for _ in range(rounds):
            self.pump()
            if not self.connect_requests:
                return
            self.complete_connects()

    def advance(self, seconds: float) -> None:
        """Let `seconds` of fake time pass, firing every timer on the way."""
        until = self.now + seconds
        while True:
            deadlines = [t for p in (self.a, self.b) if (t := p.get_timer()) is not None]
            if not deadlines or min(deadlines) > until:
                break
            self.now = max(self.now, min(deadlines))
            for peer in (self.a, self.b):
                peer.handle_timer(now=self.now)
            self.settle()
        self.now = until

    def _deliver(self, peer: Peer, channel: Channel, data: bytes) -> bool:
        tcp = self.carrying(peer, channel)
        if tcp is None or (peer is self.b and self.b_silent):
            return False
        other, theirs = tcp.other(peer)
        other.receive_data(theirs, data, now=self.now)
        return True

    def _close(self, peer: Peer, channel: Channel) -> None:
        tcp = self.carrying(peer, channel)
        if tcp is None or (peer is self.b and self.b_silent):
            return
        last = channel.connection.data_to_send()
        other, theirs = tcp.other(peer)
        if last:
            other.receive_data(theirs, last, now=self.now)
        tcp.open = False
        other.tcp_failed(theirs, "the peer closed the TCP connection", now=self.now)


def server(router_id: IPv4Address = HIGH, routes: list[Route] | None = None) -> Peer:
    settings = SessionSettings(SERVER_AS, router_id, "192.168.57.10", ROUTER_AS, hold_time=9)
    return Peer(settings, routes or [])


def router(router_id: IPv4Address = LOW, passive: bool = False) -> Peer:
    settings = SessionSettings(
        ROUTER_AS, router_id, "192.168.57.100", SERVER_AS, hold_time=9, passive=passive
    )
    return Peer(settings, [Route("10.57.1.0/24")])


def started(a: Peer, b: Peer) -> Network:
    network = Network(a, b)
    a.start(now=0.0)
    b.start(now=0.0)
    network.pump()
    return network


def established(peer: Peer) -> bool:
    return peer.connection.state is State.Established


# --- RFC 4271 §6.8: who survives ---------------------------------------------------------------


def test_the_higher_bgp_identifier_keeps_its_connection() -> None:
    assert surviving_initiator(HIGH, LOW, 64520, 4290001234) is Initiator.LOCAL
    assert surviving_initiator(LOW, HIGH, 64520, 4290001234) is Initiator.REMOTE


def test_identifiers_compare_as_unsigned_integers() -> None:
    # 10.0.0.1 < 9.255.255.255 as text, but not as a 4-octet number.
    local, remote = IPv4Address("10.0.0.1"), IPv4Address("9.255.255.255")
    assert surviving_initiator(local, remote, 1, 2) is Initiator.LOCAL


def test_equal_identifiers_fall_back_to_the_larger_as() -> None:
    # RFC 6286 §2.3
    assert surviving_initiator(HIGH, HIGH, 4290001234, 64520) is Initiator.LOCAL
    assert surviving_initiator(HIGH, HIGH, 64520, 4290001234) is Initiator.REMOTE


# --- both sides connect at once ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("server_id", "router_id", "survivor_opened_by"),
    [(HIGH, LOW, "server"), (LOW, HIGH, "router")],
)
def test_crossing_connections_end_with_one_session(
    server_id: IPv4Address, router_id: IPv4Address, survivor_opened_by: str
) -> None:
    a, b = server(server_id, [Route("169.254.0.1/32")]), router(router_id)
    network = started(a, b)
    network.complete_connects(crossing=True)
    assert all(p.candidate is None for p in (a, b))  # the collision is over
    assert established(a) and established(b)
    (survivor,) = [t for t in network.tcp if t.open]
    opener = survivor.ends[0][0]
    assert opener is (a if survivor_opened_by == "server" else b)
    assert COLLISION in network.notifications
    assert any(isinstance(e, ev.CollisionResolved) for e in network.events[a] + network.events[b])
    # the surviving session carries the routes both ways
    assert {str(p) for p, _ in b.rib_in.routes()} == {"169.254.0.1/32"}
    assert {str(p) for p, _ in a.rib_in.routes()} == {"10.57.1.0/24"}


def test_both_sides_taking_the_others_connection_first_still_end_with_one_session() -> None:
    """Each side accepts the other's connection on its main channel before its own is up; its
    own then goes on a candidate channel, and the BGP Identifiers decide (RFC 4271 §6.8): by
    arrival order alone, both would close their own and keep a connection the other closed."""
    a, b = server(), router()
    network = started(a, b)
    network.complete_connects()  # accepted on both sides before either sees its own up
    assert all(p.candidate is None for p in (a, b))
    assert established(a) and established(b)
    assert COLLISION in network.notifications
    (survivor,) = [t for t in network.tcp if t.open]
    assert survivor.ends[0][0] is a  # opened by the higher BGP Identifier, the server's


def test_a_connection_while_established_is_refused() -> None:
    a, b = server(), router(passive=True)
    network = started(a, b)
    network.settle()
    assert established(a)
    assert a.connection_accepted(None, now=network.now) is None
    network.pump()
    assert ev.ConnectionRefused("already Established") in network.events[a]
    assert established(a) and a.candidate is None


def test_a_third_connection_is_refused() -> None:
    a = server()
    network = Network(a, router(passive=True))
    a.start(now=0.0)
    network.pump()
    (_, channel) = network.connect_requests.pop()
    assert a.tcp_connected(channel, None, now=0.0) is channel
    candidate = a.connection_accepted(None, now=0.0)
    assert candidate is a.candidate and candidate is not None
    assert a.connection_accepted(None, now=0.0) is None
    network.pump()
    assert ev.ConnectionRefused("a third connection") in network.events[a]


def test_after_the_peers_connection_won_and_failed_we_connect_again() -> None:
    """The candidate (the peer's connection) became the main channel; when it fails, the peer
    goes back to connecting by itself instead of waiting passively."""
    a, b = server(HIGH), router(LOW)
    network = started(a, b)
    network.complete_connects(crossing=True)
    assert a.main.replaces_main is False  # we won with our own connection
    c, d = server(LOW), router(HIGH)  # now the router's identifier is higher
    network = started(c, d)
    network.complete_connects(crossing=True)
    assert c.main.replaces_main and c.main.initiator is Initiator.REMOTE
    tcp = network.carrying(c, c.main)
    assert tcp is not None
    tcp.open = False
    c.tcp_failed(c.main, "lost", now=network.now)
    network.pump()
    assert not c.main.replaces_main  # a fresh channel of our own
    assert any(peer is c for peer, _ in network.connect_requests)


# --- the routes ----------------------------------------------------------------------------------


def test_the_adj_rib_in_holds_the_peers_routes_until_the_session_ends() -> None:
    a, b = server(), router(passive=True)
    network = started(a, b)
    network.settle()
    assert [str(p) for p, _ in a.rib_in.routes()] == ["10.57.1.0/24"]
    network.advance(30)  # keepalives keep it up
    assert len(a.rib_in) == 1
    network.b_silent = True
    b.stop(now=network.now)  # its withdraw and Cease are lost: a hears nothing more ...
    network.advance(10)  # ... until its hold time (9 s) expires
    assert len(a.rib_in) == 0
    assert ev.RoutesForgotten(1) in network.events[a]
    assert (ErrorCode.HOLD_TIMER_EXPIRED, 0) in network.notifications


def test_set_routes_sends_only_the_difference() -> None:
    a, b = server(routes=[Route("169.254.0.1/32"), Route("169.254.0.2/32")]), router(passive=True)
    network = started(a, b)
    network.settle()
    updates_before = sum(isinstance(e, ev.UpdateReceived) for e in network.events[b])
    gone, changed = a.set_routes(
        [Route("169.254.0.1/32"), Route("169.254.0.3/32", med=5)], now=network.now
    )
    network.pump()
    assert gone == [ip_network("169.254.0.2/32")] and changed == [ip_network("169.254.0.3/32")]
    assert {str(p) for p, _ in b.rib_in.routes()} == {"169.254.0.1/32", "169.254.0.3/32"}
    updates = [e for e in network.events[b] if isinstance(e, ev.UpdateReceived)]
    assert len(updates) - updates_before == 2  # one withdraw, one announcement; .1 untouched


def test_stop_ceases_every_connection_of_the_peer() -> None:
    a, b = server(), router(passive=True)
    network = started(a, b)
    network.settle()
    a.stop(now=network.now)
    network.pump()
    assert (ErrorCode.CEASE, CeaseSubcode.ADMINISTRATIVE_SHUTDOWN) in network.notifications
    assert a.connection.state is State.Idle and a.get_timer() is None
    assert a.address == ip_address("192.168.57.10")


def test_the_peers_connection_closed_before_its_open_leaves_no_spare_channel() -> None:
    """A candidate whose TCP connection ends (here in OpenSent, which goes back to Active and
    would wait there for good) is dropped."""
    a = server()
    network = Network(a, router(passive=True))
    a.start(now=0.0)
    network.pump()
    (_, channel) = network.connect_requests.pop()
    assert a.tcp_connected(channel, None, now=0.0) is channel
    candidate = a.connection_accepted(None, now=0.0)
    assert candidate is not None and candidate.connection.state is State.OpenSent
    a.tcp_failed(candidate, "the peer closed the TCP connection", now=0.5)
    network.pump()
    assert a.candidate is None and a.channels == [a.main]


@pytest.mark.parametrize("passive_router", [True, False])
def test_the_route_is_back_within_5_s_of_each_of_7_router_restarts(passive_router: bool) -> None:
    """The router restarts seven times in a row, down for longer and longer: each time, once it
    is back, the session and our route are back within 5 s (the default back-off tops out at
    3 s). A passive router waits for us; an active one connects to us as well."""
    settings = SessionSettings(SERVER_AS, HIGH, "192.168.57.10", ROUTER_AS, hold_time=9)
    a, b = Peer(settings, [Route("169.254.0.1/32")]), router(passive=passive_router)
    network = started(a, b)
    network.settle()
    assert established(a)
    for down in (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 3.0):
        b.stop(now=network.now)  # Cease / Administrative Shutdown, then it is gone ...
        network.pump()
        network.advance(down)  # ... our attempts are refused meanwhile
        assert not established(a)
        back = network.now
        b.start(now=back)
        network.settle()
        while not (established(a) and len(b.rib_in)):
            network.advance(0.1)
            assert network.now - back <= 5.0, f"down {down} s: not back within 5 s"
