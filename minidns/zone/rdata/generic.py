"""RFC 3597 §5's generic form of any type's rdata: ``\\# <rdata length> <hex>``."""

from __future__ import annotations

import re
import struct

import dnslib
from dnslib import RD, DNSBuffer, DNSLabel

from ..errors import FieldError
from ..text import parse_int
from .codec import DNAME, NAPTR, RP, TXT, OpaqueRD
from .rrtypes import RRTYPES, rrtype_name

# Classes that decode a wire form (given with \#, or kept in a zone) into dnslib's typed RD;
# every other type stays opaque.
_WIRE_CLASSES: dict[int, type[RD]] = {
    RRTYPES["A"]: dnslib.A,
    RRTYPES["AAAA"]: dnslib.AAAA,
    RRTYPES["NS"]: dnslib.NS,
    RRTYPES["CNAME"]: dnslib.CNAME,
    RRTYPES["PTR"]: dnslib.PTR,
    RRTYPES["MX"]: dnslib.MX,
    RRTYPES["SOA"]: dnslib.SOA,
    RRTYPES["SRV"]: dnslib.SRV,
    RRTYPES["TXT"]: TXT,
    RRTYPES["SPF"]: TXT,
    RRTYPES["NAPTR"]: NAPTR,
    RRTYPES["RP"]: RP,
    RRTYPES["DNAME"]: DNAME,
    RRTYPES["DS"]: dnslib.DS,
    RRTYPES["DNSKEY"]: dnslib.DNSKEY,
    RRTYPES["RRSIG"]: dnslib.RRSIG,
    RRTYPES["SSHFP"]: dnslib.SSHFP,
    RRTYPES["TLSA"]: dnslib.TLSA,
}


def is_generic(tokens: list[str]) -> bool:
    """Whether rdata tokens are in the generic form."""
    return bool(tokens) and tokens[0] == "\\#"


def parse_generic(rtype: int, tokens: list[str]) -> RD:
    """The RD of generic-form tokens; known types are decoded into their class."""
    if len(tokens) < 2:
        raise FieldError("\\# needs the rdata length")
    length = parse_int(tokens[1], 16, "rdata length")
    encoded = "".join(tokens[2:])
    if not re.fullmatch(r"(?:[0-9a-fA-F]{2})*", encoded):
        raise FieldError(f"bad hex in generic rdata: {encoded!r}")
    data = bytes.fromhex(encoded)
    if len(data) != length:
        raise FieldError(f"\\# says {length} octets but the hex holds {len(data)}")
    try:
        return rdata_from_wire(rtype, data)
    except FieldError as error:
        raise FieldError(f"\\# data is {error}") from None


def rdata_from_wire(rtype: int, data: bytes) -> RD:
    """The RD of one uncompressed wire rdata; raises FieldError when it does not decode."""
    cls = _WIRE_CLASSES.get(rtype)
    if cls is None:
        return OpaqueRD(data)
    buffer = _GenericRdataBuffer(data)
    try:
        rd = cls.parse(buffer, len(data))
    except (dnslib.DNSError, dnslib.BufferError, ValueError, IndexError, struct.error) as error:
        raise FieldError(f"not valid {rrtype_name(rtype)} rdata: {error}") from None
    if buffer.offset != len(data):
        raise FieldError(f"not valid {rrtype_name(rtype)} rdata")
    return rd


class _GenericRdataBuffer(DNSBuffer):  # type: ignore[misc]
    """Rdata written out in a master file: its names cannot be compressed (RFC 3597 §5)."""

    def decode_name(self, last: int = -1) -> DNSLabel:
        labels: list[bytes] = []
        while (length := self.unpack("!B")[0]) != 0:
            if length > 63:
                raise FieldError("\\# rdata holds a compressed name")
            labels.append(bytes(self.get(length)))
        return DNSLabel(labels)
