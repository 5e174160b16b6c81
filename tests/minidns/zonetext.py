"""Zones for the answer tests, written as master-file text and parsed by dnslib's parser.

Only plain records are used here, which dnslib's parser reads right; the real loader is
minidns.zone.masterfile, tested on its own. dnslib's parser has no DNAME: a DNAME line is read
as a CNAME (same rdata shape) and retyped.
"""

from __future__ import annotations

from dnslib import DNAME, QTYPE, RR

from minidns.zone.builder import ZoneBuilder
from minidns.zone.model import Zone, ZoneSet, name_key


def zone_from_text(origin: str, text: str, ttl: int = 3600) -> Zone:
    """A Zone with the records of `text` (owner names relative to `origin`)."""
    builder = ZoneBuilder(origin)
    dname_owners = set()
    lines = []
    for line in text.splitlines():
        fields = line.split()
        if "DNAME" in fields:
            dname_owners.add(fields[0])
            line = line.replace(" DNAME ", " CNAME ")
        lines.append(line)
    dname_keys = {
        name_key(RR.fromZone(f"{owner} A 0.0.0.0", origin=origin)[0].rname)
        for owner in dname_owners
    }
    for rr in RR.fromZone("\n".join(lines), origin=origin, ttl=ttl):
        if rr.rtype == QTYPE.CNAME and name_key(rr.rname) in dname_keys:
            rr.rtype, rr.rdata = QTYPE.DNAME, DNAME(rr.rdata.label)
        builder.add(rr.rname, rr.rtype, rr.ttl, rr.rdata)
    return builder.zone()


def zones_from_text(*zones: tuple[str, str]) -> ZoneSet:
    return ZoneSet([zone_from_text(origin, text) for origin, text in zones])
