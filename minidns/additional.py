"""Additional section processing (RFC 1034 §4.3.2 step 6; RFC 2782; RFC 9460 §4).

As PowerDNS 4.7 does: the address records of the targets of NS, MX, SRV, SVCB and HTTPS
records, when the target is in the same zone as the record (glue below a zone cut included),
and for an SVCB or HTTPS record in AliasMode also the target's own records of that type.
"""

from __future__ import annotations

from collections.abc import Iterator

from minidns.writer import RRsetRef
from minidns.zone.model import NameKey, Zone, find_rrset, rdatas_of

NS, MX, A, SRV, AAAA, SVCB, HTTPS = 2, 15, 1, 33, 28, 64, 65
ADDRESS_TYPES = (A, AAAA)
ADDITIONAL_TYPES = frozenset((NS, MX, SRV, SVCB, HTTPS))


def wanted_additional(
    owner: NameKey, rtype: int, records: bytes
) -> Iterator[tuple[NameKey, tuple[int, ...]]]:
    """For each record of an RRset, the name it points at (a key) and the types to add."""
    for rdata in rdatas_of(records):
        if rtype == NS:  # RFC 1035 §3.3.11
            yield rdata.lower(), ADDRESS_TYPES
        elif rtype == MX:  # RFC 1035 §3.3.9
            yield rdata[2:].lower(), ADDRESS_TYPES
        elif rtype == SRV:  # RFC 2782
            yield rdata[6:].lower(), ADDRESS_TYPES
        elif len(rdata) >= 3:  # SVCB, HTTPS: RFC 9460 §2.5
            target = _name(rdata, 2).lower()
            alias_mode = rdata[:2] == b"\x00\x00"
            if target == b"\x00":  # "." means the owner in ServiceMode, nothing in AliasMode
                if not alias_mode:
                    yield owner, ADDRESS_TYPES
            else:
                yield target, (*ADDRESS_TYPES, rtype) if alias_mode else ADDRESS_TYPES


def additional_records(
    zone: Zone, owner: NameKey, rtype: int, records: bytes, seen: set[tuple[NameKey, int]]
) -> list[RRsetRef]:
    """The RRsets, from `zone`, that an RRset calls for; `seen` avoids repeats."""
    found: list[RRsetRef] = []
    nodes = zone.nodes
    for target, rtypes in wanted_additional(owner, rtype, records):
        node = nodes.get(target)
        if not node:  # not a name of this zone, or an empty non-terminal
            continue
        for wanted in rtypes:
            if (target, wanted) in seen:
                continue
            rrset = find_rrset(node, wanted)
            if rrset is None:
                continue
            seen.add((target, wanted))
            found.append((zone.spelling(target), wanted, *rrset))
    return found


def _name(rdata: bytes, position: int) -> bytes:
    """The uncompressed name at `position` in an RDATA."""
    end = position
    while length := rdata[end]:
        end += length + 1
    return rdata[position : end + 1]
