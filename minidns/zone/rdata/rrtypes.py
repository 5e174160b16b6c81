"""The record type registry: mnemonics and type codes (IANA "Resource Record (RR) TYPEs")."""

from __future__ import annotations

import re

import dnslib

from ..errors import FieldError

# Type codes by mnemonic, for the types parsed in this package and for the type bitmaps of
# NSEC/NSEC3/CSYNC. ALIAS is PowerDNS's private type.
RRTYPES: dict[str, int] = {
    **{str(name): int(code) for code, name in dnslib.QTYPE.forward.items()},
    "MD": 3, "MF": 4, "MB": 7, "MG": 8, "MR": 9, "WKS": 11, "MINFO": 14, "X25": 19, "ISDN": 20,
    "RT": 21, "NSAP-PTR": 23, "PX": 26, "GPOS": 27, "NAPTR": 35, "HIP": 55, "NINFO": 56,
    "RKEY": 57, "TALINK": 58, "SMIMEA": 53, "NID": 104, "L32": 105, "L64": 106, "LP": 107,
    "WALLET": 262, "ALIAS": 65401,
}  # fmt: skip
RRTYPE_NAMES: dict[int, str] = {code: name for name, code in RRTYPES.items()}
RRTYPE_NAMES[55] = "HIP"  # dnslib's table also lists HIP under 53

_GENERIC_TYPE = re.compile(r"TYPE(\d{1,5})", re.IGNORECASE)


def rrtype_code(token: str) -> int:
    """The type code of a mnemonic or of RFC 3597's ``TYPEnnn``."""
    code = RRTYPES.get(token.upper())
    if code is not None:
        return code
    match = _GENERIC_TYPE.fullmatch(token)
    if match and int(match.group(1)) < 65536:
        return int(match.group(1))
    raise FieldError(f"unknown record type {token!r}")


def rrtype_name(code: int) -> str:
    """The mnemonic of a type code, or RFC 3597's ``TYPEnnn``."""
    return RRTYPE_NAMES.get(code, f"TYPE{code}")
