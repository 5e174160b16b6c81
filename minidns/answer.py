"""The answer to a query, from zone data: the pure core of minidns.

`answer(zones, query, identity, tcp)` follows RFC 1034 §4.3.2 for authoritative data, with the
negative answers of RFC 2308, wildcards of RFC 4592, DNAME of RFC 6672 and EDNS of RFC 6891.
Where the RFCs leave a choice, it does what PowerDNS 4.7 does (see docs/minidns.md).

It works on the zones' wire form (`minidns.zone.model`) and gives RRsets in that form: the
records of an answer are the bytes the zone holds, written out by `minidns.writer`.
Truncation to a transport's size limit is left to `minidns.respond`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, auto

from minidns.additional import ADDITIONAL_TYPES, additional_records
from minidns.chaos import chaos_answer
from minidns.edns import EXTENDED_RCODE_BADVERS, response_opt
from minidns.query import Query
from minidns.wildcard import source_of_synthesis
from minidns.writer import COMPRESSED, RRsetRef
from minidns.zone.model import (
    NameKey,
    Node,
    Zone,
    ZoneSet,
    find_rrset,
    find_rrset_or_cname,
    label_offsets,
    record,
    rrsets_of,
    ttl_of,
)

# CNAME and DNAME links followed before giving up with SERVFAIL, as PowerDNS 4.7 does; a CNAME
# loop ends here too (RFC 1034 §3.6.2: loops must be detected).
MAX_CHAIN = 10
MAX_NAME_LENGTH = 255  # RFC 1035 §2.3.4, in wire octets
NOT_PLAIN = ADDITIONAL_TYPES | COMPRESSED | {255}  # answers that are more than one RRset

# Header bits (RFC 1035 §4.1.1) and the values of RCODE and OPCODE used here.
QR = 0x8000
OPCODE_BITS = 0x7800
AA = 0x0400
TC = 0x0200
RD = 0x0100
CD = 0x0010  # RFC 4035 §3.2.2: copied from the query
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, YXDOMAIN = 0, 1, 2, 3, 4, 5, 6
OPCODE_QUERY, OPCODE_NOTIFY, OPCODE_UPDATE = 0, 4, 5
CLASS_IN, CLASS_CH = 1, 3
# TYPE values (RFC 1035 §3.2.2 and later)
NS, CNAME, SOA, DNAME, DS, RRSIG, IXFR, AXFR, ANY = 2, 5, 6, 39, 43, 46, 251, 252, 255


@dataclass(slots=True)
class Response:
    """What a response says, before it is packed; its question is the query's."""

    rcode: int = NOERROR
    authoritative: bool = True
    truncated: bool = False
    answer: list[RRsetRef] = field(default_factory=list)
    authority: list[RRsetRef] = field(default_factory=list)
    additional: list[RRsetRef] = field(default_factory=list)
    opt: bytes | None = None  # the OPT record (RFC 6891 §7), in wire form
    flags: int = 0  # the header's, RCODE included, once `answer` is done
    # RRsets whose targets get additional processing (NS, MX, SRV, SVCB: RFC 1034 §4.3.2
    # step 6), with the zone they came from and their owner's key; `additional_records`
    # fills them in.
    needs_additional: list[tuple[Zone, NameKey, int, bytes]] = field(default_factory=list)


class Match(Enum):
    """Where the descent from a zone's origin towards a name stopped (RFC 1034 §4.3.2 step 3)."""

    NAME = auto()  # step 3a: the name exists
    REFERRAL = auto()  # step 3b: a zone cut on the way
    DNAME = auto()  # RFC 6672 §3.2: a DNAME above the name
    NO_NAME = auto()  # step 3c: the name does not exist


# The members by plain names: reading an Enum's member from its class costs a lookup through
# the class's metaclass, too slow for the query path.
NAME_MATCH, REFERRAL_MATCH, DNAME_MATCH, NO_NAME_MATCH = Match


Location = tuple[Zone, Match, int, Node]  # a name's zone, and where `descend` stops in it


def answer(
    zones: ZoneSet,
    query: Query,
    identity: bytes = b"",
    tcp: bool = False,
    location: Location | None = None,
) -> Response:
    """The response to a query, before any truncation to a UDP size limit; `location` is the
    question's (`locate`), when the caller has it."""
    flags = QR | (query.flags & (OPCODE_BITS | RD | CD))
    edns = query.edns
    if edns is not None and edns.version > 0:
        # RFC 6891 §6.1.3: BADVERS, and the OPT says the version we do speak; AA as PowerDNS.
        opt = response_opt(edns.dnssec_ok, edns.nsid, identity, EXTENDED_RCODE_BADVERS)
        return Response(opt=opt, flags=flags | AA)
    response = _answer_question(zones, query, identity, tcp, location)
    if response.authoritative:
        flags |= AA
    if response.truncated:
        flags |= TC
    response.flags = flags | response.rcode
    if edns is not None:
        response.opt = response_opt(edns.dnssec_ok, edns.nsid, identity)
    return response


def _answer_question(
    zones: ZoneSet, query: Query, identity: bytes, tcp: bool, location: Location | None
) -> Response:
    opcode = (query.flags & OPCODE_BITS) >> 11
    if opcode != OPCODE_QUERY:
        if opcode in (OPCODE_NOTIFY, OPCODE_UPDATE):
            return Response(REFUSED)  # as PowerDNS 4.7 without secondaries or updates
        return Response(NOTIMP, authoritative=False)
    qtype = query.qtype
    if query.qclass != CLASS_IN:
        if query.qclass == CLASS_CH:
            rcode, records = chaos_answer(query.key, qtype, identity)
            return Response(rcode, answer=records)
        return Response(REFUSED)
    if qtype == ANY and not tcp:
        # RFC 8482 §4.4 leaves the choice; PowerDNS 4.7 (any-to-tcp) sends every ANY to TCP.
        return Response(truncated=True)
    if qtype in (AXFR, IXFR):  # transfers are served over TCP by minidns.axfr
        return Response(NOTIMP, authoritative=False)
    if qtype == RRSIG:  # signatures are not served alone, as PowerDNS 4.7 refuses them
        return Response(REFUSED)
    response = resolve(zones, query.name, query.key, query.offsets, qtype, location)
    if response.needs_additional:
        seen: set[tuple[NameKey, int]] = set()
        for zone, owner, rtype, rrset in response.needs_additional:
            response.additional += additional_records(zone, owner, rtype, rrset, seen)
    return response


def resolve(
    zones: ZoneSet,
    qname: bytes,
    key: NameKey,
    offsets: list[int],
    qtype: int,
    location: Location | None = None,
) -> Response:
    """The response answering (qname, IN, qtype), following CNAME and DNAME links.

    `qname` is the question's name in wire form (its case kept), `key` the same lowercased,
    `offsets` where its labels start; `location` is where it stands, if known.
    """
    response = Response()
    if location is None:
        location = locate(zones, key, offsets, qtype)
        if location is None:  # RFC 1034 §4.3.2 step 2: not authoritative for the name
            return Response(REFUSED, authoritative=False)
    name = qname
    owner: bytes | None = None  # None: the question's name, which the records point at
    for link in range(MAX_CHAIN + 1):
        if qtype == ANY and link > 0:
            # PowerDNS follows a CNAME for ANY, but only adds what the target has: a target
            # with no data or no name leaves the answer NOERROR, without an SOA.
            found = Response()
            target = _resolve_in_zone(location, name, owner, key, qtype, found)
            response.answer += found.answer
            response.needs_additional += found.needs_additional
        else:
            target = _resolve_in_zone(location, name, owner, key, qtype, response)
        if target is None:
            return response
        name = owner = target
        key = target.lower()
        offsets = label_offsets(key)
        next_location = locate(zones, key, offsets, qtype)
        if next_location is None:  # the chain leaves our zones: the resolver goes on from here
            return response
        location = next_location
    return Response(SERVFAIL)  # a CNAME loop, or a chain too long


def locate(zones: ZoneSet, key: NameKey, offsets: list[int], qtype: int) -> Location | None:
    """The zone of a name and where the descent to it stops there, or None when the name is
    in none of our zones."""
    zone = zone_for(zones, key, offsets, qtype)
    return None if zone is None else (zone, *descend(zone, key, offsets, qtype))


def zone_for(zones: ZoneSet, key: NameKey, offsets: list[int], qtype: int) -> Zone | None:
    zone = zones.find(key, offsets)
    if zone is not None and qtype == DS and key == zone.origin_key and offsets:
        # RFC 4035 §3.1.4.1: the DS of a zone is answered from the parent's side of the cut.
        parent = zones.find(key[key[0] + 1 :])
        if parent is not None:
            return parent
    return zone


def descend(zone: Zone, key: NameKey, offsets: list[int], qtype: int) -> tuple[Match, int, Node]:
    """Walk from the origin down to `key`, stopping at a cut or a DNAME (RFC 1034 §4.3.2 step
    3): where it stopped, the offset in `key` of the name it stopped at (the name itself, the
    cut, the DNAME owner, or the closest encloser), and that name's node."""
    nodes = zone.nodes
    below = len(offsets) - zone.origin_labels  # labels below the origin
    at = len(key) - len(zone.origin_key)
    node = nodes[zone.origin_key]
    dnames = zone.dnames
    if below and dnames and zone.origin_key in dnames:
        return DNAME_MATCH, at, node
    cuts = zone.cuts
    for index in range(below - 1, -1, -1):
        start = offsets[index]
        suffix = key[start:]
        found = nodes.get(suffix)
        if found is None:
            return NO_NAME_MATCH, at, node  # `at`: the closest encloser (RFC 4592 §3.3.1)
        at, node = start, found
        if cuts and suffix in cuts and (index or qtype != DS):
            return REFERRAL_MATCH, at, node  # RFC 4035 §3.1.4.1: DS from the parent side
        if index and dnames and suffix in dnames:
            return DNAME_MATCH, at, node
    return NAME_MATCH, at, node


def _resolve_in_zone(
    location: Location,
    name: bytes,
    owner: bytes | None,
    key: NameKey,
    qtype: int,
    response: Response,
) -> bytes | None:
    """Add to `response` what the zone says about (name, qtype), given where the name stands
    in it; the name to follow, if any.

    `owner` is what the records for `name` are owned by: `name`, or None for the question's.
    """
    zone, match, at, node = location
    if match is NAME_MATCH:
        return _add_node_answer(zone, node, owner, key, qtype, response)
    if match is REFERRAL_MATCH:
        _add_referral(zone, key[at:], node, response)
        return None
    if match is DNAME_MATCH:
        return _add_dname(zone, key[at:], node, name, owner, at, response)
    wildcard = source_of_synthesis(zone, key[at:])
    if wildcard is None:
        response.rcode = NXDOMAIN  # RFC 1034 §4.3.2 step 3c
        _add_negative_soa(zone, response)
        return None
    # RFC 4592 §3.3.1: synthesize, owned by the query name
    return _add_node_answer(zone, zone.nodes[wildcard], owner, key, qtype, response)


def plain_rrset(location: Location, key: NameKey, qtype: int) -> tuple[int, bytes] | None:
    """For a name that owns an RRset of type `qtype`, or is synthesized from a wildcard that
    does (RFC 4592 §3.3.1), when the answer is that RRset and nothing else (no CNAME there, no
    name in its records to compress, RFC 1035 §4.1.4, no additional records to add, RFC 1034
    §4.3.2 step 6): its number of records and its records, owned by the question's name. None
    for any other answer. `key` is the name's key, `location` where it stands."""
    zone, match, at, node = location
    if qtype in NOT_PLAIN:
        return None
    if match is NO_NAME_MATCH:
        wildcard = source_of_synthesis(zone, key[at:])
        if wildcard is None:
            return None
        node = zone.nodes[wildcard]
    elif match is not NAME_MATCH:
        return None
    found = find_rrset_or_cname(node, qtype)
    if found is None or found[0] != qtype:  # NODATA, or a CNAME
        return None
    return found[1], found[2]


def _add_node_answer(
    zone: Zone, node: Node, owner: bytes | None, key: NameKey, qtype: int, response: Response
) -> bytes | None:
    """RFC 1034 §4.3.2 step 3a: the node's data for qtype, or its CNAME, or NODATA."""
    if qtype == ANY:
        rrsets = [(owner, rtype, count, records) for rtype, count, records in rrsets_of(node)]
        if not rrsets:
            _add_negative_soa(zone, response)
            return None
        response.answer += rrsets
        for _, rtype, _, records in rrsets:
            if rtype in ADDITIONAL_TYPES:
                response.needs_additional.append((zone, key, rtype, records))
        return _cname_target(node)  # PowerDNS follows a CNAME for ANY too
    # RFC 1034 §4.3.2 step 3a: the data asked for, or a CNAME to restart at its target. A
    # CNAME wins over other data at the same name (which RFC 1034 §3.6.2 forbids), as with
    # PowerDNS.
    found = find_rrset_or_cname(node, qtype)
    if found is not None:
        rtype, count, records = found
        response.answer.append((owner, rtype, count, records))
        if rtype != qtype:  # a CNAME
            return _first_rdata(records)
        if rtype in ADDITIONAL_TYPES:
            response.needs_additional.append((zone, key, rtype, records))
        return None
    _add_negative_soa(zone, response)  # RFC 2308 §2.2: NODATA
    return None


def _cname_target(node: Node) -> bytes | None:
    cname = find_rrset(node, CNAME)
    return None if cname is None else _first_rdata(cname[1])


def _first_rdata(records: bytes) -> bytes:
    return records[12 : 12 + int.from_bytes(records[10:12], "big")]


def _add_referral(zone: Zone, cut: NameKey, node: Node, response: Response) -> None:
    """RFC 1034 §4.3.2 step 3b: the NS records of the cut, and their glue."""
    ns = find_rrset(node, NS)
    assert ns is not None  # a cut owns NS
    if not response.answer:
        response.authoritative = False  # a referral is not authoritative data
    response.authority.append((zone.spelling(cut), NS, *ns))
    response.needs_additional.append((zone, cut, NS, ns[1]))


def _add_dname(
    zone: Zone,
    dname_owner: NameKey,
    node: Node,
    name: bytes,
    owner: bytes | None,
    at: int,
    response: Response,
) -> bytes | None:
    """RFC 6672 §3.2: the DNAME, and a CNAME synthesized from it; the name to follow.

    `at` is where the DNAME's owner starts in `name`.
    """
    dname = find_rrset(node, DNAME)
    assert dname is not None
    records = dname[1]
    response.answer.append((zone.spelling(dname_owner), DNAME, *dname))
    target = name[:at] + _first_rdata(records)
    if len(target) > MAX_NAME_LENGTH:
        response.rcode = YXDOMAIN  # RFC 6672 §2.2: the substituted name is too long
        return None
    response.answer.append((owner, CNAME, 1, record(CNAME, ttl_of(records), target)))
    return target


def _add_negative_soa(zone: Zone, response: Response) -> None:
    """RFC 2308 §3: the zone's SOA in authority, its TTL the smaller of its TTL and MINIMUM."""
    response.authority.append((zone.spelling(zone.origin_key), SOA, 1, zone.negative_soa))


__all__ = ["MAX_CHAIN", "Match", "Response", "answer", "descend", "resolve", "zone_for"]
