"""Additional section processing (RFC 1034 §4.3.2 step 6; RFC 2782; RFC 9460 §4).

As PowerDNS 4.7 does: the address records of the targets of NS, MX, SRV, SVCB and HTTPS
records, when the target is in the same zone as the record (glue below a zone cut included),
and for an SVCB or HTTPS record in AliasMode also the target's own records of that type.
"""

from __future__ import annotations

from minidns.writer import RRsetRef
from minidns.zone.model import RECORD_HEAD, NameKey, Zone, find_rrset

NS, MX, A, SRV, AAAA, SVCB, HTTPS = 2, 15, 1, 33, 28, 64, 65
ADDRESS_TYPES = (A, AAAA)
ADDITIONAL_TYPES = frozenset((NS, MX, SRV, SVCB, HTTPS))


def wanted_additional(
    owner: NameKey, rtype: int, rdata: bytes
) -> tuple[NameKey, tuple[int, ...]] | None:
    """The name one record points at (a key) and the types to add for it, or None."""
    if rtype == NS:  # RFC 1035 §3.3.11
        return rdata.lower(), ADDRESS_TYPES
    if rtype == MX:  # RFC 1035 §3.3.9
        return rdata[2:].lower(), ADDRESS_TYPES
    if rtype == SRV:  # RFC 2782
        return rdata[6:].lower(), ADDRESS_TYPES
    if len(rdata) < 3:  # SVCB, HTTPS: RFC 9460 §2.5
        return None
    target = _name(rdata, 2).lower()
    alias_mode = rdata[:2] == b"\x00\x00"
    if target == b"\x00":  # "." means the owner in ServiceMode, nothing in AliasMode
        return None if alias_mode else (owner, ADDRESS_TYPES)
    return target, (*ADDRESS_TYPES, rtype) if alias_mode else ADDRESS_TYPES


def additional_records(
    zone: Zone, owner: NameKey, rtype: int, records: bytes, seen: set[tuple[NameKey, int]]
) -> list[RRsetRef]:
    """The RRsets, from `zone`, that an RRset calls for; `seen` avoids repeats."""
    found: list[RRsetRef] = []
    nodes = zone.nodes
    position = 0
    while position < len(records):  # each record (minidns.zone.model's layout)
        start = position + RECORD_HEAD
        position = start + int.from_bytes(records[start - 2 : start], "big")
        wanted = wanted_additional(owner, rtype, records[start:position])
        if wanted is None:
            continue
        target, rtypes = wanted
        node = nodes.get(target)
        if not node:  # not a name of this zone, or an empty non-terminal
            continue
        for wanted_type in rtypes:
            if (target, wanted_type) in seen:
                continue
            rrset = find_rrset(node, wanted_type)
            if rrset is None:
                continue
            seen.add((target, wanted_type))
            found.append((zone.spelling(target), wanted_type, *rrset))
    return found


def _name(rdata: bytes, position: int) -> bytes:
    """The uncompressed name at `position` in an RDATA."""
    end = position
    while length := rdata[end]:
        end += length + 1
    return rdata[position : end + 1]
