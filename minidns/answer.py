"""The answer to a query, from zone data: the pure core of minidns.

`answer(zones, query, identity)` follows RFC 1034 §4.3.2 for authoritative data, with the
negative answers of RFC 2308, wildcards of RFC 4592, DNAME of RFC 6672 and EDNS of RFC 6891.
Where the RFCs leave a choice, it does what PowerDNS 4.7 does (see docs/minidns.md).
Truncation to a transport's size limit is left to `minidns.respond`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, auto

from dnslib import CLASS, CNAME, OPCODE, QTYPE, RCODE, RR, SOA, DNSHeader, DNSLabel, DNSRecord

from minidns.additional import additional_records
from minidns.chaos import chaos_answer
from minidns.edns import EXTENDED_RCODE_BADVERS, EdnsFormatError, read_query_edns
from minidns.edns import response_opt as make_response_opt
from minidns.wildcard import closest_encloser, source_of_synthesis
from minidns.zone.model import NameKey, RRset, Zone, ZoneSet, name_key

# CNAME and DNAME links followed before giving up with SERVFAIL, as PowerDNS 4.7 does; a CNAME
# loop ends here too (RFC 1034 §3.6.2: loops must be detected).
MAX_CHAIN = 10
MAX_NAME_LENGTH = 255  # RFC 1035 §2.3.4, in wire octets


@dataclass
class Sections:
    """What a response says, before it is packed."""

    rcode: int = RCODE.NOERROR
    authoritative: bool = True
    truncated: bool = False
    answer: list[RR] = field(default_factory=list)
    authority: list[RR] = field(default_factory=list)
    additional: list[RR] = field(default_factory=list)
    # Records whose targets get additional processing (NS, MX, SRV, SVCB: RFC 1034 §4.3.2
    # step 6), with the zone they came from; `additional.additional_records` fills them in.
    needs_additional: list[tuple[Zone, list[RR]]] = field(default_factory=list)


class Match(Enum):
    """Where the descent from a zone's origin towards a name stopped (RFC 1034 §4.3.2 step 3)."""

    NAME = auto()  # step 3a: the name exists
    REFERRAL = auto()  # step 3b: a zone cut on the way
    DNAME = auto()  # RFC 6672 §3.2: a DNAME above the name
    NO_NAME = auto()  # step 3c: the name does not exist


@dataclass(frozen=True)
class Descent:
    """Where `descend` stopped, and the name it stopped at."""

    match: Match
    key: NameKey  # the name itself, the cut, the DNAME owner, or the closest encloser


# Header bits (RFC 1035 §4.1.1), handled on dnslib's 16-bit bitmap directly: its per-bit
# properties cost more than the rest of a simple answer.
QR = 0x8000
OPCODE_BITS = 0x7800
AA = 0x0400
TC = 0x0200
RD = 0x0100
CD = 0x0010  # RFC 4035 §3.2.2: copied from the query
OPCODE_SHIFT = 11


def answer(zones: ZoneSet, query: DNSRecord, identity: str = "", tcp: bool = False) -> DNSRecord:
    """The response to a parsed query, before any truncation to a UDP size limit."""
    flags = QR | (query.header.bitmap & (OPCODE_BITS | RD | CD))
    response = DNSRecord(DNSHeader(id=query.header.id, bitmap=flags), list(query.questions))
    try:
        query_edns = read_query_edns(query.ar)
    except EdnsFormatError:
        response.header.bitmap = flags | RCODE.FORMERR
        return response
    if query_edns is not None and query_edns.version > 0:
        # RFC 6891 §6.1.3: BADVERS, and the OPT says the version we do speak; AA as PowerDNS.
        response.header.bitmap = flags | AA
        response.ar = [make_response_opt(query_edns, identity, EXTENDED_RCODE_BADVERS)]
        return response
    sections = _answer_question(zones, query, identity, tcp)
    if sections.authoritative:
        flags |= AA
    if sections.truncated:
        flags |= TC
    response.header.bitmap = flags | sections.rcode
    response.rr = sections.answer
    response.auth = sections.authority
    response.ar = sections.additional
    if query_edns is not None:
        response.ar.append(make_response_opt(query_edns, identity))
    return response


def _answer_question(zones: ZoneSet, query: DNSRecord, identity: str, tcp: bool) -> Sections:
    opcode = (query.header.bitmap & OPCODE_BITS) >> OPCODE_SHIFT
    if opcode in (OPCODE.NOTIFY, OPCODE.UPDATE):
        return Sections(rcode=RCODE.REFUSED)  # as PowerDNS 4.7 without secondaries or updates
    if opcode != OPCODE.QUERY:
        return Sections(rcode=RCODE.NOTIMP, authoritative=False)
    if len(query.questions) != 1:  # RFC 9619: one question per query
        return Sections(rcode=RCODE.FORMERR, authoritative=False)
    question = query.questions[0]
    qtype = question.qtype
    if question.qclass == CLASS.CH:
        rcode, records = chaos_answer(question.qname, qtype, identity)
        return Sections(rcode=rcode, answer=records)
    if question.qclass != CLASS.IN:
        return Sections(rcode=RCODE.REFUSED)
    if qtype == QTYPE.ANY and not tcp:
        # RFC 8482 §4.4 leaves the choice; PowerDNS 4.7 (any-to-tcp) sends every ANY to TCP.
        return Sections(truncated=True)
    if qtype in (QTYPE.AXFR, QTYPE.IXFR):  # transfers are served over TCP by minidns.axfr
        return Sections(rcode=RCODE.NOTIMP, authoritative=False)
    if qtype == QTYPE.RRSIG:  # signatures are not served alone, as PowerDNS 4.7 refuses them
        return Sections(rcode=RCODE.REFUSED)
    sections = resolve(zones, question.qname, qtype)
    if sections.needs_additional:
        seen: set[tuple[NameKey, int]] = set()
        for zone, records in sections.needs_additional:
            sections.additional.extend(additional_records(zone, records, seen))
    return sections


def resolve(zones: ZoneSet, qname: DNSLabel, qtype: int) -> Sections:
    """The sections answering (qname, IN, qtype), following CNAME and DNAME links."""
    sections = Sections()
    zone = _zone_for(zones, name_key(qname), qtype)
    if zone is None:  # RFC 1034 §4.3.2 step 2: not authoritative for the name
        return Sections(rcode=RCODE.REFUSED, authoritative=False)
    name = qname
    for link in range(MAX_CHAIN + 1):
        if qtype == QTYPE.ANY and link > 0:
            # PowerDNS follows a CNAME for ANY, but only adds what the target has: a target
            # with no data or no name leaves the answer NOERROR, without an SOA.
            found = Sections()
            target = _resolve_in_zone(zone, name, qtype, found)
            sections.answer.extend(found.answer)
            sections.needs_additional.extend(found.needs_additional)
        else:
            target = _resolve_in_zone(zone, name, qtype, sections)
        if target is None:
            return sections
        name = target
        next_zone = _zone_for(zones, name_key(name), qtype)
        if next_zone is None:  # the chain leaves our zones: the resolver goes on from here
            return sections
        zone = next_zone
    return Sections(rcode=RCODE.SERVFAIL)  # a CNAME loop, or a chain too long


def _zone_for(zones: ZoneSet, key: NameKey, qtype: int) -> Zone | None:
    zone = zones.find(key)
    if zone is not None and qtype == QTYPE.DS and key == zone.origin_key and key:
        # RFC 4035 §3.1.4.1: the DS of a zone is answered from the parent's side of the cut.
        parent = zones.find(key[1:])
        if parent is not None:
            return parent
    return zone


def descend(zone: Zone, key: NameKey, qtype: int) -> Descent:
    """Walk from the origin down to `key`, stopping at a cut or a DNAME (RFC 1034 §4.3.2 step 3)."""
    depth_origin = len(zone.origin_key)
    for depth in range(depth_origin, len(key) + 1):
        node_key = key[len(key) - depth :]
        if node_key not in zone.names:
            return Descent(Match.NO_NAME, closest_encloser(zone, key))
        node = zone.nodes.get(node_key)
        if node is None:
            continue
        at_name = depth == len(key)
        if depth > depth_origin and QTYPE.NS in node and not (at_name and qtype == QTYPE.DS):
            return Descent(Match.REFERRAL, node_key)  # RFC 4035 §3.1.4.1: DS from the parent
        if not at_name and QTYPE.DNAME in node:
            return Descent(Match.DNAME, node_key)
    return Descent(Match.NAME, key)


def _resolve_in_zone(
    zone: Zone, qname: DNSLabel, qtype: int, sections: Sections
) -> DNSLabel | None:
    """Add to `sections` what `zone` says about (qname, qtype); the name to follow, if any."""
    key = name_key(qname)
    descent = descend(zone, key, qtype)
    if descent.match is Match.REFERRAL:
        _add_referral(zone, descent.key, sections)
        return None
    if descent.match is Match.DNAME:
        return _add_dname(zone, descent.key, qname, sections)
    if descent.match is Match.NAME:
        node = zone.nodes.get(key, {})
    else:
        wildcard = source_of_synthesis(zone, descent.key)
        if wildcard is None:
            sections.rcode = RCODE.NXDOMAIN  # RFC 1034 §4.3.2 step 3c
            _add_negative_soa(zone, sections)
            return None
        node = zone.nodes.get(wildcard, {})  # RFC 4592 §3.3.1: synthesize, owned by the qname
    return _add_node_answer(zone, node, qname, qtype, sections)


def _add_node_answer(
    zone: Zone,
    node: dict[int, RRset],
    owner: DNSLabel,
    qtype: int,
    sections: Sections,
) -> DNSLabel | None:
    """RFC 1034 §4.3.2 step 3a: the node's data for qtype, or its CNAME, or NODATA."""
    if qtype == QTYPE.ANY:
        records = [record for rrset in node.values() for record in _records(rrset, owner)]
        if not records:
            _add_negative_soa(zone, sections)
            return None
        sections.answer.extend(records)
        sections.needs_additional.append((zone, records))
        return _cname_target(node)  # PowerDNS follows a CNAME for ANY too
    cname = node.get(QTYPE.CNAME)
    if cname is not None and cname.rdatas and qtype != QTYPE.CNAME:
        # RFC 1034 §4.3.2 step 3a: restart at the target. A CNAME wins over other data at the
        # same name (which RFC 1034 §3.6.2 forbids), as with PowerDNS.
        sections.answer.extend(_records(cname, owner))
        return _cname_target(node)
    rrset = node.get(qtype)
    if rrset is not None:
        records = _records(rrset, owner)
        sections.answer.extend(records)
        sections.needs_additional.append((zone, records))
        return None
    _add_negative_soa(zone, sections)  # RFC 2308 §2.2: NODATA
    return None


def _cname_target(node: dict[int, RRset]) -> DNSLabel | None:
    cname = node.get(QTYPE.CNAME)
    if cname is None or not cname.rdatas:
        return None
    target = cname.rdatas[0]
    assert isinstance(target, CNAME)
    return DNSLabel(target.label)


def _add_referral(zone: Zone, cut: NameKey, sections: Sections) -> None:
    """RFC 1034 §4.3.2 step 3b: the NS records of the cut, and their glue."""
    ns = zone.nodes[cut][QTYPE.NS]
    records = _records(ns, ns.name)
    if not sections.answer:
        sections.authoritative = False  # a referral is not authoritative data
    sections.authority.extend(records)
    sections.needs_additional.append((zone, records))


def _add_dname(zone: Zone, owner: NameKey, qname: DNSLabel, sections: Sections) -> DNSLabel | None:
    """RFC 6672 §3.2: the DNAME, and a CNAME synthesized from it; the name to follow."""
    dname = zone.nodes[owner][QTYPE.DNAME]
    sections.answer.extend(_records(dname, dname.name))
    new_suffix = dname.rdatas[0]
    assert isinstance(new_suffix, CNAME)  # dnslib's DNAME is a CNAME subclass
    prefix = qname.label[: len(qname.label) - len(owner)]
    target = DNSLabel(prefix + DNSLabel(new_suffix.label).label)
    if sum(len(label) + 1 for label in target.label) + 1 > MAX_NAME_LENGTH:
        sections.rcode = RCODE.YXDOMAIN  # RFC 6672 §2.2: the substituted name is too long
        return None
    sections.answer.append(RR(qname, QTYPE.CNAME, CLASS.IN, dname.ttl, CNAME(target)))
    return target


def _add_negative_soa(zone: Zone, sections: Sections) -> None:
    """RFC 2308 §3: the zone's SOA in authority, its TTL the smaller of its TTL and MINIMUM."""
    soa = zone.soa
    rdata = soa.rdatas[0]
    assert isinstance(rdata, SOA)
    ttl = min(soa.ttl, int(rdata.times[4]))
    sections.authority.append(RR(soa.name, QTYPE.SOA, CLASS.IN, ttl, rdata))


def _records(rrset: RRset, owner: DNSLabel) -> list[RR]:
    return [RR(owner, rrset.rtype, CLASS.IN, rrset.ttl, rdata) for rdata in rrset.rdatas]


__all__ = ["MAX_CHAIN", "Descent", "Match", "Sections", "answer", "descend", "resolve"]
