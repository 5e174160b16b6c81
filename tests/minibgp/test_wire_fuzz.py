"""Random and mutated input never raises anything but BGPError (Hypothesis)."""

from __future__ import annotations

import contextlib
from ipaddress import IPv4Address, ip_network

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minibgp.describe import describe_message, explain_hex, parse_hex
from minibgp.wire import (
    AsPath,
    CodecContext,
    Communities,
    FourOctetAS,
    LargeCommunity,
    MessageReader,
    MultiExitDisc,
    Multiprotocol,
    Notification,
    Open,
    Origin,
    RouteRefreshCapability,
    Update,
    decode_message,
    encode_message,
)
from minibgp.wire.attributes import (
    Aggregator,
    As4Aggregator,
    As4Path,
    AtomicAggregate,
    LocalPref,
    NextHop,
    Segment,
    SegmentType,
)
from minibgp.wire.errors import BGPError

CTX = CodecContext()
VALID = [
    encode_message(
        Open(
            4290001234,
            90,
            IPv4Address("192.0.2.1"),
            [Multiprotocol(1, 1), RouteRefreshCapability(), FourOctetAS(1)],
        ),
        CTX,
    ),
    encode_message(
        Update.build(
            announce=[ip_network("192.0.2.0/24"), ip_network("10.0.0.0/8")],
            withdraw=[ip_network("198.51.100.0/25"), ip_network("2001:db8::/32")],
            attributes=[
                Origin(),
                AsPath.sequence([64520, 4290001234]),
                MultiExitDisc(5),
                LocalPref(100),
                AtomicAggregate(),
                Aggregator(64520, IPv4Address("192.0.2.1")),
                Communities((0xFFFF0000, 1)),
                LargeCommunity(((1, 2, 3),)),
            ],
            next_hop=ip_network("192.0.2.1/32").network_address,
        ),
        CTX,
    ),
    encode_message(
        Update.build(
            announce=[ip_network("2001:db8::/48")],
            attributes=[Origin(), AsPath.sequence([64520])],
            next_hop=[ip_network("2001:db8::1/128").network_address],
        ),
        CTX,
    ),
    encode_message(  # from a 2-octet speaker: AS_TRANS, AS4_PATH, AS4_AGGREGATOR, a set
        Update(
            attributes=[
                Origin(),
                AsPath(
                    (
                        Segment(SegmentType.AS_SEQUENCE, (65001, 23456)),
                        Segment(SegmentType.AS_SET, (1, 2)),
                    )
                ),
                NextHop(IPv4Address("192.0.2.1")),
                Aggregator(23456, IPv4Address("192.0.2.1")),
                As4Path(
                    (
                        Segment(SegmentType.AS_SEQUENCE, (4290001234,)),
                        Segment(SegmentType.AS_SET, (7, 8)),
                    )
                ),
                As4Aggregator(4290001234, IPv4Address("192.0.2.1")),
            ],
            nlri=[ip_network("10.0.0.0/8")],
        ),
        CodecContext(four_octet_as=False),
    ),
    encode_message(Notification.cease(2, "maintenance"), CTX),
    encode_message(Update.end_of_rib(2, 1), CTX),
]


def decode_all(raw: bytes, four_octet_as: bool) -> None:
    reader = MessageReader()
    reader.feed(raw)
    ctx = CodecContext(four_octet_as=four_octet_as)
    try:
        for msg_type, body in reader:
            message = decode_message(msg_type, body, ctx)
            if isinstance(message, Update):
                message.announced()
                message.withdrawn_prefixes()
                message.is_end_of_rib()
                for _, _, attribute_set in message.announced_groups():
                    attribute_set.to_json()  # AS4_PATH merge, aggregator, next hop
                    attribute_set.describe()
    except BGPError:
        pass
    describe_message(raw, ctx)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msg_type=st.integers(1, 5), body=st.binary(max_size=120), four=st.booleans())
def test_random_bodies(msg_type: int, body: bytes, four: bool) -> None:
    header = b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + bytes((msg_type,))
    decode_all(header + body, four)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(0, len(VALID) - 1),
    edits=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.integers(0, 200),
    four=st.booleans(),
)
def test_mutated_messages(index: int, edits: list[tuple[int, int]], cut: int, four: bool) -> None:
    raw = bytearray(VALID[index])
    for position, value in edits:
        raw[19 + position % max(len(raw) - 19, 1) if len(raw) > 19 else 0] = value
    decode_all(bytes(raw), four)
    decode_all(bytes(raw[: len(raw) - cut % len(raw)]), four)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=80))
def test_explain_hex_refuses_only_what_is_not_hex(text: str) -> None:
    try:
        parse_hex(text)
    except ValueError:
        with pytest.raises(ValueError):
            explain_hex(text)
        return
    assert isinstance(explain_hex(text).text, str)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=80))
def test_explain_hex_explains_any_octets(data: bytes) -> None:
    explanation = explain_hex(data.hex())
    assert explanation.text and (explanation.answer is None or explanation.answer.code >= 1)


@settings(max_examples=200, deadline=None)
@given(msg_type=st.integers(0, 255), body=st.binary(max_size=40))
def test_decode_message_alone_never_raises_anything_else(msg_type: int, body: bytes) -> None:
    """decode_message checks the body length itself, for callers without a MessageReader."""
    with contextlib.suppress(BGPError):
        decode_message(msg_type, body, CodecContext())
