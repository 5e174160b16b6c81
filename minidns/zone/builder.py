"""Fills a :class:`~minidns.zone.model.Zone` record by record, for the loaders.

Records go straight into their node's wire form (see :mod:`minidns.zone.model`). A record that
is already in its RRset is dropped (RFC 2181 §5); a record of an existing RRset takes that
RRset's first TTL. An RRset that grows past `LARGE_RRSET` records is gathered on the side and
put into its node when the zone is made, so that neither the duplicate check nor the copy of
the node grows with the square of its size (5000 addresses at one name).
"""

from __future__ import annotations

import struct

from dnslib import QTYPE, RD, DNSLabel

from .model import (
    CLASS_IN,
    MAX_RRSET_RECORDS,
    RECORD_HEAD,
    RRSET_HEADER,
    NameKey,
    Zone,
    find_rrset,
    name_wire,
    record,
    rrset_block,
    ttl_of,
)
from .rdata import rdata_to_wire

LARGE_RRSET = 32
_FIRST_RECORD = struct.Struct("!HHIHHHIH")  # an RRset header, then a record's (model.py)
_NS = QTYPE.NS
_DNAME = QTYPE.DNAME


class ZoneBuilder:
    """The records of the zone `origin`, added one by one; `zone()` makes the Zone."""

    def __init__(self, origin: DNSLabel | str) -> None:
        self.origin = origin if isinstance(origin, DNSLabel) else DNSLabel(origin)
        self.origin_wire = name_wire(self.origin)
        self.origin_key = self.origin_wire.lower()
        self.nodes: dict[NameKey, bytes] = {self.origin_key: b""}
        self.spellings: dict[NameKey, bytes] = {}
        if self.origin_wire != self.origin_key:
            self.spellings[self.origin_key] = self.origin_wire
        self.cuts: set[NameKey] = set()
        self.dnames: set[NameKey] = set()
        # (name, type) -> the records and their set, for RRsets over LARGE_RRSET records
        self._large: dict[tuple[NameKey, int], tuple[list[bytes], set[bytes]]] = {}

    def add(self, name: DNSLabel, rtype: int, ttl: int, rdata: RD) -> None:
        """Add one record; raises ValueError when `name` is outside the zone."""
        self.add_wire(name_wire(name), rtype, ttl, rdata_to_wire(rdata))

    def add_wire(self, owner: bytes, rtype: int, ttl: int, rdata: bytes) -> None:
        """Add one record given in wire form (owner uncompressed, as written); raises
        ValueError when the owner is outside the zone or the RRset is full."""
        key = owner.lower()
        nodes = self.nodes
        node = nodes.get(key)
        if not node:
            if node is None and key[key[0] + 1 :] not in nodes:  # a new name, a new parent
                self._add_ancestors(key)
            nodes[key] = (
                _FIRST_RECORD.pack(
                    rtype, 1, RECORD_HEAD + len(rdata), 0xC00C, rtype, CLASS_IN, ttl, len(rdata)
                )
                + rdata
            )
        else:
            nodes[key] = self._insert(key, node, rtype, ttl, rdata)
        if owner != key and key not in self.spellings:
            self.spellings[key] = owner
        if rtype == _NS and key != self.origin_key:
            self.cuts.add(key)
        elif rtype == _DNAME:
            self.dnames.add(key)

    def _add_ancestors(self, key: NameKey) -> None:
        """The ancestors of a new name, up to the origin, as empty non-terminals."""
        nodes = self.nodes
        origin_at = len(key) - len(self.origin_key)
        missing: list[NameKey] = []
        position = 0
        while position < origin_at:
            position += key[position] + 1
            suffix = key[position:]
            if suffix in nodes:  # the origin, or a name whose ancestors exist already
                for ancestor in missing:
                    nodes[ancestor] = b""
                return
            missing.append(suffix)
        raise ValueError(f"{_text(key)} is outside the zone {self.origin}")

    def _insert(self, key: NameKey, node: bytes, rtype: int, ttl: int, rdata: bytes) -> bytes:
        """The node with one more record (or the same node, for a duplicate)."""
        position = 0
        while position < len(node):
            found, count, length = RRSET_HEADER.unpack_from(node, position)
            end = position + 8 + length
            if found != rtype:
                position = end
                continue
            records = node[position + 8 : end]
            new = record(rtype, ttl_of(records), rdata)
            large = self._large.get((key, rtype))
            if large is not None:
                if new not in large[1]:
                    if len(large[0]) >= MAX_RRSET_RECORDS:
                        raise ValueError(f"more than {MAX_RRSET_RECORDS} records in one RRset")
                    large[0].append(new)
                    large[1].add(new)
                return node
            existing = _split(records)
            if new in existing:
                return node  # RFC 2181 §5: an RRset has no duplicate records
            if count + 1 > LARGE_RRSET:
                existing.append(new)
                self._large[(key, rtype)] = (existing, set(existing))
                return node
            head = RRSET_HEADER.pack(rtype, count + 1, length + len(new))
            return node[:position] + head + records + new + node[end:]
        return node + RRSET_HEADER.pack(rtype, 1, 12 + len(rdata)) + record(rtype, ttl, rdata)

    def count(self, key: NameKey, rtype: int) -> int:
        """How many records of type `rtype` the name `key` owns."""
        large = self._large.get((key, rtype))
        if large is not None:
            return len(large[0])
        found = find_rrset(self.nodes.get(key, b""), rtype)
        return 0 if found is None else found[0]

    def zone(self) -> Zone:
        """The zone made of every record added (the builder is not used after this)."""
        for (key, rtype), (records, _) in self._large.items():
            node = self.nodes[key]
            position = 0
            while True:
                found, _, length = RRSET_HEADER.unpack_from(node, position)
                end = position + 8 + length
                if found == rtype:
                    break
                position = end
            self.nodes[key] = node[:position] + rrset_block(rtype, records) + node[end:]
        self._large.clear()
        return Zone(
            self.origin,
            self.nodes,
            self.spellings,
            frozenset(self.cuts),
            frozenset(self.dnames),
        )


def _split(records: bytes) -> list[bytes]:
    """The records of an RRset, one bytes object each."""
    out = []
    position = 0
    while position < len(records):
        end = position + 12 + int.from_bytes(records[position + 10 : position + 12], "big")
        out.append(records[position:end])
        position = end
    return out


def _text(key: NameKey) -> str:
    from .model import wire_to_label

    return str(wire_to_label(key))
