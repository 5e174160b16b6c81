"""Golden bytes and round trips for every message (RFC 4271 §4, RFC 2918, RFC 4760, RFC 6793)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_network

import pytest

from minibgp.wire import (
    AS_TRANS,
    AsPath,
    CodecContext,
    FourOctetAS,
    Keepalive,
    Message,
    MessageReader,
    MpReachNlri,
    Multiprotocol,
    NextHop,
    Notification,
    Open,
    Origin,
    RouteRefresh,
    RouteRefreshCapability,
    UnknownCapability,
    Update,
    decode_message,
    encode_message,
)
from minibgp.wire.attributes import Aggregator, As4Aggregator, As4Path, AttributeType
from minibgp.wire.errors import BGPError, ErrorCode, OpenErrorSubcode

MARKER = "ff" * 16
FOUR = CodecContext(four_octet_as=True)
TWO = CodecContext(four_octet_as=False)


def h(text: str) -> bytes:
    """Octets from hex with spaces (layouts below are written field by field)."""
    return bytes.fromhex(text.replace(" ", ""))


def decode(raw: bytes, ctx: CodecContext = FOUR) -> Message:
    reader = MessageReader()
    reader.feed(raw)
    first = reader.next_message()
    assert first is not None and reader.buffered == 0
    return decode_message(first[0], first[1], ctx)


# --- OPEN ---------------------------------------------------------------------------------

# RFC 4271 §4.2: version 4, My AS 64520 (0xfc08), hold time 90, identifier 192.168.57.100,
# then one Capabilities parameter per capability (RFC 5492 §4).
OPEN_64520 = h(
    MARKER + " 0039 01"  # length 57, OPEN
    " 04 fc08 005a c0a83964"
    " 1c"  # Opt Parm Len 28
    " 02 06 01 04 0001 00 01"  # Multiprotocol ipv4 unicast (RFC 4760 §8)
    " 02 06 01 04 0002 00 01"  # Multiprotocol ipv6 unicast
    " 02 02 02 00"  # Route Refresh (RFC 2918 §2)
    " 02 06 41 04 0000fc08"  # 4-octet AS 64520 (RFC 6793 §3)
)


def test_open_golden_bytes() -> None:
    message = Open(
        64520,
        90,
        IPv4Address("192.168.57.100"),
        [Multiprotocol(1, 1), Multiprotocol(2, 1), RouteRefreshCapability(), FourOctetAS(64520)],
    )
    assert encode_message(message, FOUR) == OPEN_64520
    assert decode(OPEN_64520) == message


def test_open_adds_the_four_octet_capability_and_as_trans() -> None:
    """RFC 6793 §4.1: a 4-octet AS goes as AS_TRANS in My AS and in full in the capability."""
    raw = encode_message(
        Open(4290001234, 180, IPv4Address("192.168.57.10"), [Multiprotocol(1, 1)]), FOUR
    )
    assert raw[20:22] == AS_TRANS.to_bytes(2, "big")
    assert raw.endswith(h("02 06 41 04 ffb43952"))  # 4290001234
    decoded = decode(raw)
    assert isinstance(decoded, Open)
    assert decoded.my_as == 4290001234
    assert decoded.four_octet_as


def test_open_from_a_two_octet_speaker() -> None:
    raw = h(MARKER + " 001d 01 04 fc08 00b4 c0a83964 00")
    decoded = decode(raw)
    assert isinstance(decoded, Open)
    assert (decoded.my_as, decoded.hold_time, decoded.capabilities) == (64520, 180, [])
    assert not decoded.four_octet_as


def test_open_keeps_unknown_capabilities() -> None:
    raw = h(MARKER + " 0022 01 04 fc08 00b4 c0a83964 05 02 03 47 01 ff")
    decoded = decode(raw)
    assert isinstance(decoded, Open)
    assert decoded.capabilities == [UnknownCapability(0x47, b"\xff")]
    assert encode_message(decoded, FOUR).startswith(raw[:16])


def test_open_extended_optional_parameters_rfc9072() -> None:
    """Opt Parm Len 255, type 255, then a 2-octet length; parameters with 2-octet lengths."""
    many = [UnknownCapability(200, bytes(20)) for _ in range(12)]  # > 255 octets of parameters
    message = Open(64520, 90, IPv4Address("192.0.2.1"), [*many, FourOctetAS(64520)])
    raw = encode_message(message, FOUR)
    assert raw[28:30] == b"\xff\xff"
    assert decode(raw) == message


@pytest.mark.parametrize(
    ("body", "subcode", "data"),
    [
        ("03 fc08 005a c0a83964 00", OpenErrorSubcode.UNSUPPORTED_VERSION_NUMBER, b"\x00\x04"),
        ("04 fc08 0001 c0a83964 00", OpenErrorSubcode.UNACCEPTABLE_HOLD_TIME, b""),
        ("04 fc08 0002 c0a83964 00", OpenErrorSubcode.UNACCEPTABLE_HOLD_TIME, b""),
        ("04 fc08 005a 00000000 00", OpenErrorSubcode.BAD_BGP_IDENTIFIER, b""),
        ("04 fc08 005a c0a83964 03 01 01 00", OpenErrorSubcode.UNSUPPORTED_OPTIONAL_PARAMETER, b""),
        # Opt Parm Len that disagrees with the message, and a capability that overruns.
        ("04 fc08 005a c0a83964 09 02 02 02 00", OpenErrorSubcode.UNSPECIFIC, b""),
        ("04 fc08 005a c0a83964 04 02 02 41 04", OpenErrorSubcode.UNSPECIFIC, b""),
        # A 4-octet AS capability of 2 octets.
        ("04 fc08 005a c0a83964 04 02 04 41 02 fc08", OpenErrorSubcode.UNSPECIFIC, b""),
    ],
)
def test_open_errors(body: str, subcode: int, data: bytes) -> None:
    """RFC 4271 §6.2."""
    with pytest.raises(BGPError) as caught:
        decode_message(1, h(body), FOUR)
    assert (caught.value.code, caught.value.subcode, caught.value.data) == (2, subcode, data)


def test_open_hold_time_zero_is_fine() -> None:
    decoded = decode_message(1, h("04 fc08 0000 c0a83964 00"), FOUR)
    assert isinstance(decoded, Open) and decoded.hold_time == 0


# --- KEEPALIVE, NOTIFICATION, ROUTE-REFRESH --------------------------------------------------


def test_keepalive() -> None:
    assert encode_message(Keepalive(), FOUR) == h(MARKER + "0013 04")
    assert decode(h(MARKER + "0013 04")) == Keepalive()


def test_notification_golden_bytes() -> None:
    """RFC 4271 §4.5; RFC 8203 shutdown communication: length octet then UTF-8."""
    message = Notification.cease(2, "maintenance")
    raw = h(MARKER + "0021 03 06 02 0b") + b"maintenance"
    assert encode_message(message, FOUR) == raw
    decoded = decode(raw)
    assert decoded == message
    assert isinstance(decoded, Notification)
    assert decoded.shutdown_message == "maintenance"
    assert str(decoded) == 'Cease / Administrative Shutdown: "maintenance"'


def test_notification_with_data() -> None:
    raw = h(MARKER + "0017 03 01 02 0012")
    decoded = decode(raw)
    assert decoded == Notification(ErrorCode.MESSAGE_HEADER_ERROR, 2, b"\x00\x12")
    assert str(decoded) == "Message Header Error / Bad Message Length (data 0x0012)"


def test_route_refresh_golden_bytes() -> None:
    """RFC 2918 §3: AFI, Reserved (RFC 7313 subtype), SAFI."""
    raw = h(MARKER + "0017 05 0002 00 01")
    assert encode_message(RouteRefresh(2, 1), FOUR) == raw
    assert decode(raw) == RouteRefresh(2, 1)
    assert decode(h(MARKER + "0017 05 0001 02 01")) == RouteRefresh(1, 1, subtype=2)


def test_route_refresh_borr_with_extra_octets() -> None:
    """RFC 7313 §5: ROUTE-REFRESH Message Error / Invalid Message Length, data the message."""
    with pytest.raises(BGPError) as caught:
        decode_message(5, h("0001 01 01 00"), FOUR)
    assert (caught.value.code, caught.value.subcode) == (7, 1)
    assert caught.value.data == h(MARKER + "0018 05 0001 01 01 00")


# --- UPDATE -------------------------------------------------------------------------------

# RFC 4271 §4.3: no withdrawals; ORIGIN IGP, AS_PATH (AS_SEQUENCE 64520), NEXT_HOP
# 192.168.57.100; NLRI 169.254.0.1/32 and 10.0.0.0/8.
UPDATE_V4 = h(
    MARKER + "0032 02"
    " 0000"  # Withdrawn Routes Length
    " 0014"  # Total Path Attribute Length 20
    " 40 01 01 00"  # ORIGIN IGP
    " 40 02 06 02 01 0000fc08"  # AS_PATH: AS_SEQUENCE of 1, 4-octet 64520
    " 40 03 04 c0a83964"  # NEXT_HOP
    " 20 a9fe0001"  # 169.254.0.1/32
    " 08 0a"  # 10.0.0.0/8
)


def test_update_ipv4_golden_bytes() -> None:
    message = Update.build(
        announce=[ip_network("169.254.0.1/32"), ip_network("10.0.0.0/8")],
        attributes=[Origin(), AsPath.sequence([64520])],
        next_hop=IPv4Address("192.168.57.100"),
    )
    assert encode_message(message, FOUR) == UPDATE_V4
    decoded = decode(UPDATE_V4)
    assert decoded == message
    assert isinstance(decoded, Update)
    assert [str(p) for _, _, p in decoded.announced()] == ["169.254.0.1/32", "10.0.0.0/8"]
    assert decoded.attribute_set().next_hop == IPv4Address("192.168.57.100")
    assert decoded.is_end_of_rib() is None


def test_update_ipv4_withdraw_golden_bytes() -> None:
    raw = h(MARKER + "001c 02 0005 20 a9fe0001 0000")
    message = Update.build(withdraw=[ip_network("169.254.0.1/32")])
    assert encode_message(message, FOUR) == raw
    decoded = decode(raw)
    assert isinstance(decoded, Update)
    assert decoded.withdrawn_prefixes() == [(1, 1, ip_network("169.254.0.1/32"))]
    assert decoded.announced() == []


def test_update_ipv6_golden_bytes() -> None:
    """RFC 4760 §3 MP_REACH_NLRI with a global and a link-local next hop (RFC 2545 §3)."""
    raw = h(
        MARKER + "005d 02 0000 0046"
        " 40 01 01 00"
        " 40 02 06 02 01 0000fc08"
        " 80 0e 36 0002 01 20"  # AFI 2, SAFI 1, next hop length 32
        " 20010db8000000000000000000000001 fe800000000000000000000000000001"
        " 00"  # Reserved
        " 80 20010db8000000000000000000000001"  # 2001:db8::1/128
    )
    message = Update.build(
        announce=[ip_network("2001:db8::1/128")],
        attributes=[Origin(), AsPath.sequence([64520])],
        next_hop=[IPv6Address("2001:db8::1"), IPv6Address("fe80::1")],
    )
    assert encode_message(message, FOUR) == raw
    decoded = decode(raw)
    assert decoded == message
    assert isinstance(decoded, Update)
    assert decoded.announced() == [(2, 1, ip_network("2001:db8::1/128"))]
    mp_reach = decoded.mp_reach
    assert mp_reach is not None
    assert mp_reach.next_hops == (IPv6Address("2001:db8::1"), IPv6Address("fe80::1"))
    assert decoded.attribute_set((2, 1)).next_hop == IPv6Address("2001:db8::1")


def test_update_ipv6_withdraw() -> None:
    raw = h(MARKER + "0024 02 0000 000d 80 0f 0a 0002 01 30 20010db80001")
    message = Update.build(withdraw=[ip_network("2001:db8:1::/48")])
    assert encode_message(message, FOUR) == raw
    decoded = decode(raw)
    assert isinstance(decoded, Update)
    assert decoded.withdrawn_prefixes() == [(2, 1, ip_network("2001:db8:1::/48"))]


@pytest.mark.parametrize(
    ("family", "raw"),
    [
        ((1, 1), h(MARKER + "0017 02 0000 0000")),  # RFC 4724 §2: empty UPDATE
        ((2, 1), h(MARKER + "001d 02 0000 0006 80 0f 03 0002 01")),  # empty MP_UNREACH_NLRI
    ],
)
def test_end_of_rib(family: tuple[int, int], raw: bytes) -> None:
    assert encode_message(Update.end_of_rib(*family), FOUR) == raw
    decoded = decode(raw)
    assert isinstance(decoded, Update)
    assert decoded.is_end_of_rib() == family


def test_trailing_bits_of_a_prefix_are_ignored() -> None:
    """RFC 4271 §4.3: 10.1.2.255/23 on the wire is 10.1.2.0/23."""
    raw = h(MARKER + "002f 02 0000 0014 400101 00 400206 0201 0000fc08 400304 c0a83964 17 0a0103")
    decoded = decode(raw)
    assert isinstance(decoded, Update)
    assert decoded.announced() == [(1, 1, ip_network("10.1.2.0/23"))]


def test_build_refuses_mixed_families_and_missing_next_hop() -> None:
    with pytest.raises(ValueError):
        Update.build(announce=[ip_network("10.0.0.0/8"), ip_network("2001:db8::/32")])
    with pytest.raises(ValueError):
        Update.build(announce=[ip_network("10.0.0.0/8")])
    with pytest.raises(ValueError):
        Update.build(announce=[ip_network("2001:db8::/32")], next_hop=IPv4Address("192.0.2.1"))


# --- 4-octet AS numbers towards and from a 2-octet peer (RFC 6793 §4.2) ---------------------


def test_two_octet_session_sends_as_trans_and_as4_path() -> None:
    message = Update.build(
        announce=[ip_network("169.254.0.1/32")],
        attributes=[
            Origin(),
            AsPath.sequence([4290001234, 64520]),
            Aggregator(4290001234, IPv4Address("192.0.2.1")),
        ],
        next_hop=IPv4Address("192.168.57.100"),
    )
    raw = encode_message(message, TWO)
    # AS_PATH with 2-octet numbers: AS_TRANS then 64520.
    assert h("40 02 06 02 02 5ba0 fc08") in raw
    # AS4_PATH (optional transitive, 17) with the real numbers.
    assert h("c0 11 0a 02 02 ffb43952 0000fc08") in raw
    # AGGREGATOR with AS_TRANS, and AS4_AGGREGATOR (18) with the real AS.
    assert h("c0 07 06 5ba0 c0000201") in raw
    assert h("c0 12 08 ffb43952 c0000201") in raw
    decoded = decode(raw, TWO)
    assert isinstance(decoded, Update)
    attribute_set = decoded.attribute_set()
    assert attribute_set.as_path.asns == [4290001234, 64520]
    aggregator = attribute_set.aggregator
    assert aggregator is not None and aggregator.asn == 4290001234


def test_as4_path_merge_keeps_the_leading_two_octet_ases() -> None:
    """RFC 6793 §4.2.3: a 2-octet speaker prepended 65001 after the AS4_PATH was made."""
    raw = h(
        MARKER + "003f 02 0000 0023"
        " 40 01 01 00"
        " 40 02 08 02 03 fde9 5ba0 fc08"  # 65001 AS_TRANS 64520
        " 40 03 04 c0a83964"
        " c0 11 0a 02 02 ffb43952 0000fc08"  # AS4_PATH 4290001234 64520
        " 20 a9fe0001"
    )
    decoded = decode(raw, TWO)
    assert isinstance(decoded, Update)
    assert decoded.attribute_set().as_path.asns == [65001, 4290001234, 64520]


def test_as4_attributes_between_four_octet_speakers_are_discarded() -> None:
    """RFC 6793 §6."""
    message = Update(
        attributes=[
            Origin(),
            AsPath.sequence([64520]),
            NextHop(IPv4Address("192.0.2.1")),
            As4Path.sequence([1]),
            As4Aggregator(1, IPv4Address("192.0.2.1")),
        ],
        nlri=[ip_network("10.0.0.0/8")],
    )
    decoded = decode(encode_message(message, FOUR))
    assert isinstance(decoded, Update)
    dropped = {d.type_code for d in decoded.discarded_attributes}
    assert dropped == {AttributeType.AS4_PATH, AttributeType.AS4_AGGREGATOR}
    assert decoded.attribute_set().as_path.asns == [64520]
    assert not decoded.treat_as_withdraw


def test_update_too_big_is_refused_when_encoding() -> None:
    many = [ip_network(f"10.{i // 256}.{i % 256}.0/24") for i in range(1100)]
    message = Update.build(announce=many, attributes=[Origin()], next_hop=IPv4Address("1.2.3.4"))
    with pytest.raises(ValueError):
        encode_message(message, FOUR)


def test_mp_reach_of_an_unknown_family_is_kept_raw() -> None:
    attribute = MpReachNlri(25, 65, (), (), b"\x01\x02\x03\x04", b"\xaa\xbb")
    raw = encode_message(Update(attributes=[Origin(), AsPath(), attribute]), FOUR)
    decoded = decode(raw)
    assert isinstance(decoded, Update)
    assert decoded.announced() == []
    mp_reach = decoded.mp_reach
    assert mp_reach is not None
    assert (mp_reach.raw_next_hop, mp_reach.raw_nlri) == (b"\x01\x02\x03\x04", b"\xaa\xbb")
    assert encode_message(decoded, FOUR) == raw


@pytest.mark.parametrize(
    ("code", "subcode", "text"),
    [
        (1, 1, "Message Header Error / Connection Not Synchronized"),
        (2, 6, "OPEN Message Error / Unacceptable Hold Time"),
        (3, 11, "UPDATE Message Error / Malformed AS_PATH"),
        (4, 0, "Hold Timer Expired"),
        (5, 2, "Finite State Machine Error / Receive Unexpected Message in OpenConfirm State"),
        (6, 10, "Cease / BFD Down"),  # RFC 9384
        (7, 1, "ROUTE-REFRESH Message Error / Invalid Message Length"),
        (6, 99, "Cease / unknown subcode 99"),
        (42, 1, "unknown error code 42 / subcode 1"),
    ],
)
def test_notification_names_as_the_rfcs_spell_them(code: int, subcode: int, text: str) -> None:
    assert str(Notification(code, subcode)) == text
