"""Two BFD sessions wired together in memory and driven by a fake clock (RFC 5880 §6)."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minibgp.bfd.packet import ControlPacket, Diagnostic, State
from minibgp.bfd.session import (
    BfdEvent,
    Session,
    SessionDown,
    SessionParameters,
    SessionUp,
)

FAST = SessionParameters(
    desired_min_tx_interval=100_000, required_min_rx_interval=100_000, detect_mult=3
)
LINK_DELAY = 0.001


@dataclass
class Side:
    session: Session
    sent: list[tuple[float, ControlPacket]] = field(default_factory=list)
    events: list[tuple[float, BfdEvent]] = field(default_factory=list)
    states: list[State] = field(default_factory=list)
    receives: bool = True  # packets towards this side get through
    frozen: bool = False  # neither sends nor runs its timers (a hung host)


class SessionPair:
    """Sessions `a` and `b` joined by a link with a fixed delay, on one fake clock."""

    def __init__(self, a: Session, b: Session) -> None:
        self.now = 0.0
        self.a, self.b = Side(a, states=[a.state]), Side(b, states=[b.state])
        self.in_flight: list[tuple[float, Side, bytes]] = []

    def peer_of(self, side: Side) -> Side:
        return self.b if side is self.a else self.a

    def run_until(self, end: float) -> None:
        for _ in range(100_000):
            for side in (self.a, self.b):
                self._settle(side)
            due = [arrival for arrival, _, _ in self.in_flight]
            due += [t for s in (self.a, self.b) if not s.frozen and (t := s.session.get_timer())]
            next_time = max(min(due, default=end), self.now)
            if next_time > end:
                break
            self.now = next_time
            for item in [item for item in self.in_flight if item[0] <= self.now]:
                self.in_flight.remove(item)
                _, side, data = item
                if not side.frozen:
                    side.session.receive_packet(data, now=self.now)
            for side in (self.a, self.b):
                if not side.frozen:
                    side.session.handle_timer(now=self.now)
            if next_time == end:
                for side in (self.a, self.b):
                    self._settle(side)
                break
        else:
            raise AssertionError("the simulation did not settle")
        self.now = end

    def _settle(self, side: Side) -> None:
        if side.frozen:
            return
        for data in side.session.packets_to_send(now=self.now):
            side.sent.append((self.now, ControlPacket.decode(data)))
            peer = self.peer_of(side)
            if peer.receives:
                self.in_flight.append((self.now + LINK_DELAY, peer, data))
        while (event := side.session.next_event()) is not None:
            side.events.append((self.now, event))
        if side.states[-1] != side.session.state:
            side.states.append(side.session.state)


def no_jitter() -> float:
    return 0.0


def make_pair(
    a_params: SessionParameters = FAST, b_params: SessionParameters = FAST
) -> SessionPair:
    return SessionPair(
        Session(local_discriminator=0x11, parameters=a_params, random=no_jitter),
        Session(local_discriminator=0x22, parameters=b_params, random=no_jitter),
    )


def up_pair() -> SessionPair:
    pair = make_pair()
    pair.run_until(5.0)
    assert pair.a.session.state == pair.b.session.state == State.UP
    return pair


def test_three_way_handshake_brings_both_up() -> None:
    pair = make_pair()
    pair.run_until(5.0)
    for side in (pair.a, pair.b):
        assert side.states == [State.DOWN, State.INIT, State.UP]
        assert [type(event) for _, event in side.events] == [SessionUp]
        assert [p.state for _, p in side.sent[:3]] == [State.DOWN, State.INIT, State.UP]
    assert pair.a.session.remote_discriminator == 0x22
    assert pair.b.session.remote_discriminator == 0x11
    assert pair.a.sent[0][1].your_discriminator == 0  # nothing heard yet (RFC 5880 §6.8.7)


def test_desired_min_tx_is_one_second_until_up_then_poll_final_switches_to_configured() -> None:
    pair = make_pair()
    assert pair.a.session.transmit_interval == pytest.approx(1.0)  # RFC 5880 §6.8.3
    pair.run_until(5.0)
    sent = [p for _, p in pair.a.sent]
    assert all(p.desired_min_tx_interval == 1_000_000 for p in sent if p.state != State.UP)
    first_up = next(i for i, p in enumerate(sent) if p.state == State.UP)
    assert sent[first_up].desired_min_tx_interval == 100_000
    assert sent[first_up].poll  # RFC 5880 §6.8.3: the change is announced with a Poll
    assert any(p.final for _, p in pair.b.sent)
    assert not pair.a.session.poll_in_progress
    times = [t for t, p in pair.a.sent if not p.final]
    assert times[-1] - times[-2] == pytest.approx(0.1)
    assert pair.a.session.transmit_interval == pytest.approx(0.1)
    assert pair.a.session.detection_time == pytest.approx(0.3)


def test_slower_timers_take_effect_only_after_the_poll_sequence() -> None:
    pair = up_pair()
    slow = SessionParameters(300_000, 300_000, 3)
    pair.a.session.set_parameters(slow)
    # RFC 5880 §6.8.3: the transmit interval must not grow before the peer acknowledges.
    assert pair.a.session.transmit_interval == pytest.approx(0.1)
    assert pair.a.session.poll_in_progress
    pair.run_until(pair.now + 0.15)
    assert any(p.poll and p.desired_min_tx_interval == 300_000 for _, p in pair.a.sent)
    assert not pair.a.session.poll_in_progress
    assert pair.a.session.transmit_interval == pytest.approx(0.3)
    # b now sends at a's slower Required Min RX and detects a after 3 x 300 ms.
    assert pair.b.session.transmit_interval == pytest.approx(0.3)
    assert pair.b.session.detection_time == pytest.approx(0.9)
    pair.run_until(pair.now + 2.0)
    assert pair.a.session.state == pair.b.session.state == State.UP


def test_a_faster_receive_interval_keeps_the_old_detection_time_until_final() -> None:
    pair = up_pair()
    pair.a.session.set_parameters(SessionParameters(300_000, 300_000, 3))
    pair.run_until(pair.now + 1.0)
    assert pair.a.session.detection_time == pytest.approx(0.9)
    pair.a.session.set_parameters(FAST)
    assert pair.a.session.detection_time == pytest.approx(0.9)  # still the old value
    pair.run_until(pair.now + 1.0)
    assert pair.a.session.detection_time == pytest.approx(0.3)


def test_a_poll_is_answered_at_once_with_final() -> None:
    session = Session(local_discriminator=5, parameters=FAST, random=no_jitter)
    session.packets_to_send(now=0.0)  # the first periodic packet
    poll = ControlPacket(
        state=State.DOWN,
        poll=True,
        detect_mult=3,
        my_discriminator=9,
        your_discriminator=0,
        desired_min_tx_interval=1_000_000,
        required_min_rx_interval=100_000,
    )
    assert session.receive_packet(poll.encode(), now=0.2)
    [answer] = [ControlPacket.decode(d) for d in session.packets_to_send(now=0.2)]
    assert answer.final and not answer.poll
    assert answer.your_discriminator == 9


def test_silence_for_the_detection_time_takes_the_session_down_with_diag_1() -> None:
    pair = up_pair()
    pair.a.receives = False  # b's packets are lost on the way to a
    silence_from = pair.now
    pair.run_until(pair.now + 1.0)
    [(down_at, event)] = [(t, e) for t, e in pair.a.events if isinstance(e, SessionDown)]
    assert event == SessionDown(Diagnostic.CONTROL_DETECTION_TIME_EXPIRED)
    last_heard = max(t for t, _ in pair.b.sent if t < silence_from) + LINK_DELAY
    assert down_at == pytest.approx(last_heard + 0.3)  # Detect Mult 3 x 100 ms
    assert pair.a.sent[-1][1].diag == Diagnostic.CONTROL_DETECTION_TIME_EXPIRED
    # b still hears a, which now says Down: b goes down, signalled by its neighbour.
    assert [e for _, e in pair.b.events if isinstance(e, SessionDown)] == [
        SessionDown(Diagnostic.NEIGHBOR_SIGNALED_SESSION_DOWN)
    ]


def test_a_frozen_peer_is_detected_and_the_session_comes_back_when_it_thaws() -> None:
    pair = up_pair()
    pair.b.frozen = True
    frozen_at = pair.now
    pair.run_until(pair.now + 2.0)
    [(down_at, event)] = [(t, e) for t, e in pair.a.events if isinstance(e, SessionDown)]
    assert event.diag == Diagnostic.CONTROL_DETECTION_TIME_EXPIRED
    assert 0.2 < down_at - frozen_at <= 0.3 + LINK_DELAY
    assert pair.a.session.remote_discriminator == 0  # reset after a Detection Time of silence
    pair.b.frozen = False
    pair.run_until(pair.now + 5.0)
    assert pair.a.session.state == pair.b.session.state == State.UP


def test_admin_down_is_signalled_and_holds_until_admin_up() -> None:
    pair = up_pair()
    pair.a.session.admin_down()
    pair.run_until(pair.now + 3.0)
    assert pair.a.events[-1][1] == SessionDown(Diagnostic.ADMINISTRATIVELY_DOWN)
    assert pair.b.events[-1][1] == SessionDown(
        Diagnostic.NEIGHBOR_SIGNALED_SESSION_DOWN, remote_admin_down=True
    )
    assert pair.a.session.state == State.ADMIN_DOWN
    assert pair.b.session.state == State.DOWN  # b's Down packets do not bring a back
    assert pair.a.sent[-1][1].state == State.ADMIN_DOWN
    pair.a.session.admin_up()
    pair.run_until(pair.now + 5.0)
    assert (pair.a.session.state, pair.b.session.state) == (State.UP, State.UP)


def test_remote_signalled_down_takes_an_up_session_down_with_diag_3() -> None:
    pair = up_pair()
    b = pair.b.session
    down = ControlPacket(
        state=State.DOWN,
        diag=Diagnostic.PATH_DOWN,
        detect_mult=3,
        my_discriminator=b.local_discriminator,
        your_discriminator=b.remote_discriminator,
        desired_min_tx_interval=1_000_000,
        required_min_rx_interval=100_000,
    )
    assert pair.a.session.receive_packet(down.encode(), now=pair.now)
    assert pair.a.session.next_event() == SessionDown(Diagnostic.NEIGHBOR_SIGNALED_SESSION_DOWN)
    assert pair.a.session.state == State.DOWN
    assert pair.a.session.next_event() is None


def test_packets_for_another_discriminator_are_discarded() -> None:
    pair = up_pair()
    stray = ControlPacket(
        state=State.DOWN,
        detect_mult=3,
        my_discriminator=0x99,
        your_discriminator=0x12345,
        desired_min_tx_interval=1_000_000,
        required_min_rx_interval=100_000,
    )
    assert not pair.a.session.receive_packet(stray.encode(), now=pair.now)
    assert not pair.a.session.receive_packet(b"\x20garbage", now=pair.now)
    assert pair.a.session.state == State.UP
    assert pair.a.session.next_event() is None


def test_a_peer_that_replaces_its_session_takes_ours_down() -> None:
    """A new session on the peer (a new discriminator, Down, Your Discriminator zero) is the
    same session here (RFC 5881 §3: selected by address), and its Down ends ours (§6.8.6):
    why the speaker runs BFD only once the BGP session is Established, after a router such
    as FRR's bgpd has replaced its session with one bound to the connection's addresses."""
    pair = up_pair()
    replacement = ControlPacket(
        state=State.DOWN,
        detect_mult=3,
        my_discriminator=0x33,
        your_discriminator=0,
        desired_min_tx_interval=1_000_000,
        required_min_rx_interval=100_000,
    )
    assert pair.a.session.receive_packet(replacement.encode(), now=pair.now)
    assert pair.a.session.next_event() == SessionDown(Diagnostic.NEIGHBOR_SIGNALED_SESSION_DOWN)
    assert pair.a.session.remote_discriminator == 0x33


def test_no_events_while_nothing_changes() -> None:
    pair = up_pair()
    count = len(pair.a.events), len(pair.b.events)
    pair.run_until(pair.now + 30.0)
    assert (len(pair.a.events), len(pair.b.events)) == count


def test_no_periodic_packets_when_the_peer_asks_for_none() -> None:
    session = Session(local_discriminator=5, parameters=FAST, random=no_jitter)
    session.packets_to_send(now=0.0)
    silent = ControlPacket(
        state=State.DOWN,
        detect_mult=3,
        my_discriminator=9,
        your_discriminator=0,
        desired_min_tx_interval=1_000_000,
        required_min_rx_interval=0,  # RFC 5880 §6.8.7: the peer wants no packets
    )
    session.receive_packet(silent.encode(), now=0.1)
    assert session.packets_to_send(now=5.0) == []


@pytest.mark.parametrize(("detect_mult", "low", "high"), [(3, 0.75, 1.0), (1, 0.75, 0.9)])
def test_jitter_keeps_intervals_within_the_rfc_bounds(
    detect_mult: int, low: float, high: float
) -> None:
    session = Session(
        local_discriminator=5,
        parameters=SessionParameters(1_000_000, 1_000_000, detect_mult),
        random=random.Random(7).random,
    )
    times = []
    now = 0.0
    for _ in range(200):
        if session.packets_to_send(now=now):
            times.append(now)
        timer = session.get_timer()
        assert timer is not None
        now = max(now, timer)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) > 100
    assert all(low <= gap <= high + 1e-9 for gap in gaps)
    assert max(gaps) - min(gaps) > (high - low) / 2  # jittered, not fixed


packet_fields = st.builds(
    ControlPacket,
    state=st.sampled_from(State),
    detect_mult=st.integers(1, 255),
    my_discriminator=st.integers(1, 2**32 - 1),
    your_discriminator=st.sampled_from([0, 5, 6]),
    desired_min_tx_interval=st.integers(0, 2**32 - 1),
    required_min_rx_interval=st.integers(0, 2**32 - 1),
    poll=st.booleans(),
    final=st.booleans(),
    demand=st.booleans(),
)


@settings(deadline=None)  # a loaded machine may be slow; the test is about outcomes
@given(st.lists(st.tuples(st.one_of(packet_fields, st.binary(max_size=30)), st.floats(0, 3))))
def test_any_sequence_of_packets_and_timers_is_handled(
    steps: list[tuple[ControlPacket | bytes, float]],
) -> None:
    session = Session(local_discriminator=5, parameters=FAST, random=random.Random(1).random)
    now = 0.0
    for item, delay in steps:
        now += delay
        data = item if isinstance(item, bytes) else item.encode()
        session.receive_packet(data, now=now)
        session.handle_timer(now=now)
        for sent in session.packets_to_send(now=now):
            packet = ControlPacket.decode(sent)  # everything we send is valid
            assert not (packet.poll and packet.final)
        while session.next_event() is not None:
            pass
