"""A preference and a host: MX (RFC 1035 §3.3.9), AFSDB and RT (RFC 1183), KX (RFC 2230)."""

from __future__ import annotations

import struct

import dnslib
from dnslib import RD

from ..text import name_to_wire
from .fields import Fields, parser


@parser("MX")
def _mx(fields: Fields) -> RD:
    preference = fields.u16("preference")
    exchange = fields.name("exchange")
    fields.end()
    return dnslib.MX(exchange, preference)


@parser("AFSDB", "RT", "KX")
def _preference_and_name(fields: Fields) -> RD:
    number = fields.u16("preference")
    return fields.opaque(struct.pack("!H", number) + name_to_wire(fields.name()))
