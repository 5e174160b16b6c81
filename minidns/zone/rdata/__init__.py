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

# The family modules register their parsers in PARSERS when imported.
_FAMILIES = (address, certificates, dnssec, exchange, loc, names, services, soa, strings, svcb)


def parse_rdata(rtype: int, tokens: list[str], origin: DNSLabel) -> RD:
    """The RD for one record's rdata tokens; raises FieldError when they are not valid."""
    if is_generic(tokens):
        return parse_generic(rtype, tokens)
    parser = PARSERS.get(rtype)
    if parser is None:
        raise FieldError(f"{rrtype_name(rtype)} rdata must be in the RFC 3597 form \\# LEN HEX")
    return parser(Fields(rtype, tokens, origin))


__all__ = [
    "DNAME",
    "NAPTR",
    "PARSERS",
    "RP",
    "RRTYPES",
    "TXT",
    "OpaqueRD",
    "parse_rdata",
    "rdata_to_wire",
    "rrtype_code",
    "rrtype_name",
]
