"""Address families and IP prefixes as BGP encodes them (RFC 4271 §4.3, RFC 4760 §5).

On the wire a prefix is its length in bits followed by just enough octets to hold it. Inside
minibgp a received prefix stays in that form (its *key*: the length octet and the significant
octets, trailing bits cleared) until somebody looks at it: keys are small, hashable and cheap to
cut out of an UPDATE. `PrefixList` shows a list of keys as `ipaddress` networks on demand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from enum import IntEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from socket import inet_ntoa
from typing import overload

from minibgp.wire.errors import BGPError, ErrorCode, UpdateErrorSubcode

# The two address types of the whole project: an IP prefix and an IP address, either family.
Prefix = IPv4Network | IPv6Network
IPAddress = IPv4Address | IPv6Address


class AFI(IntEnum):
    """Address Family Identifier (RFC 4760 §3, IANA address family numbers)."""

    IPV4 = 1
    IPV6 = 2


class SAFI(IntEnum):
    """Subsequent Address Family Identifier (RFC 4760 §6)."""

    UNICAST = 1
    MULTICAST = 2


Family = tuple[int, int]
IPV4_UNICAST: Family = (AFI.IPV4, SAFI.UNICAST)
IPV6_UNICAST: Family = (AFI.IPV6, SAFI.UNICAST)


def address_text(address: IPAddress) -> str:
    """An address as minibgp writes it: an IPv4-mapped IPv6 address as ::ffff:a.b.c.d
    (RFC 5952 §5), whatever the Python version's own spelling."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def family_name(afi: int, safi: int) -> str:
    """'ipv4 unicast', 'ipv6 unicast', or the numbers for families we do not know."""
    try:
        return f"{AFI(afi).name.lower()} {SAFI(safi).name.lower()}"
    except ValueError:
        return f"afi {afi} safi {safi}"


def split_prefixes(
    data: bytes,
    afi: int = AFI.IPV4,
    subcode: int = UpdateErrorSubcode.INVALID_NETWORK_FIELD,
) -> list[bytes]:
    """Cut a run of encoded prefixes (RFC 4271 §4.3) into keys.

    Raises BGPError(UPDATE Message Error, `subcode`) when a length is too large for the family
    or a prefix runs past the end of `data`.
    """
    max_bits = 32 if afi == AFI.IPV4 else 128
    keys: list[bytes] = []
    append = keys.append
    offset, end = 0, len(data)
    while offset < end:
        bits = data[offset]
        if bits > max_bits:
            raise BGPError(
                ErrorCode.UPDATE_MESSAGE_ERROR,
                subcode,
                reason=f"prefix length {bits} is longer than an address ({max_bits} bits)",
            )
        stop = offset + 1 + ((bits + 7) >> 3)
        if stop > end:
            raise BGPError(
                ErrorCode.UPDATE_MESSAGE_ERROR,
                subcode,
                reason=f"a /{bits} prefix runs past the end of its field",
            )
        key = data[offset:stop]
        spare = bits & 7
        if spare and data[stop - 1] & (0xFF >> spare):
            # RFC 4271 §4.3: trailing bits are irrelevant; clear them so equal prefixes match.
            key = key[:-1] + bytes((data[stop - 1] & (0xFF00 >> spare) & 0xFF,))
        append(key)
        offset = stop
    return keys


def key_to_prefix(key: bytes, afi: int = AFI.IPV4) -> Prefix:
    """The ipaddress network of a prefix key."""
    bits = key[0]
    if afi == AFI.IPV4:
        return IPv4Network((int.from_bytes(key[1:].ljust(4, b"\0"), "big"), bits))
    return IPv6Network((int.from_bytes(key[1:].ljust(16, b"\0"), "big"), bits))


def key_text(key: bytes, afi: int = AFI.IPV4) -> str:
    """The prefix of a key as text ('10.0.0.0/8'), without making an ipaddress object."""
    if afi == AFI.IPV4:
        return inet_ntoa(key[1:] + bytes(5 - len(key))) + f"/{key[0]}"
    return str(key_to_prefix(key, afi))


def covered_by(prefix: Prefix) -> Callable[[bytes], bool]:
    """A test on keys: is the key's prefix `prefix` or one inside it (a longer prefix)?"""
    bits, width = prefix.prefixlen, prefix.max_prefixlen
    wanted = int(prefix.network_address) >> (width - bits)
    size = width // 8

    def covers(key: bytes) -> bool:
        if key[0] < bits:
            return False
        value = int.from_bytes(key[1:] + bytes(size + 1 - len(key)), "big")
        return value >> (width - bits) == wanted

    return covers


def prefix_to_key(prefix: Prefix) -> bytes:
    """The key (wire encoding) of a prefix."""
    bits = prefix.prefixlen
    return bytes((bits,)) + prefix.network_address.packed[: (bits + 7) >> 3]


def prefix_afi(prefix: Prefix) -> AFI:
    """AFI of a prefix."""
    return AFI.IPV4 if prefix.version == 4 else AFI.IPV6


def prefix_keys(prefixes: Iterable[Prefix]) -> list[bytes]:
    """Keys of prefixes (free for a PrefixList)."""
    if isinstance(prefixes, PrefixList):
        return list(prefixes.keys)
    return [prefix_to_key(p) for p in prefixes]


def encode_prefixes(prefixes: Iterable[Prefix]) -> bytes:
    """The wire encoding of a run of prefixes (RFC 4271 §4.3)."""
    return b"".join(prefix_keys(prefixes))


class PrefixList(Sequence[Prefix]):
    """Prefixes held as keys, shown as ipaddress networks when read."""

    __slots__ = ("afi", "keys")

    def __init__(self, keys: Sequence[bytes], afi: int = AFI.IPV4) -> None:
        self.keys = keys
        self.afi = afi

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, index: int) -> Prefix: ...
    @overload
    def __getitem__(self, index: slice) -> list[Prefix]: ...
    def __getitem__(self, index: int | slice) -> Prefix | list[Prefix]:
        if isinstance(index, slice):
            return [key_to_prefix(k, self.afi) for k in self.keys[index]]
        return key_to_prefix(self.keys[index], self.afi)

    def __iter__(self) -> Iterator[Prefix]:
        afi = self.afi
        return (key_to_prefix(k, afi) for k in self.keys)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PrefixList):
            return list(self.keys) == list(other.keys)
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr([str(p) for p in self])
