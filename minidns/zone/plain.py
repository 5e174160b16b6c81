"""The common records in their plainest presentation form, straight to wire form.

Most lines of a large zone are an owner, maybe a TTL and a class, and one of A, AAAA, NS,
CNAME, PTR, MX or TXT with plain rdata. For those, the functions here give the wire form
without the general parsers (:mod:`minidns.zone.rdata`), which build dnslib objects first. Each
one returns None for anything outside its plain form (an escape, a quote, an address in an
odd form, a bad value), and the general parser reads the record instead, with its own error
message: the two always agree on what they both accept (tests/minidns/test_plain.py).
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from dnslib import QTYPE

from .text import MAX_LABEL_LENGTH, MAX_NAME_LENGTH, MAX_STRING_LENGTH

PlainRdata = Callable[[list[str], bytes], bytes | None]


def plain_name(token: str, origin: bytes) -> bytes | None:
    """A name without escapes or quotes, in wire form; relative names end in `origin`."""
    if token[-1] == ".":
        if token == ".":
            return b"\x00"
        text, suffix = token[:-1], b"\x00"
    elif token == "@":
        return origin
    else:
        text, suffix = token, origin
    if "\\" in text or text[0] == '"':
        return None
    raw = text.encode("utf-8", "surrogateescape")
    if b"." not in raw:
        if len(raw) > MAX_LABEL_LENGTH:
            return None
        wire = bytes((len(raw),)) + raw + suffix
    else:
        parts = []
        for label in raw.split(b"."):
            if not 0 < len(label) <= MAX_LABEL_LENGTH:
                return None
            parts.append(bytes((len(label),)))
            parts.append(label)
        parts.append(suffix)
        wire = b"".join(parts)
    return wire if len(wire) <= MAX_NAME_LENGTH else None


def _a(tokens: list[str], origin: bytes) -> bytes | None:
    if len(tokens) != 1:
        return None
    try:  # as strict as ipaddress.IPv4Address where it accepts: no leading zeros
        return socket.inet_pton(socket.AF_INET, tokens[0])
    except (OSError, ValueError):
        return None


def _aaaa(tokens: list[str], origin: bytes) -> bytes | None:
    if len(tokens) != 1:
        return None
    try:
        return socket.inet_pton(socket.AF_INET6, tokens[0])
    except (OSError, ValueError):
        return None


def _single_name(tokens: list[str], origin: bytes) -> bytes | None:
    return plain_name(tokens[0], origin) if len(tokens) == 1 else None


def _mx(tokens: list[str], origin: bytes) -> bytes | None:
    if len(tokens) != 2 or not (tokens[0].isdigit() and tokens[0].isascii()):
        return None
    preference = int(tokens[0])
    exchange = plain_name(tokens[1], origin)
    if preference > 0xFFFF or exchange is None:
        return None
    return preference.to_bytes(2, "big") + exchange


def _txt(tokens: list[str], origin: bytes) -> bytes | None:
    """Character-strings in quotes without escapes, each of at most 255 octets."""
    parts = []
    for token in tokens:
        if len(token) < 2 or token[0] != '"' or token[-1] != '"' or "\\" in token:
            return None
        data = token[1:-1].encode("utf-8", "surrogateescape")
        if len(data) > MAX_STRING_LENGTH or '"' in token[1:-1]:
            return None
        parts.append(bytes((len(data),)))
        parts.append(data)
    return b"".join(parts) if parts else None


PLAIN_TYPES = {"A": 1, "NS": 2, "CNAME": 5, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}
PLAIN_RDATA: dict[int, PlainRdata] = {
    QTYPE.A: _a,
    QTYPE.AAAA: _aaaa,
    QTYPE.NS: _single_name,
    QTYPE.CNAME: _single_name,
    QTYPE.PTR: _single_name,
    QTYPE.MX: _mx,
    QTYPE.TXT: _txt,
}
