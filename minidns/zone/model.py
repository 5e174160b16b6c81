"""The zone data model: what every loader fills and what the answerer reads.

Names are compared case-insensitively (RFC 1035 §2.3.3, RFC 4343): a name's *key* is the tuple of
its labels lowercased in ASCII, most specific label first, as dnslib's ``DNSLabel.label`` holds
them. Records keep the owner name as written, for output.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from dnslib import QTYPE, RD, SOA, DNSLabel

NameKey = tuple[bytes, ...]


def name_key(name: DNSLabel | str) -> NameKey:
    """The case-folded key of a name (RFC 4343 §3: ASCII letters only are folded)."""
    label = name if isinstance(name, DNSLabel) else DNSLabel(name)
    return tuple(part.lower() for part in label.label)


@dataclass
class RRset:
    """All records of one owner, class IN and type, with one TTL (RFC 2181 §5)."""

    name: DNSLabel
    rtype: int
    ttl: int
    rdatas: list[RD] = field(default_factory=list)


class Zone:
    """One zone: its origin and the RRsets of every name at or below it.

    ``names`` also holds the empty non-terminals (RFC 4592 §2.2.2): every ancestor of an owner
    name, up to the origin, exists even when it owns no record.
    """

    def __init__(self, origin: DNSLabel | str) -> None:
        self.origin = origin if isinstance(origin, DNSLabel) else DNSLabel(origin)
        self.origin_key = name_key(self.origin)
        self.nodes: dict[NameKey, dict[int, RRset]] = {}
        self.names: set[NameKey] = {self.origin_key}

    def contains(self, key: NameKey) -> bool:
        """Whether a name is at or below this zone's origin."""
        depth = len(self.origin_key)
        return len(key) >= depth and (depth == 0 or key[-depth:] == self.origin_key)

    def add(self, name: DNSLabel, rtype: int, ttl: int, rdata: RD) -> None:
        """Add one record; a record of an existing RRset takes that RRset's first TTL."""
        key = name_key(name)
        if not self.contains(key):
            raise ValueError(f"{name} is outside the zone {self.origin}")
        rrsets = self.nodes.setdefault(key, {})
        rrset = rrsets.get(rtype)
        if rrset is None:
            rrset = rrsets[rtype] = RRset(name, rtype, ttl)
        if rdata not in rrset.rdatas:  # RFC 2181 §5: an RRset has no duplicate records
            rrset.rdatas.append(rdata)
        for depth in range(len(self.origin_key), len(key) + 1):
            self.names.add(key[len(key) - depth :])

    def node(self, key: NameKey) -> dict[int, RRset] | None:
        """The RRsets owned by a name, or None when it owns none."""
        return self.nodes.get(key)

    def get(self, key: NameKey, rtype: int) -> RRset | None:
        node = self.nodes.get(key)
        return None if node is None else node.get(rtype)

    @property
    def soa(self) -> RRset:
        rrset = self.get(self.origin_key, QTYPE.SOA)
        if rrset is None or not rrset.rdatas:
            raise LookupError(f"zone {self.origin} has no SOA")
        return rrset

    @property
    def serial(self) -> int:
        soa = self.soa.rdatas[0]
        assert isinstance(soa, SOA)
        return int(soa.times[0])

    def rrsets(self) -> Iterator[RRset]:
        for node in self.nodes.values():
            yield from node.values()


class ZoneSet:
    """Every zone a server is authoritative for, found by the longest matching origin."""

    def __init__(self, zones: list[Zone] | None = None) -> None:
        self.zones: dict[NameKey, Zone] = {}
        for zone in zones or []:
            self.add(zone)

    def add(self, zone: Zone) -> None:
        self.zones[zone.origin_key] = zone

    def find(self, key: NameKey) -> Zone | None:
        """The zone with the closest enclosing origin (RFC 1034 §4.3.2 step 2), or None."""
        for depth in range(len(key), -1, -1):
            zone = self.zones.get(key[len(key) - depth :])
            if zone is not None:
                return zone
        return None

    def __iter__(self) -> Iterator[Zone]:
        return iter(self.zones.values())

    def __len__(self) -> int:
        return len(self.zones)
