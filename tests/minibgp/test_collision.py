"""Connection collision resolution (RFC 4271 §6.8): the rule, then two speakers that both
connect at once and end up with one session."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from minibgp import events as ev
from minibgp.collision import (
    Initiator,
    Survivor,
    collision_loser,
    resolve_collision,
    surviving_initiator,
)
from minibgp.connection import Connection
from minibgp.fsm import State
from minibgp.settings import SessionSettings
from minibgp.wire.errors import CeaseSubcode, ErrorCode

LOW = IPv4Address("192.168.57.10")
HIGH = IPv4Address("192.168.57.100")


def test_the_higher_bgp_identifier_keeps_its_connection() -> None:
    assert surviving_initiator(HIGH, LOW, 64520, 4290001234) is Initiator.LOCAL
    assert surviving_initiator(LOW, HIGH, 64520, 4290001234) is Initiator.REMOTE


def test_identifiers_compare_as_unsigned_integers() -> None:
    # 10.0.0.1 < 9.255.255.255 as text, but not as a 4-octet number.
    assert (
        surviving_initiator(IPv4Address("10.0.0.1"), IPv4Address("9.255.255.255"), 1, 2)
        is Initiator.LOCAL
    )


def test_equal_identifiers_fall_back_to_the_larger_as() -> None:
    # RFC 6286 §2.3
    assert surviving_initiator(HIGH, HIGH, 4290001234, 64520) is Initiator.LOCAL
    assert surviving_initiator(HIGH, HIGH, 64520, 4290001234) is Initiator.REMOTE


@pytest.mark.parametrize("state", [State.Idle, State.Connect, State.Active, State.OpenSent])
def test_no_collision_before_openconfirm(state: State) -> None:
    assert resolve_collision(state, Initiator.LOCAL, HIGH, LOW, 1, 2) is None


def test_an_established_connection_always_wins() -> None:
    assert resolve_collision(State.Established, Initiator.REMOTE, HIGH, LOW, 1, 2) is (
        Survivor.EXISTING
    )


@pytest.mark.parametrize(
    ("local", "remote", "existing", "survivor"),
    [
        (HIGH, LOW, Initiator.LOCAL, Survivor.EXISTING),
        (HIGH, LOW, Initiator.REMOTE, Survivor.NEW),
        (LOW, HIGH, Initiator.LOCAL, Survivor.NEW),
        (LOW, HIGH, Initiator.REMOTE, Survivor.EXISTING),
    ],
)
def test_openconfirm_collisions_follow_the_identifiers(
    local: IPv4Address, remote: IPv4Address, existing: Initiator, survivor: Survivor
) -> None:
    assert resolve_collision(State.OpenConfirm, existing, local, remote, 1, 2) is survivor


# --- both speakers connect at once ------------------------------------------------------------


class Speaker:
    """The collision part of a shell: one Connection per TCP connection to the same peer."""

    def __init__(self, settings: SessionSettings) -> None:
        self.settings = settings
        self.connections: dict[Initiator, Connection] = {}
        self.notifications_sent: list[tuple[int, int]] = []

    def open_connection(self, initiator: Initiator, now: float) -> Connection:
        connection = Connection(self.settings)
        connection.start(now, passive=initiator is Initiator.REMOTE)
        connection.tcp_connected(now, inbound=initiator is Initiator.REMOTE)
        self.connections[initiator] = connection
        return connection

    def handle_events(self, connection: Connection, now: float) -> bool:
        """Act on the connection's events as a shell would; True when it must be closed."""
        close = False
        while (event := connection.next_event()) is not None:
            if isinstance(event, ev.StateChanged) and event.new is State.OpenConfirm:
                self.resolve(connection, now)
            elif isinstance(event, ev.NotificationSent):
                self.notifications_sent.append(
                    (event.notification.code, event.notification.subcode)
                )
            elif isinstance(event, ev.CloseRequested):
                close = True
        return close

    def resolve(self, new: Connection, now: float) -> None:
        """An OPEN arrived on `new`: RFC 4271 §6.8 against the other connection, if any."""
        new_side = next(side for side, c in self.connections.items() if c is new)
        other_side = Initiator.REMOTE if new_side is Initiator.LOCAL else Initiator.LOCAL
        existing = self.connections.get(other_side)
        if existing is not None:
            loser = collision_loser(new, new_side, existing)
            if loser is not None:
                loser.collision_lost(now)


@pytest.mark.parametrize(
    ("server_id", "router_id", "surviving_opener"),
    [(HIGH, LOW, "server"), (LOW, HIGH, "router")],
)
def test_simultaneous_connections_end_with_one_session(
    server_id: IPv4Address, router_id: IPv4Address, surviving_opener: str
) -> None:
    server = Speaker(SessionSettings(64520, server_id, router_id, 4290001234))
    router = Speaker(SessionSettings(4290001234, router_id, server_id, 64520))
    now = 0.0
    # Two TCP connections, each a pair of (end, its speaker): one opened by each side.
    links = [
        [
            (server.open_connection(Initiator.LOCAL, now), server),
            (router.open_connection(Initiator.REMOTE, now), router),
        ],
        [
            (router.open_connection(Initiator.LOCAL, now), router),
            (server.open_connection(Initiator.REMOTE, now), server),
        ],
    ]
    open_links = {0, 1}
    for _ in range(10):
        for direction in (0, 1):
            for index, link in enumerate(links):
                (source, source_speaker), (target, target_speaker) = (
                    link if direction == 0 else link[::-1]
                )
                data = source.data_to_send()
                if index not in open_links:
                    continue
                target.receive_data(data, now)
                if source_speaker.handle_events(source, now) or target_speaker.handle_events(
                    target, now
                ):
                    # Deliver what is left (the NOTIFICATION), then the TCP connection closes.
                    for end, _ in link:
                        other = link[1][0] if end is link[0][0] else link[0][0]
                        other.receive_data(end.data_to_send(), now)
                        other.tcp_closed(now)
                    for end, speaker in link:
                        speaker.handle_events(end, now)
                    open_links.discard(index)

    # Both ends agree: the connection opened by the higher BGP Identifier is the session.
    survivor = 0 if surviving_opener == "server" else 1
    assert open_links == {survivor}
    assert all(end.state is State.Established for end, _ in links[survivor])
    assert all(end.state is State.Idle for end, _ in links[1 - survivor])
    cease_collision = (ErrorCode.CEASE, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION)
    assert cease_collision in server.notifications_sent + router.notifications_sent
