"""The BFD Control packet: golden bytes, round trips, and every discard rule of RFC 5880 §6.8.6."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minibgp.bfd.packet import BfdPacketError, ControlPacket, Diagnostic, State

# RFC 5880 §4.1, laid out by hand: Vers 1 Diag 0 | Sta Up, no flags | Detect Mult 3 | Length 24 |
# My Discr 1 | Your Discr 2 | Desired Min TX 100 ms | Required Min RX 100 ms | Echo RX 0.
UP_PACKET = bytes.fromhex("20c00318 00000001 00000002 000186a0 000186a0 00000000")


def packet_bytes(
    version: int = 1,
    diag: int = 0,
    state: int = 3,
    flags: int = 0,
    detect_mult: int = 3,
    length: int = 24,
    my_discriminator: int = 1,
    your_discriminator: int = 2,
    trailer: bytes = b"",
) -> bytes:
    header = bytes(((version << 5) | diag, (state << 6) | flags, detect_mult, length))
    fields = (my_discriminator, your_discriminator, 100_000, 100_000, 0)
    return header + b"".join(v.to_bytes(4, "big") for v in fields) + trailer


def test_decodes_a_hand_built_up_packet() -> None:
    packet = ControlPacket.decode(UP_PACKET)
    assert packet.state == State.UP
    assert packet.diag == Diagnostic.NO_DIAGNOSTIC
    assert packet.detect_mult == 3
    assert (packet.my_discriminator, packet.your_discriminator) == (1, 2)
    assert packet.desired_min_tx_interval == packet.required_min_rx_interval == 100_000
    assert not (packet.poll or packet.final or packet.demand or packet.multipoint)


def test_encodes_the_same_bytes() -> None:
    packet = ControlPacket(
        state=State.UP,
        detect_mult=3,
        my_discriminator=1,
        your_discriminator=2,
        desired_min_tx_interval=100_000,
        required_min_rx_interval=100_000,
    )
    assert packet.encode() == UP_PACKET


def test_flags_and_diag_land_in_their_bits() -> None:
    packet = ControlPacket(
        state=State.DOWN,
        diag=Diagnostic.CONTROL_DETECTION_TIME_EXPIRED,
        poll=True,
        detect_mult=5,
        my_discriminator=0xDEADBEEF,
        your_discriminator=0,
        desired_min_tx_interval=1_000_000,
        required_min_rx_interval=300_000,
    )
    data = packet.encode()
    assert data[0] == 0x21  # version 1, diag 1
    assert data[1] == 0x60  # state Down (01), P
    assert ControlPacket.decode(data) == packet


def test_final_round_trips() -> None:
    data = packet_bytes(flags=0x10)
    assert ControlPacket.decode(data).final


def test_octets_beyond_length_are_ignored() -> None:
    assert ControlPacket.decode(UP_PACKET + b"\x00" * 8) == ControlPacket.decode(UP_PACKET)


def test_reserved_diag_values_are_accepted() -> None:
    assert ControlPacket.decode(packet_bytes(diag=20)).diag == 20


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (UP_PACKET[:23], "shorter"),
        (packet_bytes(version=0), "version"),
        (packet_bytes(version=2), "version"),
        (packet_bytes(length=23), "less than the minimum"),
        (packet_bytes(flags=0x04, length=24), "less than the minimum 26"),  # A bit: 26 octets
        (packet_bytes(length=28), "exceeds"),
        (packet_bytes(detect_mult=0), "Detect Mult"),
        (packet_bytes(flags=0x01), "Multipoint"),
        (packet_bytes(my_discriminator=0), "My Discriminator"),
        (packet_bytes(state=3, your_discriminator=0), "Your Discriminator"),
        (packet_bytes(state=2, your_discriminator=0), "Your Discriminator"),
        (packet_bytes(flags=0x04, length=26, trailer=b"\x01\x02"), "Authentication"),
        (packet_bytes(flags=0x30), "both the Poll"),
    ],
)
def test_discard_rules(data: bytes, reason: str) -> None:
    with pytest.raises(BfdPacketError, match=reason):
        ControlPacket.decode(data)


@pytest.mark.parametrize("state", [0, 1])
def test_zero_your_discriminator_is_fine_while_down_or_admin_down(state: int) -> None:
    assert ControlPacket.decode(packet_bytes(state=state, your_discriminator=0)).state == state


@given(st.binary(max_size=64))
def test_garbage_only_ever_raises_bfd_packet_error(data: bytes) -> None:
    try:
        packet = ControlPacket.decode(data)
    except BfdPacketError:
        return
    assert ControlPacket.decode(packet.encode()) == packet
