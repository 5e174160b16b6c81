"""A synthetic full IPv4 table for the BGP feed benchmark, pre-encoded as UPDATE messages.

Deterministic (seeded): the same arguments give the same bytes. The prefix-length mix follows
the shape of today's global IPv4 table (mostly /24, then /22-/23, /16-/21, few shorter); the
attribute sets vary AS_PATH length (4-octet ASNs), COMMUNITIES and MULTI_EXIT_DISC.

The encoder here is the bench's own (a few lines of RFC 4271 §4.3), so that the feed does not
depend on the code it measures.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

# Share of each prefix length in the table, in per mille (sums to 1000).
PREFIX_LENGTH_MIX: dict[int, int] = {
    24: 600, 23: 100, 22: 115, 21: 50, 20: 45, 19: 35, 18: 15, 17: 12, 16: 24,
    15: 2, 14: 1, 13: 1,
}  # fmt: skip

MARKER = b"\xff" * 16
UPDATE = 2
# Path attribute flags and type codes (RFC 4271 §4.3, §5.1; RFC 1997)
WELL_KNOWN = 0x40
OPTIONAL = 0x80
OPTIONAL_TRANSITIVE = 0xC0
ORIGIN, AS_PATH, NEXT_HOP, MULTI_EXIT_DISC, COMMUNITIES = 1, 2, 3, 4, 8
AS_SEQUENCE = 2


@dataclass(frozen=True)
class Feed:
    """The encoded UPDATEs and what the receiver must end up holding."""

    messages: bytes
    prefix_count: int
    update_count: int
    attribute_set_count: int


def _attribute(flags: int, type_code: int, value: bytes) -> bytes:
    return struct.pack("!BBB", flags, type_code, len(value)) + value


def make_prefixes(count: int, rng: random.Random) -> list[tuple[int, int]]:
    """`count` distinct unicast IPv4 prefixes as (network as int, length), sorted."""
    lengths = [length for length, share in PREFIX_LENGTH_MIX.items() for _ in range(share)]
    seen: set[tuple[int, int]] = set()
    while len(seen) < count:
        length = rng.choice(lengths)
        first_octet = rng.randint(1, 223)
        if first_octet in (10, 127):
            continue
        address = first_octet << 24 | rng.getrandbits(24)
        mask = (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF
        seen.add((address & mask, length))
    return sorted(seen)


def make_attribute_sets(
    count: int, sender_asn: int, next_hop: bytes, rng: random.Random
) -> list[bytes]:
    """`count` distinct encoded path attribute lists; each AS_PATH starts with `sender_asn`."""
    sets: list[bytes] = []
    seen: set[bytes] = set()
    while len(sets) < count:
        path = [sender_asn] + [
            rng.choice((rng.randint(1, 64495), rng.randint(131072, 4199999999)))
            for _ in range(rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5, 6, 8, 11)))
        ]
        attributes = _attribute(WELL_KNOWN, ORIGIN, b"\x00")
        segment = struct.pack("!BB", AS_SEQUENCE, len(path)) + b"".join(
            struct.pack("!I", asn) for asn in path
        )
        attributes += _attribute(WELL_KNOWN, AS_PATH, segment)
        attributes += _attribute(WELL_KNOWN, NEXT_HOP, next_hop)
        if rng.random() < 0.5:
            attributes += _attribute(
                OPTIONAL, MULTI_EXIT_DISC, struct.pack("!I", rng.randint(0, 500))
            )
        community_count = rng.choice((0, 0, 1, 2, 3, 5, 8))
        if community_count:
            values = sorted(
                {rng.randint(1, 65535) << 16 | rng.randint(0, 999) for _ in range(community_count)}
            )
            attributes += _attribute(
                OPTIONAL_TRANSITIVE, COMMUNITIES, b"".join(struct.pack("!I", v) for v in values)
            )
        if attributes not in seen:
            seen.add(attributes)
            sets.append(attributes)
    return sets


def encode_nlri(prefix: tuple[int, int]) -> bytes:
    """Length in bits, then the fewest octets that hold the prefix (RFC 4271 §4.3)."""
    network, length = prefix
    octets = (length + 7) // 8
    return bytes((length,)) + network.to_bytes(4, "big")[:octets]


def encode_update(attributes: bytes, nlri: bytes) -> bytes:
    body = b"\x00\x00" + struct.pack("!H", len(attributes)) + attributes + nlri
    return MARKER + struct.pack("!HB", 19 + len(body), UPDATE) + body


def end_of_rib() -> bytes:
    """An UPDATE with nothing in it: End-of-RIB for IPv4 unicast (RFC 4724 §2)."""
    return encode_update(b"", b"")


def make_feed(
    prefix_count: int = 1_000_000,
    per_update: int = 100,
    attribute_set_count: int = 5_000,
    sender_asn: int = 65001,
    next_hop: str = "127.0.0.2",
    seed: int = 4271,
) -> Feed:
    """The whole table as UPDATEs of `per_update` prefixes, each with one of the attribute sets."""
    rng = random.Random(seed)
    prefixes = make_prefixes(prefix_count, rng)
    hop = bytes(int(octet) for octet in next_hop.split("."))
    attribute_sets = make_attribute_sets(attribute_set_count, sender_asn, hop, rng)
    order = list(range(len(attribute_sets)))
    rng.shuffle(order)
    chunks = []
    for number, start in enumerate(range(0, len(prefixes), per_update)):
        attributes = attribute_sets[order[number % len(order)]]
        nlri = b"".join(encode_nlri(p) for p in prefixes[start : start + per_update])
        chunks.append(encode_update(attributes, nlri))
    return Feed(b"".join(chunks), len(prefixes), len(chunks), len(attribute_sets))
