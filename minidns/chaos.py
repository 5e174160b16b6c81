"""CHAOS-class TXT queries that say which server answered (RFC 4892 §2.2, BIND's hostname.bind)."""

from __future__ import annotations

from minidns.writer import RRsetRef
from minidns.zone.model import name_key, record

IDENTITY_NAMES = {name_key("id.server"), name_key("hostname.bind")}
VERSION_NAME = name_key("version.bind")
VERSION = b"minidns"
CHAOS_TTL = 5  # the TTL PowerDNS 4.7 gives its CHAOS answers
TXT, CLASS_CH = 16, 3
NOERROR, NOTIMP, REFUSED = 0, 4, 5


def chaos_answer(key: bytes, qtype: int, identity: bytes) -> tuple[int, list[RRsetRef]]:
    """The rcode and answer records for a CHAOS-class query for the name `key`."""
    if qtype != TXT:
        return NOTIMP, []  # as PowerDNS 4.7 answers other CHAOS types
    if key in IDENTITY_NAMES and identity:
        text = identity
    elif key == VERSION_NAME:
        text = VERSION
    else:
        return REFUSED, []
    # RFC 1035 §3.3.14: a TXT is character-strings of at most 255 octets each.
    rdata = b"".join(bytes((len(part),)) + part for part in _pieces(text))
    return NOERROR, [(None, TXT, 1, record(TXT, CHAOS_TTL, rdata, rclass=CLASS_CH))]


def _pieces(data: bytes) -> list[bytes]:
    return [data[start : start + 255] for start in range(0, len(data), 255)]
