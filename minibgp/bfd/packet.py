"""The BFD Control packet (RFC 5880 §4.1): encoding, decoding and the reception checks of §6.8.6.

Intervals are carried in microseconds, as on the wire. Authentication (RFC 5880 §4.2, §6.7) is
not supported: packets with the A bit set are rejected, as §6.8.6 prescribes for a session that
uses no authentication.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

VERSION = 1  # RFC 5880 §4.1
CONTROL_PACKET_LENGTH = 24  # RFC 5880 §4.1, without the Authentication Section
MINIMUM_LENGTH_WITH_AUTHENTICATION = 26  # RFC 5880 §6.8.6

_FORMAT = struct.Struct("!BBBBIIIII")

# The flag bits of the second octet (RFC 5880 §4.1): Sta(2) P F C A D M.
_POLL = 0x20
_FINAL = 0x10
_CONTROL_PLANE_INDEPENDENT = 0x08
_AUTHENTICATION_PRESENT = 0x04
_DEMAND = 0x02
_MULTIPOINT = 0x01


class State(IntEnum):
    """Session states (RFC 5880 §4.1 "Sta", §6.2)."""

    ADMIN_DOWN = 0
    DOWN = 1
    INIT = 2
    UP = 3


class Diagnostic(IntEnum):
    """Diagnostic codes: why the sender's session last changed state (RFC 5880 §4.1 "Diag")."""

    NO_DIAGNOSTIC = 0
    CONTROL_DETECTION_TIME_EXPIRED = 1
    ECHO_FUNCTION_FAILED = 2
    NEIGHBOR_SIGNALED_SESSION_DOWN = 3
    FORWARDING_PLANE_RESET = 4
    PATH_DOWN = 5
    CONCATENATED_PATH_DOWN = 6
    ADMINISTRATIVELY_DOWN = 7
    REVERSE_CONCATENATED_PATH_DOWN = 8


class BfdPacketError(ValueError):
    """A received packet that RFC 5880 §6.8.6 says to discard; the message says which rule."""


@dataclass(frozen=True)
class ControlPacket:
    """One BFD Control packet (RFC 5880 §4.1). Intervals are in microseconds."""

    state: State
    detect_mult: int
    my_discriminator: int
    your_discriminator: int
    desired_min_tx_interval: int
    required_min_rx_interval: int
    required_min_echo_rx_interval: int = 0
    diag: int = Diagnostic.NO_DIAGNOSTIC  # an int: values 9-31 are reserved but not invalid
    poll: bool = False
    final: bool = False
    control_plane_independent: bool = False
    authentication_present: bool = False
    demand: bool = False
    multipoint: bool = False
    version: int = VERSION

    def encode(self) -> bytes:
        """The packet's 24 octets (no Authentication Section is ever sent)."""
        flags = (
            (self.state << 6)
            | (_POLL if self.poll else 0)
            | (_FINAL if self.final else 0)
            | (_CONTROL_PLANE_INDEPENDENT if self.control_plane_independent else 0)
            | (_DEMAND if self.demand else 0)
            | (_MULTIPOINT if self.multipoint else 0)
        )
        return _FORMAT.pack(
            (self.version << 5) | (self.diag & 0x1F),
            flags,
            self.detect_mult,
            CONTROL_PACKET_LENGTH,
            self.my_discriminator,
            self.your_discriminator,
            self.desired_min_tx_interval,
            self.required_min_rx_interval,
            self.required_min_echo_rx_interval,
        )

    @classmethod
    def decode(cls, data: bytes) -> ControlPacket:
        """Parse a UDP payload; raise `BfdPacketError` for anything §6.8.6 discards."""
        if len(data) < CONTROL_PACKET_LENGTH:
            raise BfdPacketError(f"{len(data)} octets is shorter than a Control packet (24)")
        (
            version_diag,
            flags,
            detect_mult,
            length,
            my_discriminator,
            your_discriminator,
            desired_min_tx,
            required_min_rx,
            required_min_echo_rx,
        ) = _FORMAT.unpack_from(data)
        packet = cls(
            version=version_diag >> 5,
            diag=version_diag & 0x1F,
            state=State(flags >> 6),
            poll=bool(flags & _POLL),
            final=bool(flags & _FINAL),
            control_plane_independent=bool(flags & _CONTROL_PLANE_INDEPENDENT),
            authentication_present=bool(flags & _AUTHENTICATION_PRESENT),
            demand=bool(flags & _DEMAND),
            multipoint=bool(flags & _MULTIPOINT),
            detect_mult=detect_mult,
            my_discriminator=my_discriminator,
            your_discriminator=your_discriminator,
            desired_min_tx_interval=desired_min_tx,
            required_min_rx_interval=required_min_rx,
            required_min_echo_rx_interval=required_min_echo_rx,
        )
        packet._validate(length, len(data))
        return packet

    def _validate(self, length: int, payload_length: int) -> None:
        """The packet-level reception checks of RFC 5880 §6.8.6, in the RFC's order."""
        if self.version != VERSION:
            raise BfdPacketError(f"version {self.version} is not 1")
        minimum = (
            MINIMUM_LENGTH_WITH_AUTHENTICATION
            if self.authentication_present
            else CONTROL_PACKET_LENGTH
        )
        if length < minimum:
            raise BfdPacketError(f"Length {length} is less than the minimum {minimum}")
        if length > payload_length:
            raise BfdPacketError(f"Length {length} exceeds the {payload_length}-octet payload")
        if self.detect_mult == 0:
            raise BfdPacketError("Detect Mult is zero")
        if self.multipoint:
            raise BfdPacketError("the Multipoint (M) bit is set")
        if self.my_discriminator == 0:
            raise BfdPacketError("My Discriminator is zero")
        if self.your_discriminator == 0 and self.state not in (State.DOWN, State.ADMIN_DOWN):
            raise BfdPacketError(f"Your Discriminator is zero in state {self.state.name}")
        if self.authentication_present:
            # RFC 5880 §6.8.6: A bit set and bfd.AuthType zero (we never authenticate).
            raise BfdPacketError("the Authentication Present (A) bit is set; no auth is in use")
        if self.poll and self.final:
            # RFC 5880 §6.5: a packet MUST NOT have both the Poll and the Final bit set.
            raise BfdPacketError("both the Poll (P) and the Final (F) bit are set")
