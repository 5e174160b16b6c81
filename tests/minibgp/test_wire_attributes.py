"""Golden bytes and round trips for every path attribute (RFC 4271 §4.3, §5 and extensions)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_network

import pytest

from minibgp.wire import CodecContext
from minibgp.wire.attributes import (
    ATTRIBUTE_CLASSES,
    Aggregator,
    As4Aggregator,
    As4Path,
    AsPath,
    AtomicAggregate,
    AttributeFlag,
    AttributeSet,
    Communities,
    LargeCommunity,
    LocalPref,
    MpReachNlri,
    MpUnreachNlri,
    MultiExitDisc,
    NextHop,
    Origin,
    OriginType,
    PathAttribute,
    Segment,
    SegmentType,
    UnknownAttribute,
    community_from_text,
    community_to_text,
    decode_path_attributes,
    large_community_from_text,
)

FOUR = CodecContext(four_octet_as=True)
TWO = CodecContext(four_octet_as=False)


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# (attribute, session, whole attribute on the wire: flags, type, length, value)
GOLDEN: list[tuple[PathAttribute, CodecContext, str]] = [
    (Origin(OriginType.IGP), FOUR, "40 01 01 00"),
    (Origin(OriginType.EGP), FOUR, "40 01 01 01"),
    (Origin(OriginType.INCOMPLETE), FOUR, "40 01 01 02"),
    (AsPath(), FOUR, "40 02 00"),
    (AsPath.sequence([64520, 4290001234]), FOUR, "40 02 0a 02 02 0000fc08 ffb43952"),
    (AsPath.sequence([64520, 64521]), TWO, "40 02 06 02 02 fc08 fc09"),
    (
        AsPath((Segment(SegmentType.AS_SEQUENCE, (1, 2)), Segment(SegmentType.AS_SET, (3, 4)))),
        FOUR,
        "40 02 14 02 02 00000001 00000002 01 02 00000003 00000004",
    ),
    (
        AsPath((Segment(SegmentType.AS_CONFED_SEQUENCE, (65001,)),)),
        FOUR,
        "40 02 06 03 01 0000fde9",
    ),
    (NextHop(IPv4Address("192.168.57.100")), FOUR, "40 03 04 c0a83964"),
    (MultiExitDisc(100), FOUR, "80 04 04 00000064"),
    (LocalPref(200), FOUR, "40 05 04 000000c8"),
    (AtomicAggregate(), FOUR, "40 06 00"),
    (Aggregator(64520, IPv4Address("192.0.2.1")), FOUR, "c0 07 08 0000fc08 c0000201"),
    (Aggregator(64520, IPv4Address("192.0.2.1")), TWO, "c0 07 06 fc08 c0000201"),
    (Communities((0xFFFF0000, 64520 << 16 | 100)), FOUR, "c0 08 08 ffff0000 fc080064"),
    (
        MpReachNlri(2, 1, (IPv6Address("2001:db8::1"),), [ip_network("2001:db8:1::/48")]),
        FOUR,
        "80 0e 1c 0002 01 10 20010db8000000000000000000000001 00 30 20010db80001",
    ),
    (
        MpReachNlri(1, 1, (IPv4Address("192.0.2.1"),), [ip_network("10.0.0.0/8")]),
        FOUR,
        "80 0e 0b 0001 01 04 c0000201 00 08 0a",
    ),
    (MpUnreachNlri(2, 1, [ip_network("2001:db8::/32")]), FOUR, "80 0f 08 0002 01 20 20010db8"),
    (MpUnreachNlri(2, 1), FOUR, "80 0f 03 0002 01"),
    (As4Path.sequence([4290001234]), TWO, "c0 11 06 02 01 ffb43952"),
    (As4Aggregator(4290001234, IPv4Address("192.0.2.1")), TWO, "c0 12 08 ffb43952 c0000201"),
    (LargeCommunity(((64520, 1, 2),)), FOUR, "c0 20 0c 0000fc08 00000001 00000002"),
    (UnknownAttribute(99, 0xC0, b"\x01\x02"), FOUR, "c0 63 02 0102"),
]


@pytest.mark.parametrize(
    ("attribute", "ctx", "wire"),
    GOLDEN,
    ids=[f"{a.name}-{i}" for i, (a, _, _) in enumerate(GOLDEN)],
)
def test_golden_bytes(attribute: PathAttribute, ctx: CodecContext, wire: str) -> None:
    raw = h(wire)
    assert attribute.pack(ctx) == raw
    if isinstance(attribute, UnknownAttribute):
        return
    header = 4 if raw[0] & AttributeFlag.EXTENDED_LENGTH else 3
    assert type(attribute).unpack_value(raw[header:], ctx) == attribute


def test_four_octet_as_becomes_as_trans_for_a_two_octet_peer() -> None:
    """RFC 6793 §4.2.2: AS_TRANS (23456) stands in for an AS above 65535."""
    raw = AsPath.sequence([4290001234]).pack(TWO)
    assert raw == h("40 02 04 02 01 5ba0")
    assert AsPath.unpack_value(raw[3:], TWO).asns == [23456]


def test_every_attribute_class_has_a_golden_case() -> None:
    covered = {type(a) for a, _, _ in GOLDEN}
    assert set(ATTRIBUTE_CLASSES.values()) <= covered


def test_extended_length_above_255_octets() -> None:
    """RFC 4271 §4.3: Extended Length bit and a 2-octet length when the value exceeds 255."""
    communities = Communities(tuple(range(100)))  # 400 octets
    raw = communities.pack(FOUR)
    assert raw[:4] == h("d0 08 0190")
    decoded = decode_path_attributes(raw, FOUR)
    assert decoded.shared.communities == tuple(range(100))


def test_extended_length_on_a_short_attribute_is_accepted() -> None:
    decoded = decode_path_attributes(h("50 01 0001 00"), FOUR)
    assert decoded.shared.origin is OriginType.IGP


def test_long_as_sequence_is_split_into_segments_of_255() -> None:
    path = AsPath.sequence(range(1, 301))
    raw = path.pack(FOUR)
    assert raw[:4] == h("50 02 04b4")  # 2 + 255*4 + 2 + 45*4 = 1204
    decoded = AsPath.unpack_value(raw[4:], FOUR)
    assert [len(s.asns) for s in decoded.segments] == [255, 45]
    assert decoded.asns == list(range(1, 301))
    assert decoded.path_length == 300


def test_path_length_counts_a_set_as_one() -> None:
    """RFC 4271 §9.1.2.2 a; confederation segments count zero (RFC 5065 §5.3)."""
    path = AsPath(
        (
            Segment(SegmentType.AS_CONFED_SEQUENCE, (65001, 65002)),
            Segment(SegmentType.AS_SEQUENCE, (1, 2)),
            Segment(SegmentType.AS_SET, (3, 4, 5)),
        )
    )
    assert path.path_length == 3
    assert path.describe() == "(65001 65002) 1 2 {3 4 5}"


def test_unknown_optional_transitive_is_kept_and_passed_on_as_partial() -> None:
    decoded = decode_path_attributes(h("40 01 01 00 c0 63 02 0102"), FOUR)
    unknown = decoded.shared.get(99)
    assert isinstance(unknown, UnknownAttribute)
    assert not unknown.partial
    passed_on = unknown.passed_on()
    assert passed_on.partial
    assert passed_on.pack(FOUR) == h("e0 63 02 0102")  # RFC 4271 §5: Partial bit set


def test_unknown_optional_non_transitive_is_dropped() -> None:
    decoded = decode_path_attributes(h("40 01 01 00 80 63 02 0102"), FOUR)
    assert decoded.shared.get(99) is None
    assert [d.type_code for d in decoded.shared.discarded] == [99]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("64520:100", 64520 << 16 | 100),
        ("no-export", 0xFFFFFF01),
        ("NO_ADVERTISE", 0xFFFFFF02),
        ("graceful-shutdown", 0xFFFF0000),  # RFC 8326
        ("blackhole", 0xFFFF029A),  # RFC 7999
        ("no-peer", 0xFFFFFF04),  # RFC 3765 NOPEER, as FRR writes it
        ("NOPEER", 0xFFFFFF04),
        ("local-as", 0xFFFFFF03),  # NO_EXPORT_SUBCONFED, as FRR and Cisco write it
    ],
)
def test_community_text(text: str, value: int) -> None:
    assert community_from_text(text) == value


def test_community_names_when_shown() -> None:
    assert community_to_text(0xFFFF0000) == "GRACEFUL_SHUTDOWN"
    assert community_to_text(64520 << 16 | 100) == "64520:100"
    assert Communities.from_text(["64520:1", "no-export"]).describe() == "64520:1 NO_EXPORT"


@pytest.mark.parametrize("text", ["65536:1", "1:65536", "x:1", "1", "no-such-name"])
def test_bad_community_text(text: str) -> None:
    with pytest.raises(ValueError):
        community_from_text(text)


def test_large_community_text() -> None:
    assert large_community_from_text("4290001234:1:2") == (4290001234, 1, 2)
    assert LargeCommunity.from_text(["1:2:3"]).to_json() == ["1:2:3"]
    with pytest.raises(ValueError):
        large_community_from_text("1:2")
    with pytest.raises(ValueError):
        large_community_from_text("4294967296:0:0")


def test_attribute_set_accessors_and_json() -> None:
    attribute_set = AttributeSet(
        [
            Origin(),
            AsPath.sequence([64520]),
            NextHop(IPv4Address("192.0.2.1")),
            MultiExitDisc(5),
            LocalPref(100),
            Communities((0xFFFFFF01,)),
            LargeCommunity(((1, 2, 3),)),
        ]
    )
    assert attribute_set.origin is OriginType.IGP
    assert attribute_set.as_path.asns == [64520]
    assert attribute_set.next_hop == IPv4Address("192.0.2.1")
    assert (attribute_set.med, attribute_set.local_pref) == (5, 100)
    assert attribute_set.communities == (0xFFFFFF01,)
    assert attribute_set.large_communities == ((1, 2, 3),)
    assert attribute_set.to_json() == {
        "origin": "igp",
        "as_path": [{"type": "AS_SEQUENCE", "asns": [64520]}],
        "next_hop": "192.0.2.1",
        "multi_exit_disc": 5,
        "local_pref": 100,
        "communities": ["NO_EXPORT"],
        "large_community": ["1:2:3"],
    }
    assert attribute_set == AttributeSet(list(attribute_set.attributes))
