"""Addresses: A (RFC 1035 §3.4.1), AAAA (RFC 3596 §2.2), EUI48 and EUI64 (RFC 7043)."""

from __future__ import annotations

import ipaddress
import re

import dnslib
from dnslib import RD

from ..errors import FieldError
from .fields import Fields, parser
from .rrtypes import RRTYPES, rrtype_name


@parser("A")
def _a(fields: Fields) -> RD:
    token = fields.token("IPv4 address")
    fields.end()
    try:
        return dnslib.A(tuple(ipaddress.IPv4Address(token).packed))
    except ValueError:
        raise FieldError(f"bad IPv4 address {token!r}") from None


@parser("AAAA")
def _aaaa(fields: Fields) -> RD:
    token = fields.token("IPv6 address")
    fields.end()
    try:
        return dnslib.AAAA(tuple(ipaddress.IPv6Address(token).packed))
    except ValueError:
        raise FieldError(f"bad IPv6 address {token!r}") from None


@parser("EUI48", "EUI64")
def _eui(fields: Fields) -> RD:
    """RFC 7043 §3.2/§4.2: hex octets separated by hyphens."""
    octets = 6 if fields.rtype == RRTYPES["EUI48"] else 8
    token = fields.token("address")
    if (
        not re.fullmatch(r"[0-9a-fA-F]{2}(?:-[0-9a-fA-F]{2})*", token)
        or len(token) != octets * 3 - 1
    ):
        raise FieldError(f"bad {rrtype_name(fields.rtype)} address {token!r}")
    fields.text.append(token.lower())
    return fields.opaque(bytes.fromhex(token.replace("-", "")))
