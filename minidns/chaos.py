"""CHAOS-class TXT queries that say which server answered (RFC 4892 §2.2, BIND's hostname.bind)."""

from __future__ import annotations

from dnslib import CLASS, QTYPE, RCODE, RR, TXT, DNSLabel

from minidns.zone.model import name_key

IDENTITY_NAMES = {name_key("id.server"), name_key("hostname.bind")}
VERSION_NAME = name_key("version.bind")
VERSION = "minidns"
CHAOS_TTL = 5  # the TTL PowerDNS 4.7 gives its CHAOS answers


def chaos_answer(qname: DNSLabel, qtype: int, identity: str) -> tuple[int, list[RR]]:
    """The rcode and answer records for a CHAOS-class query."""
    if qtype != QTYPE.TXT:
        return RCODE.NOTIMP, []  # as PowerDNS 4.7 answers other CHAOS types
    key = name_key(qname)
    if key in IDENTITY_NAMES and identity:
        text = identity
    elif key == VERSION_NAME:
        text = VERSION
    else:
        return RCODE.REFUSED, []
    data = text.encode()
    # RFC 1035 §3.3.14: a TXT is character-strings of at most 255 octets each.
    strings = [data[i : i + 255] for i in range(0, len(data), 255)]
    return RCODE.NOERROR, [RR(qname, QTYPE.TXT, CLASS.CH, CHAOS_TTL, TXT(strings))]
