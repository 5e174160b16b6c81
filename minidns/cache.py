"""Pre-packed answers, keyed on what an answer depends on, bounded in bytes.

An answer depends only on the zones, the transport, the question (name case aside), the header
flags and the EDNS facts (present, DO, UDP size limit, NSID asked): `minidns.query` reads them
into `Query.cache_key`, which leaves out everything else a query may carry (its ID, EDNS
padding and other options, RFC 6891 §6.1.2), so that such octets never take room in the cache.
There is one cache per transport. A hit copies the query's ID and question name (so its 0x20
case, RFC 4343 §4.1) into the stored response.
"""

from __future__ import annotations

from minidns.query import HEADER_LENGTH, Query

# What one entry costs besides the octets of its key and value, in CPython 3.11 on 64 bits:
# the dict slot and index, and the headers of the bytes objects (and of the tuple).
BYTES_ENTRY_OVERHEAD = 120
KEY_ENTRY_OVERHEAD = 210
DEFAULT_MAX_BYTES = 32 * 1024 * 1024


class AnswerCache:
    """Responses to the queries of one transport, stored without their ID.

    Two indexes: by `Query.cache_key` (a hit copies the query's question name into the
    response), and by the query's bytes after its ID, for queries whose bytes are nothing but
    their key (a hit needs one dict lookup and one concatenation). A response goes into the
    first when it is made, and into the second when it is asked for again: a name asked once
    (a flood of random names) costs one entry, a name asked often costs no parsing at all.
    Together they hold at most `max_bytes`: when the next entry would not fit, both are
    emptied and filled again (evicting one entry at a time costs a scan of the deleted slots
    of a CPython dict; repeated queries refill them at once).
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0  # the bytes the entries take, by the estimate above
        self.hits = 0  # answers found (for the metrics; threads may rarely lose an increment)
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

    def lookup(self, query: Query) -> bytes | None:
        """The response stored for a query with this key, with the query's ID and name case."""
        assert query.cache_key is not None
        entry = self._by_key.get(query.cache_key)
        if entry is None:
            return None
        self.hits += 1
        wire = query.wire
        response = wire[:2] + entry[0] + wire[HEADER_LENGTH : query.name_end] + entry[1]
        if query.canonical:
            self._keep_bytes(wire[2:], response[2:])
        return response

    def store(self, query: Query, response: bytes) -> None:
        """Keep the response to `query`, which has a cache key."""
        key = query.cache_key
        assert key is not None
        name_end = query.name_end
        head, tail = response[2:HEADER_LENGTH], response[name_end:]
        cost = KEY_ENTRY_OVERHEAD + len(key) + len(head) + len(tail)
        if self.size + cost > self.max_bytes and not self._emptied_for(cost):
            return
        self._by_key[key] = (head, tail)
        self.size += cost

    def _keep_bytes(self, key: bytes, value: bytes) -> None:
        cost = BYTES_ENTRY_OVERHEAD + len(key) + len(value)
        if self.size + cost <= self.max_bytes or self._emptied_for(cost):
            self._by_bytes[key] = value
            self.size += cost

    def _emptied_for(self, cost: int) -> bool:
        """Empty the cache for an entry of `cost` bytes that does not fit; whether it will."""
        self.clear()
        return cost <= self.max_bytes

    def clear(self) -> None:
        self._by_bytes.clear()
        self._by_key.clear()
        self.size = 0
