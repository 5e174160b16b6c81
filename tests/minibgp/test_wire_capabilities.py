"""Golden bytes and round trips for capabilities (RFC 5492 §4)."""

from __future__ import annotations

import pytest

from minibgp.wire import FourOctetAS, Multiprotocol, RouteRefreshCapability, UnknownCapability
from minibgp.wire.capabilities import (
    Capability,
    decode_capabilities,
    decode_optional_parameters,
    encode_optional_parameters,
)
from minibgp.wire.errors import BGPError


@pytest.mark.parametrize(
    ("capability", "wire"),
    [
        (Multiprotocol(1, 1), "01 04 0001 00 01"),  # RFC 4760 §8: AFI, Reserved, SAFI
        (Multiprotocol(2, 1), "01 04 0002 00 01"),
        (RouteRefreshCapability(), "02 00"),  # RFC 2918 §2
        (FourOctetAS(4290001234), "41 04 ffb43952"),  # RFC 6793 §3
        (UnknownCapability(64, b"\x00\x78"), "40 02 0078"),  # e.g. Graceful Restart: kept
    ],
)
def test_golden_bytes(capability: Capability, wire: str) -> None:
    raw = bytes.fromhex(wire.replace(" ", ""))
    assert capability.pack() == raw
    assert decode_capabilities(raw) == [capability]


def test_several_capabilities_in_one_parameter() -> None:
    """RFC 5492 §4: one Capabilities parameter may hold several capabilities."""
    raw = bytes.fromhex("0e 02 0c 01 04 0001 00 01 41 04 0000fc08".replace(" ", ""))
    assert decode_optional_parameters(raw) == [Multiprotocol(1, 1), FourOctetAS(64520)]


def test_optional_parameters_round_trip() -> None:
    capabilities: list[Capability] = [Multiprotocol(1, 1), RouteRefreshCapability(), FourOctetAS(1)]
    raw = encode_optional_parameters(capabilities)
    assert raw == bytes.fromhex("14 0206010400010001 02020200 0206410400000001".replace(" ", ""))
    assert decode_optional_parameters(raw) == capabilities


@pytest.mark.parametrize(
    "wire",
    [
        "03 02 02 02",  # capability header cut short inside its parameter
        "04 02 02 01 04",  # Multiprotocol with a length beyond the parameter
        "06 02 04 01 02 0001",  # Multiprotocol of 2 octets
        "04 02 02 02 01",  # Route Refresh with a length of 1 but no value
        "05 02 03 02 01 00",  # Route Refresh with a value
    ],
)
def test_malformed_capabilities(wire: str) -> None:
    with pytest.raises(BGPError) as caught:
        decode_optional_parameters(bytes.fromhex(wire.replace(" ", "")))
    assert caught.value.code == 2
