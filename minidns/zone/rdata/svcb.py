"""SVCB and HTTPS (RFC 9460): a priority, a target name and SvcParams."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import struct

from dnslib import RD

from ..errors import FieldError
from ..text import name_to_wire, parse_int, parse_long_string
from .codec import OpaqueRD
from .fields import Fields, counted, parser

# SvcParamKeys (RFC 9460 §14.3.2), by presentation name.
SVC_KEYS = {
    "mandatory": 0, "alpn": 1, "no-default-alpn": 2, "port": 3, "ipv4hint": 4, "ech": 5,
    "ipv6hint": 6, "dohpath": 7, "ohttp": 8, "tls-supported-groups": 9,
}  # fmt: skip
_KEY_NUMBER = re.compile(r"key(\d{1,5})")


@parser("SVCB", "HTTPS")
def _svcb(fields: Fields) -> RD:
    """RFC 9460 §2.2: priority, target, then SvcParams sorted by key."""
    priority = fields.u16("SvcPriority")
    target = fields.name("TargetName")
    params: dict[int, bytes] = {}
    while fields.more():
        token = fields.token("SvcParam")
        key_text, has_value, value_text = token.partition("=")
        key = _key(key_text)
        if key in params:
            raise FieldError(f"SvcParam {key_text} given twice (RFC 9460 §2.2)")
        params[key] = _value(key, value_text if has_value else None)
        fields.text.append(token)
    wire = struct.pack("!H", priority) + name_to_wire(target)
    for key in sorted(params):
        wire += struct.pack("!HH", key, len(params[key])) + params[key]
    return OpaqueRD(wire, " ".join(map(str, fields.text)))


def _key(text: str) -> int:
    key = SVC_KEYS.get(text.lower())
    if key is not None:
        return key
    match = _KEY_NUMBER.fullmatch(text)
    if match and int(match.group(1)) < 65535:
        return int(match.group(1))
    raise FieldError(f"unknown SvcParamKey {text!r}")


def _value(key: int, text: str | None) -> bytes:
    """One SvcParamValue's wire form (RFC 9460 §7, RFC 9461 §5, RFC 9540 §4)."""
    raw = b"" if text is None else parse_long_string(text)
    if key in (2, 8):  # no-default-alpn, ohttp: no value
        if raw:
            raise FieldError("this SvcParam takes no value")
        return b""
    if text is None:
        if key >= 10 or key == 7:
            return b""
        raise FieldError(f"SvcParam key{key} needs a value")
    items = [item.decode("ascii", "replace") for item in _list(raw)]
    if key == 0:  # mandatory: sorted keys
        return b"".join(struct.pack("!H", k) for k in sorted({_key(item) for item in items}))
    if key == 1:  # alpn: the ids are octets, not ASCII
        ids = _list(raw)
        if any(not alpn_id or len(alpn_id) > 255 for alpn_id in ids):
            raise FieldError("alpn ids must be 1-255 octets")
        return b"".join(counted(alpn_id) for alpn_id in ids)
    if key in (3, 9):  # port; tls-supported-groups
        numbers = [parse_int(item, 16, "number") for item in items]
        if key == 3 and len(numbers) != 1:
            raise FieldError("port takes one number")
        return b"".join(struct.pack("!H", n) for n in numbers)
    if key in (4, 6):  # ipv4hint, ipv6hint
        family = ipaddress.IPv4Address if key == 4 else ipaddress.IPv6Address
        try:
            return b"".join(family(item).packed for item in items)
        except ValueError:
            raise FieldError(f"bad address list {text!r}") from None
    if key == 5:  # ech
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise FieldError(f"bad base64 in ech {text!r}") from None
    return raw  # dohpath and keyNNNNN: the octets as given


def _list(raw: bytes) -> list[bytes]:
    """RFC 9460 Appendix A.1: a comma-separated list where ``\\,`` is a literal comma."""
    items, current, i = [], bytearray(), 0
    while i < len(raw):
        if raw[i] == 0x5C and i + 1 < len(raw):  # backslash
            current.append(raw[i + 1])
            i += 2
            continue
        if raw[i] == 0x2C:  # comma
            items.append(bytes(current))
            current = bytearray()
        else:
            current.append(raw[i])
        i += 1
    items.append(bytes(current))
    return items
