"""ExaBGP's QA vectors (../shared/corpora/exabgp-qa) decode as ExaBGP says they do.

`decoding/*`: a message and ExaBGP's JSON decoding of it. We compare the prefixes and the
attributes we implement, for the files that carry only what minibgp implements; the other files
(listed in EXCLUDED_DECODING with the reason) must still decode without an error, keeping what
we do not implement as raw octets.

`encoding/*.ci`: every `N:raw:` message must decode (168, except the files in
EXPECTED_ENCODING_ERRORS, which need extensions we do not negotiate); those followed by a
`N:json:` line whose families are IPv4/IPv6 unicast must match that JSON (49); each decoded
message must survive encode → decode unchanged, and when nothing was discarded and the sender
wrote attributes the way RFC 4271 §5 suggests (type order, Extended Length only when needed),
our encoding must be the same octets (80).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from minibgp.describe import parse_hex
from minibgp.wire import (
    CodecContext,
    FourOctetAS,
    Message,
    MessageReader,
    Multiprotocol,
    Open,
    UnknownAttribute,
    UnknownCapability,
    Update,
    decode_message,
    encode_message,
)
from minibgp.wire.errors import BGPError
from minibgp.wire.nlri import family_name
from tests.conftest import require

CORPORA = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpora"
EXABGP = CORPORA / "exabgp-qa"

# decoding/ files that carry families or attributes minibgp does not implement.
EXCLUDED_DECODING = {
    "bgp-evpn-1": "l2vpn evpn NLRI (RFC 7432)",
    "bgp-flow-1": "flowspec NLRI (RFC 8955)",
    "bgp-flow-2": "flowspec NLRI (RFC 8955)",
    "bgp-flow-3": "flowspec NLRI (RFC 8955)",
    "bgp-flow-4": "flowspec NLRI (RFC 8955)",
    "bgp-flow-5": "flowspec NLRI (RFC 8955)",
    "bgp-ls-1": "a bare BGP-LS NLRI, not a message",
    "bgp-ls-2": "BGP-LS (RFC 7752)",
    "bgp-ls-3": "BGP-LS (RFC 7752)",
    "bgp-ls-4": "BGP-LS (RFC 7752)",
    "bgp-ls-5": "BGP-LS (RFC 7752)",
    "bgp-ls-6": "BGP-LS (RFC 7752)",
    "bgp-ls-7": "BGP-LS (RFC 7752)",
    "bgp-ls-8": "BGP-LS (RFC 7752)",
    "bgp-ls-9": "BGP-LS (RFC 7752)",
    "bgp-ls-10": "BGP-LS (RFC 7752)",
    "bgp-sr-policy-1": "SR policy NLRI (RFC 9830)",
    "bgp-sr-policy-2": "SR policy NLRI (RFC 9830)",
    "vpnv4-extended-nexthop-1": "VPNv4 NLRI (RFC 4364) with an RFC 8950 next hop",
}

# encoding/ files relying on extensions minibgp does not negotiate: their messages are either
# refused with a BGPError or decoded without the extension; they are not compared with the JSON.
EXPECTED_ENCODING_ERRORS = {
    "conf-addpath.ci": "ADD-PATH (RFC 7911) path identifiers in the NLRI",
    "conf-path-information.ci": "ADD-PATH (RFC 7911) path identifiers in the NLRI",
    "conf-generic-attribute.ci": "an attribute of unknown type sent with the Optional bit clear",
    "extended-nexthop.ci": "IPv4 routes with an IPv6 next hop (RFC 8950)",
}

# encoding/ files from a session without the 4-octet AS capability.
TWO_OCTET_SESSIONS = {"conf-no-asn4.ci"}

MARTIAN_NEXT_HOP = "255.255.255.255"

IMPLEMENTED_FAMILIES = {"ipv4 unicast", "ipv6 unicast"}


def _corpus() -> Path:
    require(EXABGP.is_dir(), f"corpus missing: {EXABGP}")
    return EXABGP


def _whole_message(text: str) -> bytes:
    raw = parse_hex(text)
    if not raw.startswith(b"\xff" * 16):  # some vectors give only the UPDATE body
        raw = b"\xff" * 16 + (len(raw) + 19).to_bytes(2, "big") + b"\x02" + raw
    return raw


def _decode(raw: bytes, ctx: CodecContext) -> Message:
    reader = MessageReader()
    reader.feed(raw)
    first = reader.next_message()
    assert first is not None and reader.buffered == 0
    return decode_message(first[0], first[1], ctx)


# --- what ExaBGP's JSON says, and the same view of our decoding -----------------------------


def exabgp_update_view(update: dict[str, Any]) -> dict[str, Any]:
    """Prefixes and implemented attributes from ExaBGP's JSON of an UPDATE."""
    attributes = update.get("attribute", {})
    view: dict[str, Any] = {
        "announce": sorted(
            (family, next_hop.split(",")[0], route["nlri"])
            for family, by_next_hop in update.get("announce", {}).items()
            for next_hop, routes in by_next_hop.items()
            for route in routes
        ),
        "withdraw": sorted(
            (family, route["nlri"])
            for family, routes in update.get("withdraw", {}).items()
            for route in routes
        ),
        "origin": attributes.get("origin"),
        "med": attributes.get("med"),
        "local-preference": attributes.get("local-preference"),
        "atomic-aggregate": attributes.get("atomic-aggregate", False),
        "aggregator": attributes.get("aggregator"),
        "community": [list(c) for c in attributes.get("community", [])],
        "large-community": [list(c) for c in attributes.get("large-community", [])],
        "as-path": [
            (segment["element"], segment["value"])
            for _, segment in sorted(attributes.get("as-path", {}).items())
        ],
    }
    return view


def our_update_view(update: Update) -> dict[str, Any]:
    """The same view of our decoded Update."""
    announced = []
    for family, _, attribute_set in update.announced_groups():
        next_hop = str(attribute_set.next_hop)
        announced += [
            (family_name(*family), next_hop, str(prefix))
            for afi, safi, prefix in update.announced()
            if (afi, safi) == family
        ]
    shared = update.attribute_set()
    aggregator = shared.aggregator
    segment_names = {1: "as-set", 2: "as-sequence", 3: "as-confed-sequence", 4: "as-confed-set"}
    return {
        "announce": sorted(announced),
        "withdraw": sorted(
            (family_name(afi, safi), str(prefix))
            for afi, safi, prefix in update.withdrawn_prefixes()
        ),
        "origin": shared.origin.name.lower() if shared.origin is not None else None,
        "med": shared.med,
        "local-preference": shared.local_pref,
        "atomic-aggregate": 6 in shared,
        "aggregator": f"{aggregator.asn}:{aggregator.address}" if aggregator else None,
        "community": [[c >> 16, c & 0xFFFF] for c in shared.communities],
        "large-community": [list(c) for c in shared.large_communities],
        "as-path": [(segment_names[s.type], list(s.asns)) for s in shared.as_path.segments],
    }


def assert_same_content(again: Message, message: Message) -> None:
    """`again` (decoded from our encoding of `message`) says the same as `message`.

    Our encoder sorts attributes by type code (RFC 4271 §5) and drops discarded ones, so the
    octets may differ from the original; the routes and the kept attributes may not.
    """
    if not isinstance(message, Update):
        assert again == message
        return
    assert isinstance(again, Update)
    assert again.announced() == message.announced()
    assert again.withdrawn_prefixes() == message.withdrawn_prefixes()
    assert again.is_end_of_rib() == message.is_end_of_rib()
    by_type = sorted(message.attributes, key=lambda a: a.attribute_type())
    assert sorted(again.attributes, key=lambda a: a.attribute_type()) == by_type


def _kept_whole(message: Message) -> bool:
    """Nothing in the message was discarded or refused (what we do not implement is kept raw)."""
    if not isinstance(message, Update):
        return True
    return not message.treat_as_withdraw and not message.discarded_attributes


def _canonical_attributes(raw: bytes) -> bool:
    """The UPDATE's attributes are in type order, Extended Length only above 255 octets:
    the form our encoder writes (RFC 4271 §4.3, §5)."""
    if raw[18] != 2:
        return True
    at = 21 + int.from_bytes(raw[19:21], "big")
    end = at + 2 + int.from_bytes(raw[at : at + 2], "big")
    offset, last_type = at + 2, -1
    while offset < end:
        flags, type_code = raw[offset], raw[offset + 1]
        if flags & 0x10:
            length, header = int.from_bytes(raw[offset + 2 : offset + 4], "big"), 4
            if length <= 255:
                return False
        else:
            length, header = raw[offset + 2], 3
        if type_code < last_type:
            return False
        last_type = type_code
        offset += header + length
    return True


def _families(update_json: dict[str, Any]) -> set[str]:
    return set(update_json.get("announce", {})) | set(update_json.get("withdraw", {}))


# --- decoding/ ------------------------------------------------------------------------------


def _decoding_files() -> list[str]:
    if not EXABGP.is_dir():
        return ["(corpus missing)"]
    return sorted(p.name for p in (EXABGP / "decoding").iterdir())


@pytest.mark.parametrize("name", _decoding_files())
def test_decoding_vector(name: str) -> None:
    lines = (_corpus() / "decoding" / name).read_text().splitlines()
    kind, raw = lines[0].split(), _whole_message(lines[1])
    if name == "bgp-ls-1":  # not a message but a BGP-LS NLRI alone: refused, not crashed on
        with pytest.raises(BGPError):
            _decode(raw, CodecContext())
        return
    message = _decode(raw, CodecContext())
    if name in EXCLUDED_DECODING:
        # Still a well-formed UPDATE: the unknown family is kept raw, nothing is announced.
        assert isinstance(message, Update)
        assert not message.treat_as_withdraw
        assert message.announced() == []
        return
    expected = json.loads(lines[2])
    if kind[0] == "open":
        assert isinstance(message, Open)
        exa = expected["neighbor"]["open"]
        assert message.version == exa["version"]
        assert message.my_as == exa["asn"]
        assert message.hold_time == exa["hold_time"]
        assert str(message.bgp_identifier) == exa["router_id"]
        codes = sorted(c.capability_code() for c in message.capabilities)
        assert codes == sorted(int(code) for code in exa["capabilities"])
        assert Multiprotocol(1, 1) in message.capabilities
        assert FourOctetAS(65533) in message.capabilities
        assert any(isinstance(c, UnknownCapability) for c in message.capabilities)
    else:
        assert isinstance(message, Update)
        assert our_update_view(message) == exabgp_update_view(
            expected["neighbor"]["message"]["update"]
        )
    assert_same_content(_decode(encode_message(message, CodecContext()), CodecContext()), message)


def test_decoding_coverage() -> None:
    """Which decoding/ vectors are compared field by field, and which are only decoded."""
    names = set(_decoding_files())
    compared = names - set(EXCLUDED_DECODING)
    assert compared == {"ipv4-unicast-1", "ipv4-unicast-2", "bgp-open-sofware-version"}


# --- encoding/ ------------------------------------------------------------------------------


def _encoding_vectors() -> list[tuple[str, int, str, str | None]]:
    """(file, line number, raw hex, json text or None) of every N:raw: line."""
    if not EXABGP.is_dir():
        return []
    vectors = []
    for path in sorted((EXABGP / "encoding").glob("*.ci")):
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines, 1):
            parts = line.split(":", 2)
            if len(parts) < 3 or parts[1] != "raw":
                continue
            following = None
            for later in lines[number:]:
                later_parts = later.split(":", 2)
                if len(later_parts) == 3 and later_parts[1] == "raw":
                    break
                if len(later_parts) == 3 and later_parts[1] == "json":
                    following = later_parts[2]
                    break
            vectors.append((path.name, number, parts[2], following))
    return vectors


ENCODING_VECTORS = _encoding_vectors()


@pytest.mark.parametrize(
    ("name", "line", "raw_hex", "json_text"),
    ENCODING_VECTORS or [("(corpus missing)", 0, "", None)],
    ids=[f"{v[0]}:{v[1]}" for v in ENCODING_VECTORS] or ["missing"],
)
def test_encoding_vector(name: str, line: int, raw_hex: str, json_text: str | None) -> None:
    _corpus()
    ctx = CodecContext(four_octet_as=name not in TWO_OCTET_SESSIONS)
    raw = _whole_message(raw_hex)
    if name in EXPECTED_ENCODING_ERRORS:
        with contextlib.suppress(BGPError):  # refused with a NOTIFICATION: right
            _decode(raw, ctx)
        return
    message = _decode(raw, ctx)
    assert_same_content(_decode(encode_message(message, ctx), ctx), message)
    if _kept_whole(message) and _canonical_attributes(raw):
        assert encode_message(message, ctx) == raw
    if isinstance(message, Update) and json_text is not None:
        update_json = json.loads(json_text)["neighbor"]["message"].get("update", {})
        if _families(update_json) <= IMPLEMENTED_FAMILIES:
            expected = exabgp_update_view(update_json)
            if any(next_hop == MARTIAN_NEXT_HOP for _, next_hop, _ in expected["announce"]):
                # ExaBGP accepts this next hop; we, like FRR, ignore the routes (RFC 4271 §6.3).
                assert message.treat_as_withdraw
                expected["withdraw"] = sorted(
                    (family, prefix) for family, _, prefix in expected["announce"]
                )
                expected["announce"] = []
            assert our_update_view(message) == expected
            if "extended-community" in update_json.get("attribute", {}):
                # Not implemented, so kept as an optional transitive attribute to pass on.
                assert any(
                    isinstance(a, UnknownAttribute) and a.attribute_type() == 16
                    for a in message.attributes
                )


def test_encoding_coverage() -> None:
    """How much of encoding/ is decoded, and how much is compared with ExaBGP's JSON."""
    require(bool(ENCODING_VECTORS), "corpus missing")
    compared = 0
    for name, _, _, json_text in ENCODING_VECTORS:
        if json_text is None or name in EXPECTED_ENCODING_ERRORS:
            continue
        update_json = json.loads(json_text)["neighbor"]["message"].get("update", {})
        if update_json and _families(update_json) <= IMPLEMENTED_FAMILIES:
            compared += 1
    assert len(ENCODING_VECTORS) == 168
    assert compared == 49
    exact = 0
    for name, _, raw_hex, _ in ENCODING_VECTORS:
        if name in EXPECTED_ENCODING_ERRORS:
            continue
        ctx = CodecContext(four_octet_as=name not in TWO_OCTET_SESSIONS)
        raw = _whole_message(raw_hex)
        message = _decode(raw, ctx)
        if _kept_whole(message) and _canonical_attributes(raw):
            exact += 1
    assert exact == 80  # re-encoded octet for octet
