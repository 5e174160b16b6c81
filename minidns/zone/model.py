"""The zone data model: what every loader fills and what the answerer reads.

Names are octets (RFC 2181 §11) and compare case-insensitively (RFC 1035 §2.3.3, RFC 4343): a
name's *key* is its uncompressed wire form (RFC 1035 §3.1) with ASCII letters lowercased, so a
query's name, once lowercased, is a key as it stands, and the key of an ancestor is a suffix
of it, cut at a label boundary.

A zone is one dict from each name's key to its *node*: every RRset the name owns, in wire form,
in one bytes object. A node is a run of RRsets, each an 8-octet header (TYPE, number of records,
length of the records) and its records as they go into a response whose question names the
owner: a compression pointer to the question (``C0 0C``), TYPE, CLASS IN, TTL, RDLENGTH and
RDATA (RFC 1035 §4.1.3), names in RDATA written in full. An empty non-terminal (RFC 4592
§2.2.2) is in the dict too, with an empty node. One small bytes object per name, no object per
record: the million records of bench/big_zone.py (933,237 names) take 170 MB.

Owner names are kept as written for output (``Zone.spellings``, only where they differ from
the key). For everything but the answerer (tests, tools), `Zone.get`, `Zone.rrsets` and
`Zone.soa` give `RRset` objects with dnslib rdata, decoded from the wire form on each call.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from dnslib import QTYPE, RD, SOA, DNSLabel

NameKey = bytes
Node = bytes

ROOT_KEY = b"\x00"
OWNER_POINTER = b"\xc0\x0c"  # RFC 1035 §4.1.4: the question's name, at offset 12
RRSET_HEADER = struct.Struct("!HHI")  # TYPE, number of records, length of the records
RECORD_FIXED = struct.Struct("!HHIH")  # TYPE, CLASS, TTL, RDLENGTH (RFC 1035 §4.1.3)
RECORD_HEAD = 12  # the owner pointer and RECORD_FIXED
CLASS_IN = 1
CNAME = 5
MAX_RRSET_RECORDS = 65535  # a 16-bit count, as every section count of a message


def name_wire(name: DNSLabel | str) -> bytes:
    """The uncompressed wire form of a name, case kept (RFC 1035 §3.1)."""
    label = name if isinstance(name, DNSLabel) else DNSLabel(name)
    return b"".join(bytes((len(part),)) + part for part in label.label) + b"\x00"


def name_key(name: DNSLabel | str) -> NameKey:
    """The key of a name: its wire form, ASCII letters folded (RFC 4343 §3)."""
    return name_wire(name).lower()


def label_offsets(wire: bytes) -> list[int]:
    """Where each label of an uncompressed wire name starts, the first label first (the root
    label, at the end, left out)."""
    offsets = []
    position = 0
    length = wire[0]
    while length:
        offsets.append(position)
        position += length + 1
        length = wire[position]
    return offsets


def wire_to_label(wire: bytes) -> DNSLabel:
    """A wire name as a dnslib name (a tuple of octet strings)."""
    return DNSLabel([wire[at + 1 : at + 1 + wire[at]] for at in label_offsets(wire)])


def is_subdomain(key: NameKey, ancestor: NameKey) -> bool:
    """Whether `key` is `ancestor` or below it (both keys)."""
    start = len(key) - len(ancestor)
    if start < 0 or not key.endswith(ancestor):
        return False
    position = 0
    while position < start:
        position += key[position] + 1
    return position == start


def record(rtype: int, ttl: int, rdata: bytes, rclass: int = CLASS_IN) -> bytes:
    """One record as a node holds it (see the module's docstring)."""
    return OWNER_POINTER + RECORD_FIXED.pack(rtype, rclass, ttl, len(rdata)) + rdata


def rrset_block(rtype: int, records: list[bytes]) -> bytes:
    """One RRset of a node: its header and its records."""
    body = b"".join(records)
    return RRSET_HEADER.pack(rtype, len(records), len(body)) + body


def find_rrset(node: Node, rtype: int) -> tuple[int, bytes] | None:
    """The RRset of type `rtype` in a node, as (number of records, records), or None."""
    position = 0
    end = len(node)
    unpack = RRSET_HEADER.unpack_from
    while position < end:
        found, count, length = unpack(node, position)
        position += 8
        if found == rtype:
            return count, node[position : position + length]
        position += length
    return None


def find_rrset_or_cname(node: Node, rtype: int) -> tuple[int, int, bytes] | None:
    """The node's CNAME RRset if it has one, else its RRset of type `rtype`, or None: as
    (TYPE, number of records, records)."""
    position = 0
    end = len(node)
    unpack = RRSET_HEADER.unpack_from
    found = None
    while position < end:
        found_type, count, length = unpack(node, position)
        position += 8
        if found_type == CNAME:
            return CNAME, count, node[position : position + length]
        if found_type == rtype:
            found = rtype, count, node[position : position + length]
        position += length
    return found


def rrsets_of(node: Node) -> Iterator[tuple[int, int, bytes]]:
    """Every RRset of a node: (TYPE, number of records, records)."""
    position = 0
    unpack = RRSET_HEADER.unpack_from
    while position < len(node):
        rtype, count, length = unpack(node, position)
        position += 8
        yield rtype, count, node[position : position + length]
        position += length


def rdatas_of(records: bytes) -> Iterator[bytes]:
    """The RDATA of each record of an RRset."""
    position = 0
    while position < len(records):
        length = int.from_bytes(records[position + 10 : position + 12], "big")
        start = position + RECORD_HEAD
        yield records[start : start + length]
        position = start + length


def ttl_of(records: bytes) -> int:
    """The TTL of an RRset (every record has the RRset's TTL, RFC 2181 §5.2)."""
    return int.from_bytes(records[6:10], "big")


def with_ttl(records: bytes, ttl: int) -> bytes:
    """The same records with another TTL."""
    out = bytearray(records)
    new = ttl.to_bytes(4, "big")
    position = 0
    while position < len(out):
        out[position + 6 : position + 10] = new
        position += RECORD_HEAD + int.from_bytes(out[position + 10 : position + 12], "big")
    return bytes(out)


@dataclass
class RRset:
    """All records of one owner, class IN and type, with one TTL (RFC 2181 §5), as dnslib
    objects: a view for tests and tools, made from the wire form."""

    name: DNSLabel
    rtype: int
    ttl: int
    rdatas: list[RD] = field(default_factory=list)


class Zone:
    """One zone: its origin and the RRsets of every name at or below it (made by
    `minidns.zone.builder.ZoneBuilder`; read-only once made).

    ``nodes`` also holds the empty non-terminals: every ancestor of an owner name, up to the
    origin, exists even when it owns no record. ``cuts`` are the names below the origin that
    own NS (zone cuts, RFC 1034 §4.2.1), ``dnames`` those that own a DNAME (RFC 6672).
    """

    def __init__(
        self,
        origin: DNSLabel | str,
        nodes: dict[NameKey, Node],
        spellings: dict[NameKey, bytes],
        cuts: frozenset[NameKey],
        dnames: frozenset[NameKey],
    ) -> None:
        self.origin = origin if isinstance(origin, DNSLabel) else DNSLabel(origin)
        self.origin_wire = name_wire(self.origin)
        self.origin_key = self.origin_wire.lower()
        self.origin_labels = len(self.origin.label)
        self.nodes = nodes
        self.spellings = spellings
        self.cuts = cuts
        self.dnames = dnames
        soa = find_rrset(nodes.get(self.origin_key, b""), QTYPE.SOA)
        if soa is None:
            raise LookupError(f"zone {self.origin} has no SOA")
        minimum = int.from_bytes(soa[1][-4:], "big")
        # RFC 2308 §3: a negative answer's SOA has the smaller of its TTL and MINIMUM.
        self.negative_soa = with_ttl(soa[1], min(ttl_of(soa[1]), minimum))

    def spelling(self, key: NameKey) -> bytes:
        """A name as the zone writes it (its first spelling; the key when it is lowercase)."""
        return self.spellings.get(key, key)

    def contains(self, key: NameKey) -> bool:
        """Whether a name is at or below this zone's origin."""
        return is_subdomain(key, self.origin_key)

    @property
    def names(self) -> dict[NameKey, Node]:
        """Every name that exists, empty non-terminals included (a dict: `in` is one lookup)."""
        return self.nodes

    def node(self, key: NameKey) -> dict[int, RRset] | None:
        """The RRsets owned by a name, or None when it owns none."""
        node = self.nodes.get(key)
        if not node:
            return None
        return {rtype: self._rrset(key, rtype, records) for rtype, _, records in rrsets_of(node)}

    def get(self, key: NameKey, rtype: int) -> RRset | None:
        found = find_rrset(self.nodes.get(key, b""), rtype)
        return None if found is None else self._rrset(key, rtype, found[1])

    def _rrset(self, key: NameKey, rtype: int, records: bytes) -> RRset:
        from .rdata.generic import rdata_from_wire  # the rdata package imports this module

        rdatas = [rdata_from_wire(rtype, rdata) for rdata in rdatas_of(records)]
        return RRset(wire_to_label(self.spelling(key)), rtype, ttl_of(records), rdatas)

    @property
    def soa(self) -> RRset:
        rrset = self.get(self.origin_key, QTYPE.SOA)
        assert rrset is not None  # checked when the zone was made
        return rrset

    @property
    def serial(self) -> int:
        soa = self.soa.rdatas[0]
        assert isinstance(soa, SOA)
        return int(soa.times[0])

    def rrsets(self) -> Iterator[RRset]:
        for key, node in self.nodes.items():
            for rtype, _, records in rrsets_of(node):
                yield self._rrset(key, rtype, records)

    def __len__(self) -> int:
        """The number of records."""
        return sum(count for node in self.nodes.values() for _, count, _ in rrsets_of(node))


class ZoneSet:
    """Every zone a server is authoritative for, found by the longest matching origin."""

    def __init__(self, zones: list[Zone] | None = None) -> None:
        self.zones: dict[NameKey, Zone] = {}
        self.most_labels = 0  # of any origin
        self.only: Zone | None = None  # the zone, when there is one
        for zone in zones or []:
            self.add(zone)

    def add(self, zone: Zone) -> None:
        self.zones[zone.origin_key] = zone
        self.most_labels = max(self.most_labels, zone.origin_labels)
        self.only = zone if len(self.zones) == 1 else None

    def find(self, key: NameKey, offsets: list[int] | None = None) -> Zone | None:
        """The zone with the closest enclosing origin (RFC 1034 §4.3.2 step 2), or None.

        `offsets` are the key's `label_offsets`, when the caller has them.
        """
        only = self.only
        if only is not None:  # one zone: is the name below its origin?
            start = len(key) - len(only.origin_key)
            if key.endswith(only.origin_key) and (
                start == 0 or start in (label_offsets(key) if offsets is None else offsets)
            ):
                return only
            return None
        zones = self.zones
        if offsets is None:
            offsets = label_offsets(key)
        # no origin has more labels than the longest one
        for offset in offsets[max(0, len(offsets) - self.most_labels) :]:
            zone = zones.get(key[offset:])
            if zone is not None:
                return zone
        return zones.get(ROOT_KEY)

    def __iter__(self) -> Iterator[Zone]:
        return iter(self.zones.values())

    def __len__(self) -> int:
        return len(self.zones)
