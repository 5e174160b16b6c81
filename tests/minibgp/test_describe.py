"""Messages explained field by field (`--trace`, `python -m minibgp decode HEX`)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_network

import pytest

from minibgp.describe import describe_message, explain_hex
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
    text = explain_hex("ff" * 16 + "001d 01 03 fc08 005a c0000201 00").text
    assert "Version: 3" in text
    assert "Answer: NOTIFICATION 2/1 OPEN Message Error / Unsupported Version Number" in text


def test_treat_as_withdraw_is_shown() -> None:
    body = "0000 0014 40010103 400206020100 00fc08 400304c0000201 080a"
    text = explain_hex(body).text
    assert text.startswith("(no header given: read as the body of an UPDATE)")
    assert "Value: MALFORMED: ORIGIN: undefined value 3" in text
    assert "RFC 7606 outcome: treat-as-withdraw" in text


def test_hex_forms_accepted() -> None:
    keepalive = "ff" * 16 + "0013 04"
    with_colons = ":".join(["FF" * 16, "0013", "04"])
    without_marker = "001304"
    for text in (keepalive, with_colons, "0x" + keepalive.replace(" ", ""), without_marker):
        assert explain_hex(text).text.splitlines()[-3:] == [
            "  Marker: all ones  (RFC 4271 §4.1)",
            "  Length: 19  (RFC 4271 §4.1)",
            "  Type: 4 (KEEPALIVE)  (RFC 4271 §4.1)",
        ]
    with pytest.raises(ValueError):
        explain_hex("zz")
    assert "shorter than a BGP header" in explain_hex("ff" * 17).text


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


def test_a_body_too_short_speaks_of_what_was_given() -> None:
    """Two octets given as an UPDATE body: no header, so no Length field to speak of."""
    explanation = explain_hex("ff ff")
    assert explanation.text.splitlines() == [
        "(no header given: read as the body of an UPDATE)",
        "UPDATE body, 2 octets",
        "  Error: an UPDATE body has at least 4 octets (Withdrawn Routes Length, Total Path "
        "Attribute Length)  (RFC 4271 §4.3)",
        "  Answer: NOTIFICATION 1/2 Message Header Error / Bad Message Length  (RFC 4271 §6.1)",
    ]
    assert explanation.answer == Notification(1, 2)


def test_a_message_that_calls_for_a_notification_says_so() -> None:
    assert explain_hex("ff" * 16 + "001d 01 03 fc08 005a c0000201 00").answer == Notification(
        2, 1, b"\x00\x04"
    )
    assert explain_hex("ff" * 16 + "0013 04").answer is None
    # RFC 7606 treat-as-withdraw: shown, but no NOTIFICATION
    assert explain_hex("0000 0014 40010103 400206020100 00fc08 400304c0000201 080a").answer is None


def test_an_ebgp_local_pref_is_shown_as_it_arrived_then_discarded() -> None:
    """What `--trace` shows for an UPDATE from an external peer carrying a LOCAL_PREF."""
    raw = bytes.fromhex(
        "ffffffffffffffffffffffffffffffff 0036 02 0000 001b"
        "40010100 40020602 01fdb5f2d2 400304c0a8390a 40050400000064 18 0a3901"
    )
    session = CodecContext(four_octet_as=True, local_as=64520, peer_as=4290001234)
    text = describe_message(raw, session)
    assert text.startswith("UPDATE message, 54 octets")
    assert "  Path Attribute: LOCAL_PREF  (RFC 4271 §5.1.5)" in text
    assert (
        "RFC 7606 outcome: attribute discarded: LOCAL_PREF: received from an external peer" in text
    )


def test_an_ipv4_mapped_next_hop_is_written_one_way() -> None:
    """::ffff:192.168.57.100 (RFC 5952 §5), not ::ffff:c0a8:3964, whatever Python prints."""
    update = Update.build(
        announce=[ip_network("2001:db8:53::1/128")],
        attributes=[Origin(), AsPath.sequence([64520])],
        next_hop=IPv6Address("::ffff:192.168.57.100"),
    )
    text = describe_message(encode_message(update, CTX), CTX)
    assert "Network Address of Next Hop: ::ffff:192.168.57.100  (RFC 4760 §3)" in text
    assert "c0a8" not in text
