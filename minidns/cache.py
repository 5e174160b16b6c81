"""Pre-packed answers, keyed on the question bytes and on what else changes the answer.

An answer depends only on the zones, the transport, the question (name case aside), the header
flags and the EDNS facts (present, DO, UDP size limit, NSID asked). There is one cache per
transport; the key holds the rest, read from the query bytes by hand (no dnslib parsing). A hit
copies the query's ID and question name (so its 0x20 case, RFC 4343 §4.1) into the stored
response. Anything the reader does not recognise takes the slow path, uncached.
"""

from __future__ import annotations

from typing import NamedTuple, TypeVar

from minidns.edns import OPTION_NSID, udp_limit

HEADER_LENGTH = 12
PLAIN_QUERY_COUNTS = b"\x00\x01\x00\x00\x00\x00"  # QDCOUNT 1, ANCOUNT 0, NSCOUNT 0
OPT_TYPE = b"\x00\x29"  # RFC 6891 §6.1.2
QR_OR_OPCODE = 0xF8  # the bits of the third header octet that must be zero (RFC 1035 §4.1.1)
MAX_LABEL = 63
MAX_NAME = 255

_V = TypeVar("_V")


class QueryKey(NamedTuple):
    """The cache key of a query, and where its question name ends in the query bytes."""

    key: bytes
    name_end: int


def query_key(wire: bytes) -> QueryKey | None:
    """The cache key of a plain query, or None when it takes the slow path."""
    length = len(wire)
    if length < HEADER_LENGTH + 5 or wire[2] & QR_OR_OPCODE:
        return None
    if wire[4:10] != PLAIN_QUERY_COUNTS:
        return None
    position = HEADER_LENGTH
    while True:  # the question name: uncompressed labels (RFC 1035 §4.1.2)
        if position >= length:
            return None
        label_length = wire[position]
        if label_length == 0:
            break
        if label_length > MAX_LABEL:
            return None
        position += label_length + 1
    name_end = position + 1
    if name_end - HEADER_LENGTH > MAX_NAME:  # RFC 1035 §2.3.4: the slow path says FORMERR
        return None
    question_end = name_end + 4
    additional_count = wire[10:12]
    if additional_count == b"\x00\x00":
        if question_end != length:
            return None
        edns = b"-"
    elif additional_count == b"\x00\x01":
        edns_key = _opt_key(wire, question_end)
        if edns_key is None:
            return None
        edns = edns_key
    else:
        return None
    # bytes.lower() folds ASCII letters only (RFC 4343 §3); length octets are below 64.
    key = b"".join(
        (
            wire[2:4],
            wire[HEADER_LENGTH:name_end].lower(),
            wire[name_end:question_end],
            edns,
        )
    )
    return QueryKey(key, name_end)


def _opt_key(wire: bytes, start: int) -> bytes | None:
    """The key part for an OPT record that ends the query, or None (RFC 6891 §6.1.2)."""
    end = len(wire)
    if end < start + 11 or wire[start] != 0 or wire[start + 1 : start + 3] != OPT_TYPE:
        return None
    if wire[start + 5] or wire[start + 6]:  # extended RCODE or a version > 0 (BADVERS)
        return None
    payload = int.from_bytes(wire[start + 3 : start + 5], "big")
    dnssec_ok = wire[start + 7] & 0x80
    rdata_length = int.from_bytes(wire[start + 9 : start + 11], "big")
    position = start + 11
    if position + rdata_length != end:
        return None
    nsid = 0
    while position < end:
        if position + 4 > end:
            return None
        code = int.from_bytes(wire[position : position + 2], "big")
        position += 4 + int.from_bytes(wire[position + 2 : position + 4], "big")
        if position > end:
            return None
        if code == OPTION_NSID:
            nsid = 1
    return b"E" + bytes((dnssec_ok, nsid)) + udp_limit(payload).to_bytes(2, "big")


class AnswerCache:
    """Responses to the queries of one transport, stored without their ID.

    Two indexes: by the query's exact bytes after its ID (a hit needs one dict lookup and
    one concatenation), and by the case-folded key of `query_key` (a hit also copies the
    query's question name, so its 0x20 case, into the response). Each keeps at most
    `max_entries`. `hits` counts the answers found (for the metrics; with several threads an
    increment may rarely be lost).
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self.hits = 0
        self._by_bytes: dict[bytes, bytes] = {}
        self._by_key: dict[bytes, tuple[bytes, bytes]] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def lookup_bytes(self, wire: bytes) -> bytes | None:
        """The response stored for exactly these query bytes (any ID), or None."""
        rest = self._by_bytes.get(wire[2:])
        if rest is None:
            return None
        self.hits += 1
        return wire[:2] + rest

    def lookup(self, wire: bytes, found: QueryKey) -> bytes | None:
        """The response stored for a query with this key, with the query's ID and name case."""
        entry = self._by_key.get(found.key)
        if entry is None:
            return None
        self.hits += 1
        response = wire[:2] + entry[0] + wire[HEADER_LENGTH : found.name_end] + entry[1]
        self._keep(self._by_bytes, wire[2:], response[2:])
        return response

    def store(self, wire: bytes, found: QueryKey, response: bytes) -> None:
        """Keep the response to the query `wire`, whose key is `found`."""
        name_end = found.name_end
        if response[HEADER_LENGTH:name_end] != wire[HEADER_LENGTH:name_end]:
            return  # the response does not repeat the question (an error before it was read)
        self._keep(self._by_key, found.key, (response[2:HEADER_LENGTH], response[name_end:]))
        self._keep(self._by_bytes, wire[2:], response[2:])

    def _keep(self, index: dict[bytes, _V], key: bytes, value: _V) -> None:
        if len(index) >= self.max_entries:
            # Start over when full: O(1), where evicting the oldest entry one at a time costs
            # a scan of the deleted slots of a CPython dict. Repeated queries refill it at once.
            index.clear()
        index[key] = value

    def clear(self) -> None:
        self._by_bytes.clear()
        self._by_key.clear()
