"""Additional section processing (RFC 1034 §4.3.2 step 6; RFC 2782; RFC 9460 §4).

As PowerDNS 4.7 does: the address records of the targets of NS, MX, SRV, SVCB and HTTPS
records, when the target is in the same zone as the record (glue below a zone cut included),
and for an SVCB or HTTPS record in AliasMode also the target's own records of that type.
"""

from __future__ import annotations

from dnslib import CLASS, MX, NS, QTYPE, RR, SRV, DNSBuffer, DNSLabel

from minidns.zone.model import NameKey, Zone, name_key

ADDRESS_TYPES = (QTYPE.A, QTYPE.AAAA)
SERVICE_BINDING_TYPES = (64, 65)  # SVCB, HTTPS (RFC 9460 §14.1)


def wanted_additional(record: RR) -> tuple[DNSLabel, tuple[int, ...]] | None:
    """The name a record points at and the types to add for it, or None."""
    rdata = record.rdata
    rtype = record.rtype
    # RFC 1035 §3.3.9, §3.3.11 (dnslib's NS is a CNAME subclass, hence the type check)
    if isinstance(rdata, MX | NS) and rtype in (QTYPE.MX, QTYPE.NS):
        return DNSLabel(rdata.label), ADDRESS_TYPES
    if isinstance(rdata, SRV) and rtype == QTYPE.SRV:  # RFC 2782
        return DNSLabel(rdata.target), ADDRESS_TYPES
    if rtype in SERVICE_BINDING_TYPES and isinstance(getattr(rdata, "data", None), bytes):
        return _service_binding_target(record, rdata.data)
    return None


def _service_binding_target(record: RR, data: bytes) -> tuple[DNSLabel, tuple[int, ...]] | None:
    """RFC 9460 §2.5: AliasMode (priority 0) or ServiceMode, where "." means the owner."""
    if len(data) < 3:
        return None
    buffer = DNSBuffer(data)
    buffer.offset = 2
    target = buffer.decode_name()
    alias_mode = data[:2] == b"\x00\x00"
    if target.label == ():
        return None if alias_mode else (record.rname, ADDRESS_TYPES)
    return target, ((*ADDRESS_TYPES, record.rtype) if alias_mode else ADDRESS_TYPES)


def additional_records(zone: Zone, records: list[RR], seen: set[tuple[NameKey, int]]) -> list[RR]:
    """The records, from `zone`, that `records` call for; `seen` avoids repeats."""
    found: list[RR] = []
    for record in records:
        wanted = wanted_additional(record)
        if wanted is None:
            continue
        target, rtypes = wanted
        key = name_key(target)
        if not zone.contains(key):
            continue
        for rtype in rtypes:
            if (key, rtype) in seen:
                continue
            rrset = zone.get(key, rtype)
            if rrset is None:
                continue
            seen.add((key, rtype))
            found.extend(RR(rrset.name, rtype, CLASS.IN, rrset.ttl, rd) for rd in rrset.rdatas)
    return found
