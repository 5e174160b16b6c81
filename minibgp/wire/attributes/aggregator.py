"""AGGREGATOR (RFC 4271 §5.1.7) and AS4_AGGREGATOR (RFC 6793 §3)."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import ClassVar, Self

from minibgp.wire.attributes.base import OPTIONAL_TRANSITIVE, AttributeType, PathAttribute
from minibgp.wire.capabilities import AS_TRANS
from minibgp.wire.context import CodecContext
from minibgp.wire.errors import ErrorAction, UpdateErrorSubcode


@dataclass(frozen=True)
class Aggregator(PathAttribute):
    """Optional transitive: the AS and BGP Identifier of the speaker that aggregated the route.

    The AS is 4 octets on a session where both sides support 4-octet AS numbers, else 2 octets
    (AS_TRANS standing in for a larger AS, RFC 6793 §4.2.2).
    """

    asn: int
    address: IPv4Address

    type_code: ClassVar[int] = AttributeType.AGGREGATOR
    flags: ClassVar[int] = OPTIONAL_TRANSITIVE
    rfc: ClassVar[str] = "RFC 4271 §5.1.7"
    malformed_action: ClassVar[ErrorAction] = ErrorAction.ATTRIBUTE_DISCARD  # RFC 7606 §7.7

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", IPv4Address(self.address))

    def pack_value(self, ctx: CodecContext) -> bytes:
        if ctx.four_octet_as:
            return self.asn.to_bytes(4, "big") + self.address.packed
        asn = self.asn if self.asn <= 0xFFFF else AS_TRANS
        return asn.to_bytes(2, "big") + self.address.packed

    @classmethod
    def unpack_value(cls, value: bytes, ctx: CodecContext) -> Self:
        width = 4 if ctx.four_octet_as else 2
        cls.check_length(value, width + 4)
        asn = _checked_asn(cls, int.from_bytes(value[:width], "big"))
        return cls(asn, IPv4Address(value[width:]))

    def describe(self) -> str:
        return f"AS {self.asn}, {self.address}"

    def to_json(self) -> object:
        return {"asn": self.asn, "address": str(self.address)}


@dataclass(frozen=True)
class As4Aggregator(Aggregator):
    """Optional transitive: the real 4-octet AGGREGATOR AS on a 2-octet session (RFC 6793 §3)."""

    type_code: ClassVar[int] = AttributeType.AS4_AGGREGATOR
    rfc: ClassVar[str] = "RFC 6793 §3"
    malformed_action: ClassVar[ErrorAction] = ErrorAction.ATTRIBUTE_DISCARD  # RFC 6793 §6

    def pack_value(self, ctx: CodecContext) -> bytes:
        return self.asn.to_bytes(4, "big") + self.address.packed

    @classmethod
    def unpack_value(cls, value: bytes, ctx: CodecContext) -> Self:
        cls.check_length(value, 8)
        return cls(_checked_asn(cls, int.from_bytes(value[:4], "big")), IPv4Address(value[4:]))


def _checked_asn(cls: type[Aggregator], asn: int) -> int:
    # RFC 7607 §2: AS 0 makes the attribute malformed; RFC 7606 §7.7 (AGGREGATOR) and
    # RFC 6793 §6 (AS4_AGGREGATOR) then discard it.
    if asn == 0:
        raise cls.malformed("AS 0", UpdateErrorSubcode.OPTIONAL_ATTRIBUTE_ERROR)
    return asn
