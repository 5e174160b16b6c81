"""Types made of character-strings: TXT (RFC 1035 §3.3.14), SPF, WALLET, HINFO (RFC 1035
§3.3.2), X25 and ISDN (RFC 1183 §3), and CAA (RFC 8659), whose value is one string."""

from __future__ import annotations

import re

from dnslib import RD

from ..errors import FieldError
from ..text import format_string, parse_long_string, parse_string
from .codec import TXT
from .fields import Fields, counted, parser
from .rrtypes import rrtype_name


@parser("TXT", "SPF", "WALLET")
def _txt(fields: Fields) -> RD:
    """One or more <character-string>s of at most 255 octets each (RFC 1035 §3.3.14).

    A longer string is refused, as named-checkzone does (PowerDNS cuts it into pieces).
    """
    if not fields.more():
        raise FieldError(f"{rrtype_name(fields.rtype)} needs at least one string")
    return TXT([parse_string(token) for token in fields.tokens])


@parser("HINFO")
def _hinfo(fields: Fields) -> RD:
    return fields.opaque(counted(fields.string("CPU")) + counted(fields.string("OS")))


@parser("X25")
def _x25(fields: Fields) -> RD:
    return fields.opaque(counted(fields.string("PSDN address")))


@parser("ISDN")
def _isdn(fields: Fields) -> RD:
    data = counted(fields.string("ISDN address"))
    if fields.more():
        data += counted(fields.string("subaddress"))
    return fields.opaque(data)


@parser("CAA")
def _caa(fields: Fields) -> RD:
    """RFC 8659 §4.1.1: flags, an alphanumeric tag and the value, which is not length-prefixed."""
    flags = fields.u8("flags")
    tag = fields.token("tag")
    if not re.fullmatch(r"[A-Za-z0-9]{1,255}", tag):
        raise FieldError(f"CAA tag must be letters and digits, got {tag!r}")
    value = parse_long_string(fields.token("value"))
    fields.text += [tag, format_string(value)]
    return fields.opaque(bytes((flags, len(tag))) + tag.encode() + value)
