"""One BFD session in asynchronous mode (RFC 5880 §6), as a sans-I/O state machine.

The session takes received Control packets and the current time, and gives back packets to send,
the time its next timer fires, and events (`SessionUp`, `SessionDown`). It never reads a clock or
touches a socket: the caller passes `now=` (seconds, any monotonic origin; keyword-only and
last) into every call.

    session = Session(local_discriminator=7, parameters=SessionParameters(100_000, 100_000, 3))
    for data in session.packets_to_send(now=now): sock.send(data)
    session.receive_packet(data, now=now)      # then packets_to_send(now=now) again
    session.handle_timer(now=now)              # when now >= session.get_timer()
    while (event := session.next_event()) is not None: ...

Demand mode, the Echo function and authentication are not implemented; the session always takes
the Active role (RFC 5880 §6.1).
"""

from __future__ import annotations

import random as _random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from minibgp.bfd.packet import BfdPacketError, ControlPacket, Diagnostic, State

# RFC 5880 §6.8.3: while the session is not Up, Desired Min TX is at least one second.
SLOW_DESIRED_MIN_TX_INTERVAL = 1_000_000  # microseconds
MAX_INTERVAL = 0xFFFFFFFF  # a 32-bit field, microseconds


@dataclass(frozen=True)
class SessionParameters:
    """The locally configured timers of a session (RFC 5880 §6.8.1), intervals in microseconds."""

    desired_min_tx_interval: int = 300_000  # bfd.DesiredMinTxInterval, once the session is Up
    required_min_rx_interval: int = 300_000  # bfd.RequiredMinRxInterval
    detect_mult: int = 3  # bfd.DetectMult

    def __post_init__(self) -> None:
        if not 1 <= self.desired_min_tx_interval <= MAX_INTERVAL:
            raise ValueError("desired_min_tx_interval must be 1..2^32-1 microseconds")
        if not 0 <= self.required_min_rx_interval <= MAX_INTERVAL:
            raise ValueError("required_min_rx_interval must be 0..2^32-1 microseconds")
        if not 1 <= self.detect_mult <= 255:
            raise ValueError("detect_mult must be 1..255")


@dataclass(frozen=True)
class SessionUp:
    """The session has reached Up: the forwarding path to the peer works in both directions."""


@dataclass(frozen=True)
class SessionDown:
    """The session has left Up. `diag` is the local diagnostic (RFC 5880 §4.1).

    `remote_admin_down` is true when the peer took the session administratively down; RFC 5882
    §3.2 says a client such as BGP should then not treat the path as failed.
    """

    diag: Diagnostic
    remote_admin_down: bool = False


BfdEvent = SessionUp | SessionDown


class Session:
    """The state of one BFD session (RFC 5880 §6.8.1) and its reception, transmission and
    detection rules (§6.8.4, §6.8.6, §6.8.7)."""

    def __init__(
        self,
        local_discriminator: int,
        parameters: SessionParameters | None = None,
        random: Callable[[], float] = _random.random,
    ) -> None:
        if not 1 <= local_discriminator <= 0xFFFFFFFF:
            raise ValueError("the local discriminator must be a nonzero 32-bit number")
        self._parameters = parameters or SessionParameters()
        self._random = random
        self._events: deque[BfdEvent] = deque()

        # RFC 5880 §6.8.1 state variables, with their initial values.
        self.state = State.DOWN  # bfd.SessionState
        self.remote_state = State.DOWN  # bfd.RemoteSessionState
        self.local_discriminator = local_discriminator  # bfd.LocalDiscr
        self.remote_discriminator = 0  # bfd.RemoteDiscr
        self.local_diag = Diagnostic.NO_DIAGNOSTIC  # bfd.LocalDiag
        self.remote_min_rx_interval = 1  # bfd.RemoteMinRxInterval
        self.remote_demand_mode = False  # bfd.RemoteDemandMode
        # What the peer last told us, for the Detection Time (RFC 5880 §6.8.4).
        self.remote_desired_min_tx_interval = 0
        self.remote_detect_mult = 0

        # The interval values in force, which lag a change until its Poll Sequence ends (§6.8.3).
        self._tx_interval_in_use = self.desired_min_tx_interval
        self._rx_interval_in_use = self._parameters.required_min_rx_interval
        self.poll_in_progress = False
        self._values_being_polled = (0, 0)
        self._poll_again = False  # the values changed again while a poll was out
        self._final_due = False

        self._last_tx_at = 0.0
        self._send_now = True  # the first packet, and one after each change of state
        self._jitter_factor = 1.0
        self._last_rx_at: float | None = None  # None: the Detection Time is not running

    # -- the values derived from the state ------------------------------------------------

    @property
    def parameters(self) -> SessionParameters:
        return self._parameters

    @property
    def desired_min_tx_interval(self) -> int:
        """bfd.DesiredMinTxInterval: the configured value, but at least 1 s while not Up."""
        configured = self._parameters.desired_min_tx_interval
        if self.state == State.UP:
            return configured
        return max(configured, SLOW_DESIRED_MIN_TX_INTERVAL)  # RFC 5880 §6.8.3

    @property
    def transmit_interval(self) -> float:
        """Seconds between our packets before jitter: the slower of what we want and what the
        peer can take (RFC 5880 §6.8.2, §6.8.7)."""
        return max(self._tx_interval_in_use, self.remote_min_rx_interval) / 1e6

    @property
    def detection_time(self) -> float | None:
        """Seconds without a packet after which the peer is declared down (RFC 5880 §6.8.4,
        asynchronous mode): the peer's Detect Mult times its agreed transmit interval."""
        if self.remote_detect_mult == 0:
            return None
        agreed = max(self._rx_interval_in_use, self.remote_desired_min_tx_interval)
        return self.remote_detect_mult * agreed / 1e6

    # -- input -----------------------------------------------------------------------------

    def receive_packet(self, data: bytes, *, now: float) -> bool:
        """Process one received UDP payload; return False if it was discarded."""
        try:
            packet = ControlPacket.decode(data)
        except BfdPacketError:
            return False
        return self.receive_control_packet(packet, now=now)

    def receive_control_packet(self, packet: ControlPacket, *, now: float) -> bool:
        """Process a decoded Control packet (RFC 5880 §6.8.6); return False if it was
        discarded."""
        if packet.your_discriminator not in (0, self.local_discriminator):
            return False
        self.remote_discriminator = packet.my_discriminator
        self.remote_state = packet.state
        self.remote_demand_mode = packet.demand
        self.remote_min_rx_interval = packet.required_min_rx_interval
        self.remote_desired_min_tx_interval = packet.desired_min_tx_interval
        self.remote_detect_mult = packet.detect_mult
        if self.poll_in_progress and packet.final:
            self._terminate_poll()

        if self.state == State.ADMIN_DOWN:
            return False
        self._last_rx_at = now  # received for the purposes of the Detection Time (§6.8.4)

        if packet.state == State.ADMIN_DOWN:
            if self.state != State.DOWN:
                self._change_state(
                    State.DOWN, Diagnostic.NEIGHBOR_SIGNALED_SESSION_DOWN, remote_admin_down=True
                )
        elif self.state == State.DOWN:
            if packet.state == State.DOWN:
                self._change_state(State.INIT, self.local_diag)
            elif packet.state == State.INIT:
                self._change_state(State.UP, Diagnostic.NO_DIAGNOSTIC)
        elif self.state == State.INIT:
            if packet.state in (State.INIT, State.UP):
                self._change_state(State.UP, Diagnostic.NO_DIAGNOSTIC)
        elif packet.state == State.DOWN:  # and we are Up
            self._change_state(State.DOWN, Diagnostic.NEIGHBOR_SIGNALED_SESSION_DOWN)

        if packet.poll:
            self._final_due = True  # RFC 5880 §6.8.7: answer a Poll at once, with Final
        return True

    def handle_timer(self, *, now: float) -> None:
        """Run the Detection Time rule (RFC 5880 §6.8.4) if its time has come; transmission is
        done by `packets_to_send`."""
        deadline = self._detection_deadline()
        if deadline is None or now < deadline:
            return
        self._last_rx_at = None
        self.remote_discriminator = 0  # RFC 5880 §6.8.1, bfd.RemoteDiscr
        if self.state in (State.INIT, State.UP):
            self._change_state(State.DOWN, Diagnostic.CONTROL_DETECTION_TIME_EXPIRED)

    def set_parameters(self, parameters: SessionParameters) -> None:
        """Change the configured timers; a Poll Sequence carries the change (RFC 5880 §6.8.3)."""
        before = (self.desired_min_tx_interval, self._parameters.required_min_rx_interval)
        self._parameters = parameters
        self._intervals_changed(before)

    def admin_down(self) -> None:
        """Take the session administratively down (RFC 5880 §6.8.16)."""
        if self.state != State.ADMIN_DOWN:
            self._last_rx_at = None
            self._change_state(State.ADMIN_DOWN, Diagnostic.ADMINISTRATIVELY_DOWN)

    def admin_up(self) -> None:
        """Leave AdminDown: the session starts again from Down (RFC 5880 §6.8.16)."""
        if self.state == State.ADMIN_DOWN:
            self._change_state(State.DOWN, Diagnostic.NO_DIAGNOSTIC)

    # -- output ----------------------------------------------------------------------------

    def packets_to_send(self, *, now: float) -> list[bytes]:
        """The packets due at `now`: a Final answering a Poll, and the periodic packet."""
        packets = []
        if self._final_due:
            # RFC 5880 §6.8.7: regardless of the transmit timer, state or Demand mode.
            self._final_due = False
            packets.append(self._control_packet(final=True).encode())
            self._send_now = False  # the Final carries the new state, if there is one
        next_tx_at = self._next_tx_at()
        if next_tx_at is not None and now >= next_tx_at:
            packets.append(self._control_packet(poll=self.poll_in_progress).encode())
            self._last_tx_at = now
            self._jitter_factor = self._draw_jitter()
            self._send_now = False
        return packets

    def get_timer(self) -> float | None:
        """When `handle_timer` / `packets_to_send` next have work (seconds), or None."""
        times = [t for t in (self._next_tx_at(), self._detection_deadline()) if t is not None]
        return min(times, default=None)

    def next_event(self) -> BfdEvent | None:
        """The oldest event not yet taken, or None."""
        return self._events.popleft() if self._events else None

    # -- internals -------------------------------------------------------------------------

    def _change_state(
        self, state: State, diag: Diagnostic, remote_admin_down: bool = False
    ) -> None:
        """Enter `state`, record why, queue the event, and announce it in a packet at once."""
        before = (self.desired_min_tx_interval, self._parameters.required_min_rx_interval)
        was_up = self.state == State.UP
        self.state = state
        self.local_diag = diag
        # Sent at once, not at the next periodic time: leaving Up stretches the interval to 1 s
        # (RFC 5880 §6.8.3), and the peer must hear of the change before its Detection Time.
        self._send_now = True
        if state == State.UP:
            self._events.append(SessionUp())
        elif was_up:
            self._events.append(SessionDown(diag, remote_admin_down))
        self._intervals_changed(before)  # Desired Min TX moves between 1 s and the configured

    def _intervals_changed(self, before: tuple[int, int]) -> None:
        """Apply a change of bfd.DesiredMinTxInterval or bfd.RequiredMinRxInterval (§6.8.3)."""
        tx, rx = self.desired_min_tx_interval, self._parameters.required_min_rx_interval
        if self.state != State.UP:
            self.poll_in_progress = self._poll_again = False
            self._tx_interval_in_use, self._rx_interval_in_use = tx, rx
            return
        if (tx, rx) == before:
            return
        # RFC 5880 §6.8.3: while Up, a slower transmit interval and a shorter Detection Time
        # wait for the Poll Sequence to end; the safe direction applies at once.
        self._tx_interval_in_use = min(self._tx_interval_in_use, tx)
        self._rx_interval_in_use = max(self._rx_interval_in_use, rx)
        if self.poll_in_progress:
            self._poll_again = True
        else:
            self._start_poll()

    def _start_poll(self) -> None:
        """RFC 5880 §6.5: send P in every packet until a packet with F comes back."""
        self.poll_in_progress = True
        self._poll_again = False
        self._values_being_polled = (
            self.desired_min_tx_interval,
            self._parameters.required_min_rx_interval,
        )

    def _terminate_poll(self) -> None:
        polled_tx, polled_rx = self._values_being_polled
        self.poll_in_progress = False
        self._tx_interval_in_use = min(polled_tx, self.desired_min_tx_interval)
        self._rx_interval_in_use = max(polled_rx, self._parameters.required_min_rx_interval)
        if self._poll_again:
            self._start_poll()

    def _control_packet(self, poll: bool = False, final: bool = False) -> ControlPacket:
        """The packet RFC 5880 §6.8.7 describes, from the current state."""
        return ControlPacket(
            diag=self.local_diag,
            state=self.state,
            poll=poll,
            final=final,
            detect_mult=self._parameters.detect_mult,
            my_discriminator=self.local_discriminator,
            your_discriminator=self.remote_discriminator,
            desired_min_tx_interval=self.desired_min_tx_interval,
            required_min_rx_interval=self._parameters.required_min_rx_interval,
            required_min_echo_rx_interval=0,  # no Echo function
        )

    def _periodic_transmission_allowed(self) -> bool:
        """RFC 5880 §6.8.7: not if the peer can take no packets, nor while Demand mode is
        active on the peer (unless polling)."""
        if self.remote_min_rx_interval == 0:
            return False
        remote_demand_active = (
            self.remote_demand_mode and self.state == State.UP and self.remote_state == State.UP
        )
        return not remote_demand_active or self.poll_in_progress

    def _next_tx_at(self) -> float | None:
        if not self._periodic_transmission_allowed():
            return None
        if self._send_now:
            return float("-inf")  # due at once
        return self._last_tx_at + self.transmit_interval * self._jitter_factor

    def _draw_jitter(self) -> float:
        """RFC 5880 §6.8.7: each interval is 75-100% of the nominal one; 75-90% when
        bfd.DetectMult is 1."""
        if self._parameters.detect_mult == 1:
            return 0.9 - 0.15 * self._random()
        return 1.0 - 0.25 * self._random()

    def _detection_deadline(self) -> float | None:
        detection_time = self.detection_time
        if self._last_rx_at is None or detection_time is None:
            return None
        return self._last_rx_at + detection_time
