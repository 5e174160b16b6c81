"""Types whose data is one or two domain names: NS, CNAME, PTR (RFC 1035 §3.3), the
obsolete mail types MD, MF, MB, MG, MR and MINFO, PowerDNS's ALIAS, DNAME (RFC 6672) and RP
(RFC 1183 §2.2)."""

from __future__ import annotations

import dnslib
from dnslib import RD

from ..text import name_to_wire
from .codec import DNAME, RP
from .fields import Fields, parser
from .rrtypes import RRTYPES


@parser("NS", "CNAME", "PTR")
def _single_name(fields: Fields) -> RD:
    name = fields.name()
    fields.end()
    cls = {RRTYPES["NS"]: dnslib.NS, RRTYPES["CNAME"]: dnslib.CNAME}.get(fields.rtype, dnslib.PTR)
    return cls(name)


@parser("MD", "MF", "MB", "MG", "MR", "ALIAS")
def _opaque_name(fields: Fields) -> RD:
    return fields.opaque(name_to_wire(fields.name()))


@parser("DNAME")
def _dname(fields: Fields) -> RD:
    name = fields.name("target")
    fields.end()
    return DNAME(name)


@parser("MINFO")
def _minfo(fields: Fields) -> RD:
    return fields.opaque(
        name_to_wire(fields.name("RMAILBX")) + name_to_wire(fields.name("EMAILBX"))
    )


@parser("RP")
def _rp(fields: Fields) -> RD:
    mbox = fields.name("mailbox")
    txt = fields.name("TXT name")
    fields.end()
    return RP(mbox, txt)
