"""Every malformation we know of, with the answer RFC 4271 §6 and RFC 7606 give it.

Each row: a message (a whole one, or an UPDATE built from attribute and NLRI hex), the session
kind, and the outcome:
- ("reset", code, subcode): a NOTIFICATION with that code/subcode, the session closes;
- ("withdraw",): RFC 7606 treat-as-withdraw: the UPDATE's routes are withdrawn, not stored;
- ("discard", type): RFC 7606 attribute discard: that attribute is dropped, the routes stay;
- ("unusable",): the next hop is ours (RFC 4271 §6.3) or the AS path holds our own AS (RFC 4271
  §9.1.2): the routes are treated as withdrawn;
- ("ignored",): the family was not negotiated (RFC 4760 §8): its routes are ignored;
- ("ok",): nothing wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_address, ip_network

import pytest

from minibgp.wire import CodecContext, MessageReader, Update, decode_message
from minibgp.wire.errors import BGPError
from minibgp.wire.nlri import IPV4_UNICAST, IPV6_UNICAST, Family

MARKER = "ff" * 16
ORIGIN = "40 01 01 00"
AS_PATH = "40 02 06 02 01 0000fc08"
NEXT_HOP = "40 03 04 c0000201"
MANDATORY = ORIGIN + AS_PATH + NEXT_HOP
NLRI = "18 c00002"  # 192.0.2.0/24
MP_REACH_V6 = "80 0e 1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8"
MP_UNREACH_V6 = "80 0f 08 0002 01 20 20010db8"


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def update(attributes: str, nlri: str = NLRI, withdrawn: str = "") -> bytes:
    """A whole UPDATE with these fields, lengths filled in."""
    w, a, n = h(withdrawn), h(attributes), h(nlri)
    body = len(w).to_bytes(2, "big") + w + len(a).to_bytes(2, "big") + a + n
    return h(MARKER) + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body


ROUTER_AS = 4290001234  # the peer, as in the lab; we are AS 64520
AS_PATH_FROM_ROUTER = "40 02 06 02 01 ffb43952"


@dataclass
class Case:
    name: str
    raw: bytes
    outcome: tuple[object, ...]
    four_octet_as: bool = True
    local_as: int | None = None  # with peer_as: enables the external/internal peer checks
    peer_as: int | None = None
    local_address: str | None = None  # our end of the session: the next hop check
    families: frozenset[Family] | None = None  # negotiated; None: every family


CASES = [
    # --- message header, RFC 4271 §6.1 ---
    Case("marker not all ones", h("00" * 16 + "0013 04"), ("reset", 1, 1)),
    Case("length below 19", h(MARKER + "0012 04"), ("reset", 1, 2)),
    Case("length above 4096", h(MARKER + "1001 02") + bytes(4077), ("reset", 1, 2)),
    Case("KEEPALIVE with a body", h(MARKER + "0014 04 00"), ("reset", 1, 2)),
    Case("OPEN shorter than 29", h(MARKER + "001c 01") + bytes(9), ("reset", 1, 2)),
    Case("unknown message type", h(MARKER + "0013 07"), ("reset", 1, 3)),
    # --- OPEN, RFC 4271 §6.2 ---
    Case("version 3", h(MARKER + "001d 01 03 fc08 005a c0000201 00"), ("reset", 2, 1)),
    Case("hold time 1 s", h(MARKER + "001d 01 04 fc08 0001 c0000201 00"), ("reset", 2, 6)),
    Case("BGP Identifier 0", h(MARKER + "001d 01 04 fc08 005a 00000000 00"), ("reset", 2, 3)),
    Case(
        "optional parameter type 1 (authentication)",
        h(MARKER + "0020 01 04 fc08 005a c0000201 03 01 01 00"),
        ("reset", 2, 4),
    ),
    Case("My AS 0 (RFC 7607 §2)", h(MARKER + "001d 01 04 0000 005a c0000201 00"), ("reset", 2, 2)),
    Case(
        "My AS 0 with a 4-octet AS capability",
        h(MARKER + "0025 01 04 0000 005a c0000201 08 02 06 4104 0000fc08"),
        ("reset", 2, 2),
    ),
    Case(
        "4-octet AS capability says AS 0",
        h(MARKER + "0025 01 04 fc08 005a c0000201 08 02 06 4104 00000000"),
        ("reset", 2, 2),
    ),
    # --- ROUTE-REFRESH, RFC 7313 §5 ---
    Case("BoRR longer than 4 octets", h(MARKER + "0018 05 0001 01 01 00"), ("reset", 7, 1)),
    # --- UPDATE: session reset, RFC 4271 §6.3 / RFC 7606 §3, §5 ---
    Case(
        "Withdrawn Routes Length overruns",
        h(MARKER + "0017 02 0005 0000"),
        ("reset", 3, 1),
    ),
    Case(
        "Total Path Attribute Length overruns",
        h(MARKER + "001b 02 0000 0010 40010100"),
        ("reset", 3, 1),
    ),
    Case("NLRI prefix length 33", update(MANDATORY, "21 c0000201 00"), ("reset", 3, 10)),
    Case("NLRI prefix overruns the message", update(MANDATORY, "18 c000"), ("reset", 3, 10)),
    Case("withdrawn prefix length 40", update("", "", "28 c0000201 00"), ("reset", 3, 10)),
    Case("unrecognized well-known attribute", update(MANDATORY + "40 63 00"), ("reset", 3, 2)),
    Case(
        "MP_REACH_NLRI twice",
        update(ORIGIN + AS_PATH + MP_REACH_V6 + MP_REACH_V6, ""),
        ("reset", 3, 1),
    ),
    Case("MP_UNREACH_NLRI twice", update(MP_UNREACH_V6 + MP_UNREACH_V6, ""), ("reset", 3, 1)),
    Case(
        "MP_REACH_NLRI with transitive flags",
        update(ORIGIN + AS_PATH + "c0" + MP_REACH_V6[2:], ""),
        ("reset", 3, 4),
    ),
    Case(
        "MP_REACH_NLRI cut short", update(ORIGIN + AS_PATH + "80 0e 02 0002", ""), ("reset", 3, 9)
    ),
    Case(
        "MP_REACH_NLRI IPv6 next hop of 5 octets",
        update(ORIGIN + AS_PATH + "80 0e 0d 0002 01 05 2001 0db8 00 00 20 20010db8", ""),
        ("reset", 3, 9),
    ),
    Case(
        "MP_REACH_NLRI prefix length 129",
        update(ORIGIN + AS_PATH + "80 0e 16 0002 01 10" + "00" * 16 + "00 81", ""),
        ("reset", 3, 9),
    ),
    Case("MP_UNREACH_NLRI cut short", update("80 0f 02 0002", ""), ("reset", 3, 9)),
    # --- UPDATE: treat-as-withdraw, RFC 7606 §3, §4, §7 ---
    Case("ORIGIN value 3", update("40 01 01 03" + AS_PATH + NEXT_HOP), ("withdraw",)),
    Case("ORIGIN length 2", update("40 01 02 0000" + AS_PATH + NEXT_HOP), ("withdraw",)),
    Case("ORIGIN flagged optional", update("c0 01 01 00" + AS_PATH + NEXT_HOP), ("withdraw",)),
    Case("ORIGIN with Partial bit", update("60 01 01 00" + AS_PATH + NEXT_HOP), ("withdraw",)),
    Case(
        "AS_PATH segment overruns",
        update(ORIGIN + "40 02 06 02 02 0000fc08" + NEXT_HOP),
        ("withdraw",),
    ),
    Case(
        "AS_PATH segment type 5",
        update(ORIGIN + "40 02 06 05 01 0000fc08" + NEXT_HOP),
        ("withdraw",),
    ),
    Case("AS_PATH empty segment", update(ORIGIN + "40 02 02 02 00" + NEXT_HOP), ("withdraw",)),
    Case(
        "AS_PATH of 2-octet ASes on a 4-octet session",
        update(ORIGIN + "40 02 04 02 01 fc08" + NEXT_HOP),
        ("withdraw",),
    ),
    Case("NEXT_HOP length 5", update(ORIGIN + AS_PATH + "40 03 05 c000020100"), ("withdraw",)),
    Case("NEXT_HOP 0.0.0.0", update(ORIGIN + AS_PATH + "40 03 04 00000000"), ("withdraw",)),
    Case("NEXT_HOP multicast", update(ORIGIN + AS_PATH + "40 03 04 e0000001"), ("withdraw",)),
    Case("NEXT_HOP broadcast", update(ORIGIN + AS_PATH + "40 03 04 ffffffff"), ("withdraw",)),
    Case("MULTI_EXIT_DISC length 3", update(MANDATORY + "80 04 03 000001"), ("withdraw",)),
    Case("LOCAL_PREF length 2", update(MANDATORY + "40 05 02 0064"), ("withdraw",)),
    Case("COMMUNITIES length 5", update(MANDATORY + "c0 08 05 0000000100"), ("withdraw",)),
    Case("COMMUNITIES empty", update(MANDATORY + "c0 08 00"), ("withdraw",)),
    Case("LARGE_COMMUNITY length 11", update(MANDATORY + "c0 20 0b" + "00" * 11), ("withdraw",)),
    Case("ORIGIN missing", update(AS_PATH + NEXT_HOP), ("withdraw",)),
    Case("AS_PATH missing", update(ORIGIN + NEXT_HOP), ("withdraw",)),
    Case("NEXT_HOP missing with IPv4 NLRI", update(ORIGIN + AS_PATH), ("withdraw",)),
    Case("ORIGIN missing with MP_REACH_NLRI", update(AS_PATH + MP_REACH_V6, ""), ("withdraw",)),
    Case(
        "attribute overruns the Path Attributes field",
        update(MANDATORY + "c0 08 08 00000001"),
        ("withdraw",),
    ),
    Case("two octets left in the attribute field", update(MANDATORY + "c0 08"), ("withdraw",)),
    # --- AS 0, RFC 7607 §2: as RFC 7606 (AS_PATH, AGGREGATOR) or RFC 6793 (AS4_*) say ---
    Case(
        "AS 0 in AS_PATH",
        update(ORIGIN + "40 02 0a 02 02 0000fc08 00000000" + NEXT_HOP),
        ("withdraw",),
    ),
    Case(
        "AS 0 in AS_PATH (2-octet session)",
        update(ORIGIN + "40 02 06 02 02 fc08 0000" + NEXT_HOP),
        ("withdraw",),
        False,
    ),
    Case(
        "AS 0 in an AS_SET",
        update(ORIGIN + "40 02 0e 02 01 0000fc08 01 02 00000001 00000000" + NEXT_HOP),
        ("withdraw",),
    ),
    Case("AS 0 in AGGREGATOR", update(MANDATORY + "c0 07 08 00000000 c0000201"), ("discard", 7)),
    Case(
        "AS 0 in AS4_PATH (2-octet session)",
        update(ORIGIN + "40 02 04 02 01 5ba0" + NEXT_HOP + "c0 11 06 02 01 00000000"),
        ("discard", 17),
        False,
    ),
    Case(
        "AS 0 in AS4_AGGREGATOR (2-octet session)",
        update(
            ORIGIN
            + "40 02 04 02 01 fc08"
            + NEXT_HOP
            + "c0 07 06 5ba0 c0000201 c0 12 08 00000000 c0000201"
        ),
        ("discard", 18),
        False,
    ),
    # --- UPDATE: attribute discard, RFC 7606 §3 g, §7; RFC 6793 §6 ---
    Case("ATOMIC_AGGREGATE length 1", update(MANDATORY + "40 06 01 00"), ("discard", 6)),
    Case("AGGREGATOR length 7", update(MANDATORY + "c0 07 07" + "00" * 7), ("discard", 7)),
    Case(
        "AGGREGATOR flagged non-transitive",
        update(MANDATORY + "80 07 08 0000fc08 c0000201"),
        ("discard", 7),
    ),
    Case(
        "AS4_PATH malformed (2-octet session)",
        update(ORIGIN + "40 02 04 02 01 5ba0" + NEXT_HOP + "c0 11 06 02 02 ffb43952"),
        ("discard", 17),
        False,
    ),
    Case(
        "AS4_AGGREGATOR length 6 (2-octet session)",
        update(ORIGIN + "40 02 04 02 01 fc08" + NEXT_HOP + "c0 12 06 fc08 c0000201"),
        ("discard", 18),
        False,
    ),
    Case(
        "AS4_PATH between 4-octet speakers",
        update(MANDATORY + "c0 11 06 02 01 ffb43952"),
        ("discard", 17),
    ),
    Case("ORIGIN twice: the first is kept", update(MANDATORY + "40 01 01 02"), ("discard", 1)),
    Case(
        "unknown optional non-transitive attribute is ignored",
        update(MANDATORY + "80 63 01 00"),
        ("discard", 99),
    ),
    # --- UPDATE from an external peer (RFC 4271 §6.3, RFC 7606 §7.2, §7.5) ---
    Case(
        "external peer's AS_PATH starts with another AS",
        update(MANDATORY),
        ("withdraw",),
        local_as=64520,
        peer_as=ROUTER_AS,
    ),
    Case(
        "external peer's AS_PATH is empty",
        update(ORIGIN + "40 02 00" + NEXT_HOP),
        ("withdraw",),
        local_as=64520,
        peer_as=ROUTER_AS,
    ),
    Case(
        "external peer's AS_PATH starts with a confederation segment",
        update(ORIGIN + "40 02 0a 03 01 ffb43952 02 01 ffb43952" + NEXT_HOP),
        ("withdraw",),
        local_as=64520,
        peer_as=ROUTER_AS,
    ),
    Case(
        "AS_CONFED_SEQUENCE after the external peer's AS (RFC 5065 §5)",
        update(ORIGIN + "40 02 0c 02 01 ffb43952 03 01 0000fde9" + NEXT_HOP),
        ("withdraw",),
        local_as=64520,
        peer_as=ROUTER_AS,
    ),
    Case(
        "AS_CONFED_SET after the external peer's AS (RFC 5065 §5)",
        update(ORIGIN + "40 02 0c 02 01 ffb43952 04 01 0000fde9" + NEXT_HOP),
        ("withdraw",),
        local_as=64520,
        peer_as=ROUTER_AS,
    ),
    Case(
        "confederation segments from an internal peer: kept",
        update(ORIGIN + "40 02 06 03 01 0000fde9" + NEXT_HOP + "40 05 04 00000064"),
        ("ok",),
        local_as=64520,
        peer_as=64520,
    ),
    Case(
        "LOCAL_PREF from an external peer",
        update(ORIGIN + AS_PATH_FROM_ROUTER + NEXT_HOP + "40 05 04 00000064"),
        ("discard", 5),
        local_as=64520,
        peer_as=ROUTER_AS,
    ),
    Case(
        "LOCAL_PREF missing from an internal peer",
        update(MANDATORY),
        ("withdraw",),
        local_as=64520,
        peer_as=64520,
    ),
    Case(
        "external peer's AS first: fine",
        update(ORIGIN + AS_PATH_FROM_ROUTER + NEXT_HOP),
        ("ok",),
        local_as=64520,
        peer_as=ROUTER_AS,
    ),
    Case(
        "external 4-octet peer on a 2-octet session starts with AS_TRANS: fine",
        update(ORIGIN + "40 02 04 02 01 5ba0" + NEXT_HOP),
        ("ok",),
        four_octet_as=False,
        local_as=64520,
        peer_as=ROUTER_AS,
    ),
    Case(
        "internal peer with LOCAL_PREF: fine",
        update(ORIGIN + AS_PATH_FROM_ROUTER + NEXT_HOP + "40 05 04 00000064"),
        ("ok",),
        local_as=64520,
        peer_as=64520,
    ),
    # --- the session's rules: our own next hop (RFC 4271 §6.3), families (RFC 4760 §8) ---
    Case("NEXT_HOP is our address", update(MANDATORY), ("unusable",), local_address="192.0.2.1"),
    Case(
        "IPv6 next hop is our address",
        update(ORIGIN + AS_PATH + MP_REACH_V6, ""),
        ("unusable",),
        local_address="2001:db8::1",
    ),
    Case(
        "IPv6 next hop is our IPv4 address, IPv4-mapped",
        update(
            ORIGIN
            + AS_PATH
            + MP_REACH_V6.replace(
                "20010db8000000000000000000000001", "00000000000000000000ffffc0000201"
            ),
            "",
        ),
        ("unusable",),
        local_address="192.0.2.1",
    ),
    Case(
        "our own AS in the AS path: a loop",
        update(ORIGIN + "40 02 0a 02 02 ffb43952 0000fc08" + NEXT_HOP),
        ("unusable",),
        local_as=64520,
        peer_as=ROUTER_AS,
    ),
    Case(
        "our own AS in an IPv6 route's AS path: a loop",
        update(ORIGIN + "40 02 0a 02 02 ffb43952 0000fc08" + MP_REACH_V6, ""),
        ("unusable",),
        local_as=64520,
        peer_as=ROUTER_AS,
    ),
    Case(
        "NEXT_HOP is the peer's address: fine",
        update(MANDATORY),
        ("ok",),
        local_address="192.0.2.2",
    ),
    Case(
        "IPv6 routes, only IPv4 unicast negotiated",
        update(ORIGIN + AS_PATH + MP_REACH_V6, ""),
        ("ignored",),
        families=frozenset({IPV4_UNICAST}),
    ),
    Case(
        "IPv6 withdrawals, only IPv4 unicast negotiated",
        update(MP_UNREACH_V6, ""),
        ("ignored",),
        families=frozenset({IPV4_UNICAST}),
    ),
    Case(
        "IPv4 routes, only IPv6 unicast negotiated",
        update(MANDATORY),
        ("ignored",),
        families=frozenset({IPV6_UNICAST}),
    ),
    Case(
        "IPv6 routes missing ORIGIN, IPv6 not negotiated: ignored, not a malformed UPDATE",
        update(AS_PATH + MP_REACH_V6, ""),
        ("ignored",),
        families=frozenset({IPV4_UNICAST}),
    ),
    # --- not errors ---
    Case("well-formed UPDATE", update(MANDATORY), ("ok",)),
    Case("withdrawal without attributes", update("", "", NLRI), ("ok",)),
    Case(
        "NEXT_HOP is not needed with MP_REACH_NLRI only",
        update(ORIGIN + AS_PATH + MP_REACH_V6, ""),
        ("ok",),
    ),
    Case(
        "unknown optional transitive attribute is kept", update(MANDATORY + "c0 63 01 00"), ("ok",)
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_malformation(case: Case) -> None:
    ctx = CodecContext(
        four_octet_as=case.four_octet_as,
        local_as=case.local_as,
        peer_as=case.peer_as,
        local_address=ip_address(case.local_address) if case.local_address else None,
        families=case.families,
    )
    reader = MessageReader()
    reader.feed(case.raw)
    kind = case.outcome[0]
    if kind == "reset":
        with pytest.raises(BGPError) as caught:
            for msg_type, body in reader:
                decode_message(msg_type, body, ctx)
        assert (caught.value.code, caught.value.subcode) == case.outcome[1:]
        assert caught.value.reason  # said in plain words
        return
    messages = [decode_message(t, b, ctx) for t, b in reader]
    assert len(messages) == 1
    message = messages[0]
    assert isinstance(message, Update)
    if kind == "withdraw":
        assert message.treat_as_withdraw and message.errors
        assert message.announced() == []
        withdrawn = {p for _, _, p in message.withdrawn_prefixes()}
        assert withdrawn & {ip_network("192.0.2.0/24"), ip_network("2001:db8::/32")}
    elif kind == "unusable":
        assert not message.treat_as_withdraw, message.errors
        assert message.unusable and message.announced() == []
        withdrawn = {p for _, _, p in message.withdrawn_prefixes()}
        assert withdrawn & {ip_network("192.0.2.0/24"), ip_network("2001:db8::/32")}
    elif kind == "ignored":
        assert not message.treat_as_withdraw, message.errors
        assert message.ignored_families
        assert message.announced() == [] and message.withdrawn_prefixes() == []
    elif kind == "discard":
        assert not message.treat_as_withdraw, message.errors
        assert case.outcome[1] in {d.type_code for d in message.discarded_attributes}
        assert message.announced()
    else:
        assert not message.treat_as_withdraw, message.errors
        assert message.discarded_attributes == []


def test_data_of_an_unrecognized_well_known_attribute_is_the_attribute() -> None:
    """RFC 4271 §6.3: the Data field holds the erroneous attribute (type, length, value)."""
    with pytest.raises(BGPError) as caught:
        decode_message(2, update(MANDATORY + "40 63 02 abcd")[19:], CodecContext())
    assert caught.value.data == h("40 63 02 abcd")


def test_the_first_of_two_origins_is_the_one_kept() -> None:
    message = decode_message(2, update(MANDATORY + "40 01 01 02")[19:], CodecContext())
    assert isinstance(message, Update)
    assert message.attribute_set().origin == 0
