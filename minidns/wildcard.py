"""Wildcard matching (RFC 4592): the closest encloser and the source of synthesis."""

from __future__ import annotations

from minidns.zone.model import NameKey, Zone

ASTERISK = b"*"


def closest_encloser(zone: Zone, key: NameKey) -> NameKey:
    """The longest existing ancestor of a name, empty non-terminals included (RFC 4592 §3.3.1)."""
    for depth in range(len(key), len(zone.origin_key) - 1, -1):
        candidate = key[len(key) - depth :]
        if candidate in zone.names:
            return candidate
    return zone.origin_key


def source_of_synthesis(zone: Zone, encloser: NameKey) -> NameKey | None:
    """The wildcard ``*.<closest encloser>`` when it exists, else None (RFC 4592 §3.3.1).

    A wildcard that is only an empty non-terminal still exists, and matches with no data
    (RFC 4592 §2.2.2).
    """
    wildcard = (ASTERISK, *encloser)
    return wildcard if wildcard in zone.names else None
