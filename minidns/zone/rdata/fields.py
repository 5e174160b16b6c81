"""What every rdata parser shares: the token reader and the table of parsers by type."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

from dnslib import RD, DNSLabel

from ..errors import FieldError
from ..text import format_string, parse_int, parse_name, parse_string, parse_ttl
from .codec import OpaqueRD
from .rrtypes import RRTYPES, rrtype_code, rrtype_name


class Fields:
    """The rdata tokens of one record, read left to right; keeps the presentation text."""

    def __init__(self, rtype: int, tokens: list[str], origin: DNSLabel) -> None:
        self.rtype = rtype
        self.tokens = tokens
        self.origin = origin
        self.position = 0
        self.text: list[object] = []  # the fields read, printed only if an OpaqueRD needs them

    def more(self) -> bool:
        return self.position < len(self.tokens)

    def token(self, what: str) -> str:
        if self.position >= len(self.tokens):
            raise FieldError(f"{rrtype_name(self.rtype)} rdata ends early: missing {what}")
        token = self.tokens[self.position]
        self.position += 1
        return token

    def rest(self, what: str) -> str:
        """All remaining tokens joined (base64 and hex may be split by blanks)."""
        if not self.more():
            raise FieldError(f"{rrtype_name(self.rtype)} rdata ends early: missing {what}")
        joined = "".join(self.tokens[self.position :])
        self.position = len(self.tokens)
        return joined

    def end(self) -> None:
        if self.more():
            extra = " ".join(self.tokens[self.position :])
            raise FieldError(f"{rrtype_name(self.rtype)} rdata has extra fields: {extra!r}")

    def integer(self, bits: int, what: str) -> int:
        value = parse_int(self.token(what), bits, what)
        self.text.append(value)
        return value

    def u8(self, what: str) -> int:
        return self.integer(8, what)

    def u16(self, what: str) -> int:
        return self.integer(16, what)

    def u32(self, what: str) -> int:
        return self.integer(32, what)

    def period(self, what: str) -> int:
        """A 32-bit time interval, in seconds or with TTL units (SOA refresh etc.)."""
        value = parse_ttl(self.token(what))
        self.text.append(str(value))
        return value

    def mnemonic(self, table: dict[str, int], bits: int, what: str) -> int:
        token = self.token(what)
        value = table.get(token.upper())
        if value is None:
            value = parse_int(token, bits, what)
        self.text.append(str(value))
        return value

    def rrtype(self, what: str) -> int:
        code = rrtype_code(self.token(what))
        self.text.append(rrtype_name(code))
        return code

    def name(self, what: str = "domain name") -> DNSLabel:
        name = parse_name(self.token(what), self.origin)
        self.text.append(name)
        return name

    def string(self, what: str = "character-string") -> bytes:
        data = parse_string(self.token(what))
        self.text.append(format_string(data))
        return data

    def base64(self, what: str) -> bytes:
        encoded = self.rest(what)
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as error:
            raise FieldError(f"bad base64 in {what}: {error}") from None
        self.text.append(encoded)
        return data

    def hex(self, what: str) -> bytes:
        return self.hex_token(self.rest(what), what)

    def hex_token(self, encoded: str, what: str) -> bytes:
        if not re.fullmatch(r"(?:[0-9a-fA-F]{2})*", encoded):
            raise FieldError(f"bad hex in {what}: {encoded!r}")
        self.text.append(encoded.upper() or "-")
        return bytes.fromhex(encoded)

    def type_bitmap(self) -> bytes:
        """The remaining type mnemonics as RFC 4034 §4.1.2 window blocks."""
        types: set[int] = set()
        while self.more():
            types.add(self.rrtype("type in bitmap"))
        return encode_type_bitmap(types)

    def opaque(self, data: bytes) -> OpaqueRD:
        self.end()
        return OpaqueRD(data, " ".join(map(str, self.text)))


def counted(data: bytes) -> bytes:
    """A <character-string> on the wire: a length octet, then the octets (RFC 1035 §3.3)."""
    return bytes((len(data),)) + data


def encode_type_bitmap(types: set[int]) -> bytes:
    """RFC 4034 §4.1.2: per 256-type window, the window number, a length and the bit map."""
    out = bytearray()
    for window in sorted({code >> 8 for code in types}):
        bits = bytearray(32)
        for code in types:
            if code >> 8 == window:
                bits[(code & 0xFF) >> 3] |= 0x80 >> (code & 7)
        length = max(i for i, octet in enumerate(bits) if octet) + 1
        out += bytes((window, length)) + bits[:length]
    return bytes(out)


RdataParser = Callable[[Fields], RD]
PARSERS: dict[int, RdataParser] = {}


def parser(*names: str) -> Callable[[RdataParser], RdataParser]:
    """Register a function as the parser of the types `names`."""

    def register(function: RdataParser) -> RdataParser:
        for name in names:
            PARSERS[RRTYPES[name]] = function
        return function

    return register
