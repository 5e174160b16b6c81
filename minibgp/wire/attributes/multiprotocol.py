"""MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 §3, §4): routes of other address families.

IPv4 and IPv6 unicast/multicast NLRI are decoded; other families are kept as raw octets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import ClassVar, Self

from minibgp.wire.attributes.base import OPTIONAL_NON_TRANSITIVE, AttributeType, PathAttribute
from minibgp.wire.context import CodecContext
from minibgp.wire.errors import BGPError, ErrorAction, UpdateErrorSubcode
from minibgp.wire.nlri import (
    AFI,
    SAFI,
    IPAddress,
    Prefix,
    PrefixList,
    address_text,
    encode_prefixes,
    family_name,
    split_prefixes,
)

# Families whose NLRI is a plain run of prefixes (RFC 4760 §5) and whose next hop we know.
PREFIX_FAMILIES = {
    (AFI.IPV4, SAFI.UNICAST),
    (AFI.IPV4, SAFI.MULTICAST),
    (AFI.IPV6, SAFI.UNICAST),
    (AFI.IPV6, SAFI.MULTICAST),
}

_MP_ERROR = UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR  # RFC 4760 §7


def _split(data: bytes, afi: int, safi: int, error: type[PathAttribute]) -> Sequence[Prefix]:
    if (afi, safi) not in PREFIX_FAMILIES:
        return ()
    try:
        return PrefixList(split_prefixes(data, afi, _MP_ERROR), afi)
    except BGPError as exc:
        raise error.malformed(exc.reason, _MP_ERROR) from None


@dataclass(frozen=True)
class MpReachNlri(PathAttribute):
    """Optional non-transitive: reachable routes of one address family and their next hop.

    `next_hops` holds one address, or for IPv6 a global and a link-local address
    (RFC 2545 §3). For families minibgp does not decode, `next_hops` and `nlri` are empty and
    the octets are kept in `raw_next_hop` / `raw_nlri`.
    """

    afi: int
    safi: int
    next_hops: tuple[IPAddress, ...]
    nlri: Sequence[Prefix] = ()
    raw_next_hop: bytes = field(default=b"", compare=False)
    raw_nlri: bytes = field(default=b"", compare=False)

    type_code: ClassVar[int] = AttributeType.MP_REACH_NLRI
    flags: ClassVar[int] = OPTIONAL_NON_TRANSITIVE
    rfc: ClassVar[str] = "RFC 4760 §3"
    malformed_action: ClassVar[ErrorAction] = ErrorAction.SESSION_RESET  # RFC 7606 §7.11

    def __post_init__(self) -> None:
        object.__setattr__(self, "next_hops", tuple(ip_address(a) for a in self.next_hops))

    @property
    def family(self) -> tuple[int, int]:
        """(AFI, SAFI)."""
        return (self.afi, self.safi)

    def pack_value(self, ctx: CodecContext) -> bytes:
        if self.family in PREFIX_FAMILIES:
            next_hop = b"".join(a.packed for a in self.next_hops)
            nlri = encode_prefixes(self.nlri)
        else:
            next_hop, nlri = self.raw_next_hop, self.raw_nlri
        return (
            self.afi.to_bytes(2, "big")
            + bytes((self.safi, len(next_hop)))
            + next_hop
            + b"\x00"  # Reserved
            + nlri
        )

    @classmethod
    def unpack_value(cls, value: bytes, ctx: CodecContext) -> Self:
        if len(value) < 5:
            raise cls.malformed(f"length {len(value)} is shorter than the fixed fields", _MP_ERROR)
        afi, safi, nh_length = int.from_bytes(value[:2], "big"), value[2], value[3]
        if 4 + nh_length + 1 > len(value):
            raise cls.malformed("next hop overruns the attribute", _MP_ERROR)
        raw_next_hop = value[4 : 4 + nh_length]
        raw_nlri = value[5 + nh_length :]
        if (afi, safi) not in PREFIX_FAMILIES:
            return cls(afi, safi, (), (), raw_next_hop, raw_nlri)
        return cls(afi, safi, cls._next_hops(afi, raw_next_hop), _split(raw_nlri, afi, safi, cls))

    @classmethod
    def _next_hops(cls, afi: int, raw: bytes) -> tuple[IPAddress, ...]:
        if afi == AFI.IPV4 and len(raw) == 4:
            return (IPv4Address(raw),)
        if afi == AFI.IPV6 and len(raw) in (16, 32):  # global [+ link-local], RFC 2545 §3
            return tuple(IPv6Address(raw[i : i + 16]) for i in range(0, len(raw), 16))
        raise cls.malformed(
            f"next hop length {len(raw)} is wrong for {family_name(afi, 1).split()[0]}", _MP_ERROR
        )

    def describe(self) -> str:
        hops = ", ".join(map(address_text, self.next_hops)) or f"0x{self.raw_next_hop.hex()}"
        prefixes = " ".join(str(p) for p in self.nlri)
        if self.raw_nlri:
            prefixes = f"0x{self.raw_nlri.hex()}"
        return f"{family_name(self.afi, self.safi)}, next hop {hops}, NLRI {prefixes or '(none)'}"

    def describe_fields(self) -> list[tuple[str, str, str]]:
        hops = [address_text(a) for a in self.next_hops] or [f"0x{self.raw_next_hop.hex()}"]
        if len(self.next_hops) == 2:
            hops = [f"{hops[0]} (global)", f"{hops[1]} (link-local, RFC 2545 §3)"]
        nlri = " ".join(str(p) for p in self.nlri)
        if self.raw_nlri:
            nlri = f"0x{self.raw_nlri.hex()} (family not decoded)"
        return [
            (
                "Address Family Identifier",
                f"{self.afi} ({family_name(self.afi, 1).split()[0]})",
                self.rfc,
            ),
            ("Subsequent Address Family Identifier", str(self.safi), self.rfc),
            ("Network Address of Next Hop", ", ".join(hops), self.rfc),
            ("Network Layer Reachability Information", nlri or "(none)", self.rfc),
        ]

    def to_json(self) -> object:
        return {
            "family": family_name(self.afi, self.safi),
            "next_hop": [address_text(a) for a in self.next_hops],
            "nlri": [str(p) for p in self.nlri],
        }


@dataclass(frozen=True)
class MpUnreachNlri(PathAttribute):
    """Optional non-transitive: withdrawn routes of one address family.

    With no withdrawn routes it is the End-of-RIB marker of that family (RFC 4724 §2).
    """

    afi: int
    safi: int
    withdrawn: Sequence[Prefix] = ()
    raw_withdrawn: bytes = field(default=b"", compare=False)

    type_code: ClassVar[int] = AttributeType.MP_UNREACH_NLRI
    flags: ClassVar[int] = OPTIONAL_NON_TRANSITIVE
    rfc: ClassVar[str] = "RFC 4760 §4"
    malformed_action: ClassVar[ErrorAction] = ErrorAction.SESSION_RESET  # RFC 7606 §7.11

    @property
    def family(self) -> tuple[int, int]:
        """(AFI, SAFI)."""
        return (self.afi, self.safi)

    def pack_value(self, ctx: CodecContext) -> bytes:
        routes = (
            encode_prefixes(self.withdrawn)
            if self.family in PREFIX_FAMILIES
            else self.raw_withdrawn
        )
        return self.afi.to_bytes(2, "big") + bytes((self.safi,)) + routes

    @classmethod
    def unpack_value(cls, value: bytes, ctx: CodecContext) -> Self:
        if len(value) < 3:
            raise cls.malformed(f"length {len(value)} is shorter than AFI and SAFI", _MP_ERROR)
        afi, safi = int.from_bytes(value[:2], "big"), value[2]
        if (afi, safi) not in PREFIX_FAMILIES:
            return cls(afi, safi, (), value[3:])
        return cls(afi, safi, _split(value[3:], afi, safi, cls))

    def describe(self) -> str:
        routes = " ".join(str(p) for p in self.withdrawn)
        if self.raw_withdrawn:
            routes = f"0x{self.raw_withdrawn.hex()}"
        return f"{family_name(self.afi, self.safi)}, withdrawn {routes or '(none: End-of-RIB)'}"

    def describe_fields(self) -> list[tuple[str, str, str]]:
        routes = " ".join(str(p) for p in self.withdrawn)
        if self.raw_withdrawn:
            routes = f"0x{self.raw_withdrawn.hex()} (family not decoded)"
        return [
            (
                "Address Family Identifier",
                f"{self.afi} ({family_name(self.afi, 1).split()[0]})",
                self.rfc,
            ),
            ("Subsequent Address Family Identifier", str(self.safi), self.rfc),
            ("Withdrawn Routes", routes or "(none: End-of-RIB, RFC 4724 §2)", self.rfc),
        ]

    def to_json(self) -> object:
        return {
            "family": family_name(self.afi, self.safi),
            "withdrawn": [str(p) for p in self.withdrawn],
        }
