"""dnslib's RD classes where they encode or print wrong, the opaque form, and wire rdata.

dnslib's RD classes are used where their wire encoding is right: A, AAAA, NS, CNAME, PTR, MX,
SOA, SRV, DS, DNSKEY, RRSIG, SSHFP, TLSA. Its TXT, NAPTR and RP encode right but print wrong
(TXT) or compress names that must not be compressed (NAPTR, RP; RFC 3597 §4), and its DNAME
compresses too (RFC 6672 §2.5): the subclasses below fix that. Every other type is an
:class:`OpaqueRD`: the wire rdata, packed by its parser, with its presentation text.
"""

from __future__ import annotations

import dnslib
from dnslib import RD, DNSBuffer, DNSLabel

from ..text import format_string


class OpaqueRD(RD):  # type: ignore[misc]
    """Rdata kept as its wire form (RFC 1035 §3.2.1 RDATA), printed as `text`."""

    attrs = ("data",)

    def __init__(self, data: bytes = b"", text: str | None = None) -> None:
        super().__init__(data)
        self.text = text

    def __repr__(self) -> str:
        return self.text if self.text is not None else str(super().__repr__())


class TXT(dnslib.TXT):  # type: ignore[misc]
    """dnslib's TXT, printed as RFC 1035 §5.1 strings (space-separated, decimal escapes)."""

    def __repr__(self) -> str:
        return " ".join(format_string(item) for item in self.data)

    toZone = __repr__


class NAPTR(dnslib.NAPTR):  # type: ignore[misc]
    """dnslib's NAPTR with the replacement uncompressed (RFC 3403 §4.1) and strings escaped."""

    def pack(self, buffer: DNSBuffer) -> None:
        buffer.pack("!HH", self.order, self.preference)
        for item in (self.flags, self.service, self.regexp):
            buffer.pack("!B", len(item))
            buffer.append(item)
        buffer.encode_name_nocompress(self.replacement)

    def __repr__(self) -> str:
        strings = " ".join(format_string(s) for s in (self.flags, self.service, self.regexp))
        return f"{self.order} {self.preference} {strings} {self.replacement}"


class RP(dnslib.RP):  # type: ignore[misc]
    """dnslib's RP with its names uncompressed (RFC 3597 §4: RP is not a RFC 1035 type)."""

    def pack(self, buffer: DNSBuffer) -> None:
        buffer.encode_name_nocompress(self.mbox)
        buffer.encode_name_nocompress(self.txt)


class DNAME(dnslib.DNAME):  # type: ignore[misc]
    """dnslib's DNAME with its target uncompressed (RFC 6672 §2.5); the target is `.label`."""

    def pack(self, buffer: DNSBuffer) -> None:
        buffer.encode_name_nocompress(self.label)


class _UncompressedBuffer(DNSBuffer):  # type: ignore[misc]
    """A DNSBuffer that writes every name in full."""

    def encode_name(self, name: DNSLabel) -> None:
        self.encode_name_nocompress(name)


def rdata_to_wire(rd: RD) -> bytes:
    """The uncompressed wire form of one rdata (as in a master file's \\# form, RFC 3597 §5)."""
    buffer = _UncompressedBuffer()
    rd.pack(buffer)
    return bytes(buffer.data)
