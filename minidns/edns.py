"""EDNS(0) (RFC 6891): what a query's OPT record asks for, and the OPT record of a response."""

from __future__ import annotations

from dataclasses import dataclass

from dnslib import QTYPE, RR, EDNSOption

# What PowerDNS 4.7 advertises and truncates at by default (its udp-truncation-threshold).
SERVER_UDP_PAYLOAD = 1232
# RFC 6891 §6.2.5: a payload size below 512 is treated as 512; RFC 1035 §4.2.1 without EDNS.
MIN_UDP_PAYLOAD = 512
OPTION_NSID = 3  # RFC 5001 §2.3
EXTENDED_RCODE_BADVERS = 16  # RFC 6891 §9
DO_BIT = 1 << 15  # RFC 3225 §3, in the OPT TTL field


class EdnsFormatError(Exception):
    """The query's OPT records are malformed: the answer is FORMERR (RFC 6891 §6.1.1)."""


@dataclass(frozen=True)
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


def parse_options(rdata: bytes) -> list[EDNSOption]:
    """The options of an OPT record's RDATA (RFC 6891 §6.1.2), empty ones included.

    dnslib's own parser drops an option with no data, such as an NSID request (RFC 5001 §2.1).
    """
    options = []
    position = 0
    while position < len(rdata):
        if position + 4 > len(rdata):
            raise EdnsFormatError("truncated option header")
        code = int.from_bytes(rdata[position : position + 2], "big")
        end = position + 4 + int.from_bytes(rdata[position + 2 : position + 4], "big")
        if end > len(rdata):
            raise EdnsFormatError("option longer than the OPT RDATA")
        options.append(EDNSOption(code, rdata[position + 4 : end]))
        position = end
    return options


def read_query_edns(additional: list[RR]) -> QueryEdns | None:
    """The query's EDNS facts, or None when it carries no OPT record."""
    opts = [rr for rr in additional if rr.rtype == QTYPE.OPT]
    if not opts:
        return None
    if len(opts) > 1:  # RFC 6891 §6.1.1: more than one OPT is a FORMERR
        raise EdnsFormatError("more than one OPT record")
    opt = opts[0]
    if opt.rname.label != ():  # RFC 6891 §6.1.2: the owner name is the root
        raise EdnsFormatError("OPT owner is not the root")
    # RFC 6891 §6.1.2: unknown options are ignored; RFC 5001 §2.1: NSID asked with empty data.
    wants_nsid = any(option.code == OPTION_NSID for option in opt.rdata)
    return QueryEdns(
        payload=opt.rclass,
        version=(opt.ttl >> 16) & 0xFF,
        dnssec_ok=bool(opt.ttl & DO_BIT),
        nsid=wants_nsid,
    )


def response_opt(query_edns: QueryEdns, identity: str, extended_rcode: int = 0) -> RR:
    """The OPT record of a response to a query that had one (RFC 6891 §7)."""
    ttl = ((extended_rcode >> 4) << 24) | (DO_BIT if query_edns.dnssec_ok else 0)  # version 0
    options = []
    if query_edns.nsid and identity:
        options.append(EDNSOption(OPTION_NSID, identity.encode()))  # RFC 5001 §2.2
    return RR(".", QTYPE.OPT, SERVER_UDP_PAYLOAD, ttl, options)
