"""Presentation-format fields shared by every loader: names, character-strings, TTLs.

RFC 1035 §5.1: ``\\X`` stands for the character X, ``\\DDD`` for the octet whose *decimal*
value is DDD; a name ending in an unescaped dot is absolute, any other is relative to the origin.
"""

from __future__ import annotations

import itertools
import re

from dnslib import DNSLabel

from .errors import FieldError

ROOT = DNSLabel(())

MAX_LABEL_LENGTH = 63  # RFC 1035 §2.3.4
MAX_NAME_LENGTH = 255  # RFC 1035 §2.3.4, in wire octets
MAX_STRING_LENGTH = 255  # RFC 1035 §3.3: <character-string> is a length octet and that many octets
MAX_TTL = 2**31 - 1  # RFC 2181 §8

_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TTL_WITH_UNITS = re.compile(r"(?:\d+[smhdw])+\d*", re.IGNORECASE)
_TTL_PART = re.compile(r"(\d+)([smhdw]?)", re.IGNORECASE)


def octets(text: str) -> bytes:
    """Text as octets: UTF-8, and the bytes of a file that is not UTF-8 as they were read
    (files are decoded with ``surrogateescape``)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise FieldError(f"cannot encode {text!r}") from None


def unescape(text: str) -> tuple[bytes, list[int]]:
    """Decode ``\\X`` and ``\\DDD`` escapes; also give the offsets of the unescaped dots.

    Characters outside ASCII are taken as UTF-8.
    """
    out = bytearray()
    dots: list[int] = []
    i, end = 0, len(text)
    while i < end:
        char = text[i]
        if char == "\\":
            digits = text[i + 1 : i + 4]
            if len(digits) == 3 and digits.isdigit() and digits.isascii():
                value = int(digits)
                if value > 255:
                    raise FieldError(f"escape \\{digits} is not an octet (0-255)")
                out.append(value)
                i += 4
                continue
            if i + 1 >= end or text[i + 1].isdigit():
                raise FieldError(f"bad escape in {text!r}: \\ needs a character or three digits")
            out += octets(text[i + 1])
            i += 2
            continue
        if char == ".":
            dots.append(len(out))
        out += octets(char)
        i += 1
    return bytes(out), dots


def parse_name(text: str, origin: DNSLabel) -> DNSLabel:
    """A domain name in presentation format; relative names are made absolute with `origin`."""
    if text == "@":
        return origin
    if text.startswith('"'):
        raise FieldError(f"expected a domain name, got the string {text}")
    if "\\" not in text:
        if text == ".":
            return ROOT
        absolute = text.endswith(".")
        labels = tuple(octets(text[:-1] if absolute else text).split(b"."))
        if b"" in labels:
            raise FieldError(f"empty label in name {text!r}")
    else:
        raw, dots = unescape(text)
        absolute = bool(dots) and dots[-1] == len(raw) - 1
        bounds = [-1, *dots] if absolute else [-1, *dots, len(raw)]
        labels = tuple(raw[start + 1 : stop] for start, stop in itertools.pairwise(bounds))
        if raw == b"." and absolute:
            return ROOT
        if any(not label for label in labels):
            raise FieldError(f"empty label in name {text!r}")
    if not absolute:
        labels += origin.label
    return make_name(labels, text)


def make_name(labels: tuple[bytes, ...], text: str = "") -> DNSLabel:
    """A name from its labels, checked against RFC 1035 §2.3.4's limits."""
    wire_length = 1
    for label in labels:
        if len(label) > MAX_LABEL_LENGTH:
            raise FieldError(f"label longer than {MAX_LABEL_LENGTH} octets in {text!r}")
        wire_length += len(label) + 1
    if wire_length > MAX_NAME_LENGTH:
        raise FieldError(f"name longer than {MAX_NAME_LENGTH} octets: {text!r}")
    return DNSLabel(labels)


def name_to_wire(name: DNSLabel) -> bytes:
    """The uncompressed wire form of a name (RFC 1035 §3.1)."""
    return b"".join(bytes((len(label),)) + label for label in name.label) + b"\x00"


def parse_string(token: str) -> bytes:
    """One <character-string> token, quoted or not, of at most 255 octets (RFC 1035 §5.1)."""
    data = parse_long_string(token)
    if len(data) > MAX_STRING_LENGTH:
        raise FieldError(f"character-string longer than {MAX_STRING_LENGTH} octets")
    return data


def parse_long_string(token: str) -> bytes:
    """A string token, quoted or not, with escapes decoded and no length limit."""
    if token.startswith('"'):
        if len(token) < 2 or not token.endswith('"'):
            raise FieldError(f"badly quoted string {token}")
        token = token[1:-1]
    if "\\" not in token:
        return octets(token)
    return unescape(token)[0]


def format_string(data: bytes) -> str:
    """A <character-string> in presentation format: quoted, with \\DDD for the unprintable."""
    out = []
    for octet in data:
        if octet in (0x22, 0x5C):  # " and \
            out.append("\\" + chr(octet))
        elif 0x20 <= octet < 0x7F:
            out.append(chr(octet))
        else:
            out.append(f"\\{octet:03d}")
    return '"' + "".join(out) + '"'


def parse_ttl(token: str) -> int:
    """A TTL: seconds, or BIND's units (``1h30m``, ``1w``); at most 2^31 - 1 (RFC 2181 §8)."""
    if token.isdigit() and token.isascii():
        seconds = int(token)
    elif _TTL_WITH_UNITS.fullmatch(token):
        seconds = sum(
            int(number) * _TTL_UNITS[unit.lower() or "s"]
            for number, unit in _TTL_PART.findall(token)
        )
    else:
        raise FieldError(f"bad TTL {token!r}")
    if seconds > MAX_TTL:
        raise FieldError(f"TTL {token} is above 2^31-1 (RFC 2181 §8)")
    return seconds


def parse_int(token: str, bits: int, what: str = "number") -> int:
    """An unsigned decimal integer of at most `bits` bits."""
    if not (token.isdigit() and token.isascii()):
        raise FieldError(f"expected a {what}, got {token!r}")
    value = int(token)
    if value >= 1 << bits:
        raise FieldError(f"{what} {value} does not fit in {bits} bits")
    return value
