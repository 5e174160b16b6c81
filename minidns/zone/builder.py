"""Fills a :class:`~minidns.zone.model.Zone` record by record, for the loaders.

``Zone.add`` looks for a duplicate by comparing the new rdata with each one of its RRset, which
grows with the square of an RRset's size (5000 addresses at one name took 20 s). The builder
finds duplicates by their wire form in a set instead, and appends to the RRset directly.
"""

from __future__ import annotations

from dnslib import RD, DNSLabel

from .model import NameKey, Zone, name_key
from .rdata import rdata_to_wire


class ZoneBuilder:
    """Adds records to `zone`, dropping duplicates (RFC 2181 §5)."""

    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self._wires: dict[tuple[NameKey, int], set[bytes]] = {}

    def add(self, name: DNSLabel, rtype: int, ttl: int, rdata: RD) -> None:
        """Add one record; raises ValueError when `name` is outside the zone.

        As ``Zone.add``: a record of an existing RRset takes that RRset's first TTL.
        """
        key = name_key(name)
        rrset = self.zone.get(key, rtype)
        if rrset is None:
            self.zone.add(name, rtype, ttl, rdata)
            return
        wires = self._wires.get((key, rtype))
        if wires is None:
            wires = self._wires[(key, rtype)] = {rdata_to_wire(rd) for rd in rrset.rdatas}
        wire = rdata_to_wire(rdata)
        if wire not in wires:
            wires.add(wire)
            rrset.rdatas.append(rdata)
