"""Record data from presentation format to dnslib RD objects, one small parser per type.

- :mod:`.rrtypes`: the type registry (mnemonics and codes);
- :mod:`.codec`: dnslib's RD classes where they encode or print wrong, :class:`OpaqueRD` for
  every other type, and :func:`rdata_to_wire`;
- :mod:`.generic`: RFC 3597 §5's ``\\# <length> <hex>``, which any type can be given in;
- :mod:`.fields`: the token reader every parser uses, and the parsers' table by type;
- the parsers, by family: :mod:`.address`, :mod:`.names`, :mod:`.soa`, :mod:`.exchange`,
  :mod:`.services`, :mod:`.strings`, :mod:`.loc`, :mod:`.dnssec`, :mod:`.certificates`,
  :mod:`.svcb`.
"""

from __future__ import annotations

from dnslib import RD, DNSLabel

from ..errors import FieldError
from . import address, certificates, dnssec, exchange, loc, names, services, soa, strings, svcb
from .codec import DNAME, NAPTR, RP, TXT, OpaqueRD, rdata_to_wire
from .fields import PARSERS, Fields
from .generic import is_generic, parse_generic
from .rrtypes import RRTYPES, rrtype_code, rrtype_name

MAX_RDATA_LENGTH = 65535  # RFC 1035 §3.2.1: RDLENGTH is 16 bits

# The family modules register their parsers in PARSERS when imported.
_FAMILIES = (address, certificates, dnssec, exchange, loc, names, services, soa, strings, svcb)


def parse_rdata(rtype: int, tokens: list[str], origin: DNSLabel) -> RD:
    """The RD for one record's rdata tokens; raises FieldError when they are not valid."""
    if is_generic(tokens):
        return parse_generic(rtype, tokens)  # its length is a 16-bit number
    parser = PARSERS.get(rtype)
    if parser is None:
        raise FieldError(f"{rrtype_name(rtype)} rdata must be in the RFC 3597 form \\# LEN HEX")
    rd = parser(Fields(rtype, tokens, origin))
    # No token is worth more than six octets per character on the wire (an IPv6 hint) and a
    # name 255 octets: only rdata this long in text can be too long for RDLENGTH.
    if sum(len(token) for token in tokens) * 6 + 256 * len(tokens) > MAX_RDATA_LENGTH:
        check_rdata_length(rtype, len(rdata_to_wire(rd)))
    return rd


def check_rdata_length(rtype: int, length: int) -> None:
    """Raise FieldError for rdata longer than RDLENGTH can say (RFC 1035 §3.2.1)."""
    if length > MAX_RDATA_LENGTH:
        raise FieldError(
            f"{rrtype_name(rtype)} rdata is {length:,} octets, over the {MAX_RDATA_LENGTH:,} "
            "its 16-bit length can say (RFC 1035 §3.2.1)"
        )


__all__ = [
    "DNAME",
    "MAX_RDATA_LENGTH",
    "NAPTR",
    "PARSERS",
    "RP",
    "RRTYPES",
    "TXT",
    "OpaqueRD",
    "check_rdata_length",
    "parse_rdata",
    "rdata_to_wire",
    "rrtype_code",
    "rrtype_name",
]
