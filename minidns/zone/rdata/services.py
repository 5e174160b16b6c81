"""Where a service is: SRV (RFC 2782), NAPTR (RFC 3403 §4.1) and URI (RFC 7553)."""

from __future__ import annotations

import struct

import dnslib
from dnslib import RD

from ..errors import FieldError
from ..text import format_string, parse_long_string
from .codec import NAPTR
from .fields import Fields, parser


@parser("SRV")
def _srv(fields: Fields) -> RD:
    priority = fields.u16("priority")
    weight = fields.u16("weight")
    port = fields.u16("port")
    target = fields.name("target")
    fields.end()
    return dnslib.SRV(priority, weight, port, target)


@parser("NAPTR")
def _naptr(fields: Fields) -> RD:
    order = fields.u16("order")
    preference = fields.u16("preference")
    flags = fields.string("flags")
    service = fields.string("services")
    regexp = fields.string("regexp")
    replacement = fields.name("replacement")
    fields.end()
    return NAPTR(order, preference, flags, service, regexp, replacement)


@parser("URI")
def _uri(fields: Fields) -> RD:
    """RFC 7553 §4.4: priority, weight, and the target as one string, not length-prefixed."""
    head = struct.pack("!HH", fields.u16("priority"), fields.u16("weight"))
    target = parse_long_string(fields.token("target"))
    if not target:
        raise FieldError("URI target is empty")
    fields.text.append(format_string(target))
    return fields.opaque(head + target)
