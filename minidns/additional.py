"""Additional section processing (RFC 1034 §4.3.2 step 6; RFC 2782; RFC 1035 §3.3.9, §3.3.11).

As PowerDNS 4.7 does: the address records of the targets of NS, MX and SRV records, when the
target is in the same zone as the record (glue below a zone cut included).
"""

from __future__ import annotations

from dnslib import CLASS, MX, NS, QTYPE, RR, SRV, DNSLabel

from minidns.zone.model import NameKey, Zone, name_key

ADDRESS_TYPES = (QTYPE.A, QTYPE.AAAA)


def target_of(record: RR) -> DNSLabel | None:
    """The host name a record points at, for the types that get additional processing."""
    rdata = record.rdata
    # RFC 1035 §3.3.9, §3.3.11 (dnslib's NS is a CNAME subclass, hence the type check)
    if isinstance(rdata, MX | NS) and record.rtype in (QTYPE.MX, QTYPE.NS):
        return DNSLabel(rdata.label)
    if isinstance(rdata, SRV) and record.rtype == QTYPE.SRV:  # RFC 2782
        return DNSLabel(rdata.target)
    return None


def additional_records(zone: Zone, records: list[RR], seen: set[tuple[NameKey, int]]) -> list[RR]:
    """The A and AAAA records, from `zone`, of the targets of `records`; `seen` avoids repeats."""
    found: list[RR] = []
    for record in records:
        target = target_of(record)
        if target is None:
            continue
        key = name_key(target)
        if not zone.contains(key):
            continue
        for rtype in ADDRESS_TYPES:
            if (key, rtype) in seen:
                continue
            rrset = zone.get(key, rtype)
            if rrset is None:
                continue
            seen.add((key, rtype))
            found.extend(RR(rrset.name, rtype, CLASS.IN, rrset.ttl, rd) for rd in rrset.rdatas)
    return found
