"""Wildcard matching (RFC 4592): the source of synthesis of a closest encloser."""

from __future__ import annotations

from minidns.zone.model import NameKey, Zone

ASTERISK_LABEL = b"\x01*"


def source_of_synthesis(zone: Zone, encloser: NameKey) -> NameKey | None:
    """The wildcard ``*.<closest encloser>`` when it exists, else None (RFC 4592 §3.3.1).

    A wildcard that is only an empty non-terminal still exists, and matches with no data
    (RFC 4592 §2.2.2).
    """
    wildcard = ASTERISK_LABEL + encloser
    return wildcard if wildcard in zone.nodes else None
