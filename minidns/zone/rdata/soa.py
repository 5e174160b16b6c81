"""SOA (RFC 1035 §3.3.13)."""

from __future__ import annotations

import dnslib
from dnslib import RD

from .fields import Fields, parser


@parser("SOA")
def _soa(fields: Fields) -> RD:
    mname = fields.name("MNAME")
    rname = fields.name("RNAME")
    serial = fields.u32("SERIAL")
    times = [fields.period(what) for what in ("REFRESH", "RETRY", "EXPIRE", "MINIMUM")]
    fields.end()
    return dnslib.SOA(mname, rname, (serial, *times))
