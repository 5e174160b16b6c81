"""EDNS(0) (RFC 6891): what a query's OPT record asks for, and the OPT record of a response."""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass

# What PowerDNS 4.7 advertises and truncates at by default (its udp-truncation-threshold).
SERVER_UDP_PAYLOAD = 1232
# RFC 6891 §6.2.5: a payload size below 512 is treated as 512; RFC 1035 §4.2.1 without EDNS.
MIN_UDP_PAYLOAD = 512
OPTION_NSID = 3  # RFC 5001 §2.3
EXTENDED_RCODE_BADVERS = 16  # RFC 6891 §9
DO_BIT = 0x8000  # RFC 3225 §3, in the OPT's flags
_OPT_FIXED = struct.Struct("!BHHBBHH")  # root owner, TYPE, payload, extended RCODE, version,
# flags, RDLENGTH (RFC 6891 §6.1.2, §6.1.3)


@dataclass(frozen=True, slots=True)
class QueryEdns:
    """The EDNS facts of a query that change its answer."""

    payload: int
    version: int
    dnssec_ok: bool
    nsid: bool

    @property
    def udp_limit(self) -> int:
        """The largest UDP response this query may get (RFC 6891 §6.2.5)."""
        return udp_limit(self.payload)


def udp_limit(payload: int | None) -> int:
    """The UDP response size limit for a requestor's payload size (None: no EDNS)."""
    if payload is None:
        return MIN_UDP_PAYLOAD
    return max(MIN_UDP_PAYLOAD, min(payload, SERVER_UDP_PAYLOAD))


@functools.lru_cache(maxsize=64)
def response_opt(dnssec_ok: bool, nsid: bool, identity: bytes, extended_rcode: int = 0) -> bytes:
    """The OPT record of a response to a query that had one (RFC 6891 §7), version 0: DO
    as the query's, the identity if NSID was asked (RFC 5001 §2.2)."""
    options = b""
    if nsid and identity:
        options = OPTION_NSID.to_bytes(2, "big") + len(identity).to_bytes(2, "big") + identity
    flags = DO_BIT if dnssec_ok else 0
    fixed = _OPT_FIXED.pack(0, 41, SERVER_UDP_PAYLOAD, extended_rcode >> 4, 0, flags, len(options))
    return fixed + options
