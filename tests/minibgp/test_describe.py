"""Messages explained field by field (`--trace`, `python -m minibgp decode HEX`)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_network

from minibgp.describe import decode_hex, describe_message
from minibgp.wire import (
    AsPath,
    CodecContext,
    Communities,
    FourOctetAS,
    Multiprotocol,
    Notification,
    Open,
    Origin,
    Update,
    encode_message,
)

CTX = CodecContext()


def test_open_fields_with_rfc_sections() -> None:
    raw = encode_message(
        Open(4290001234, 90, IPv4Address("192.168.57.10"), [Multiprotocol(1, 1)]), CTX
    )
    text = describe_message(raw, CTX)
    assert "OPEN message, 45 octets" in text
    assert "  Hold Time: 90 s  (RFC 4271 §4.2)" in text
    assert "My Autonomous System: 23456 (AS_TRANS" in text
    assert "BGP Identifier: 192.168.57.10  (RFC 4271 §4.2)" in text
    assert "Capability 1 Multiprotocol Extensions: ipv4 unicast" in text
    assert "Capability 65 Support for 4-octet AS number: AS 4290001234  (RFC 6793 §3)" in text
    assert FourOctetAS(4290001234).describe() == "AS 4290001234"


def test_update_fields() -> None:
    update = Update.build(
        announce=[ip_network("169.254.0.1/32")],
        attributes=[Origin(), AsPath.sequence([64520]), Communities((0xFFFF0000,))],
        next_hop=IPv4Address("192.168.57.100"),
    )
    text = describe_message(encode_message(update, CTX), CTX)
    assert "  Path Attribute: AS_PATH  (RFC 4271 §5.1.2)" in text
    assert "    Flags: 0x40 (Transitive)  (RFC 4271 §4.3)" in text
    assert "    Path segment: AS_SEQUENCE, 1 AS: 64520  (RFC 4271 §4.3 b)" in text
    assert "    Value: GRACEFUL_SHUTDOWN" in text
    assert "Network Layer Reachability Information: 169.254.0.1/32  (RFC 4271 §4.3)" in text


def test_end_of_rib_and_notification() -> None:
    text = describe_message(encode_message(Update.end_of_rib(), CTX), CTX)
    assert "End-of-RIB for ipv4 unicast  (RFC 4724 §2)" in text
    text = describe_message(encode_message(Notification.cease(2, "bye"), CTX), CTX)
    assert "Error subcode: 2 (Cease / Administrative Shutdown)" in text
    assert "Shutdown Communication: 'bye'  (RFC 8203 §2)" in text


def test_malformed_message_shows_the_answer() -> None:
    text = decode_hex("ff" * 16 + "001d 01 03 fc08 005a c0000201 00")
    assert "Version: 3" in text
    assert "Answer: NOTIFICATION 2/1 OPEN Message Error / Unsupported Version Number" in text


def test_treat_as_withdraw_is_shown() -> None:
    body = "0000 0014 40010103 400206020100 00fc08 400304c0000201 080a"
    text = decode_hex(body)
    assert text.startswith("(no header given: read as the body of an UPDATE)")
    assert "Value: MALFORMED: ORIGIN: undefined value 3" in text
    assert "RFC 7606 outcome: treat-as-withdraw" in text


def test_hex_forms_accepted() -> None:
    keepalive = "ff" * 16 + "0013 04"
    with_colons = ":".join(["FF" * 16, "0013", "04"])
    without_marker = "001304"
    for text in (keepalive, with_colons, "0x" + keepalive.replace(" ", ""), without_marker):
        assert decode_hex(text).splitlines()[-3:] == [
            "  Marker: all ones  (RFC 4271 §4.1)",
            "  Length: 19  (RFC 4271 §4.1)",
            "  Type: 4 (KEEPALIVE)  (RFC 4271 §4.1)",
        ]
    assert decode_hex("zz").startswith("not hexadecimal")
    assert "shorter than a BGP header" in decode_hex("ff" * 17)
    assert "Answer: NOTIFICATION 1/2" in decode_hex("ffff")  # too short for an UPDATE body


def test_ipv6_update_fields() -> None:
    update = Update.build(
        announce=[ip_network("2001:db8::/32")],
        attributes=[Origin(), AsPath.sequence([64520])],
        next_hop=[IPv6Address("2001:db8::1"), IPv6Address("fe80::1")],
    )
    text = describe_message(encode_message(update, CTX), CTX)
    assert "    Address Family Identifier: 2 (ipv6)  (RFC 4760 §3)" in text
    assert "fe80::1 (link-local, RFC 2545 §3)" in text
    assert "    Network Layer Reachability Information: 2001:db8::/32  (RFC 4760 §3)" in text
