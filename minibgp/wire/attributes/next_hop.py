"""NEXT_HOP (RFC 4271 §4.3 c, §5.1.3)."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import ClassVar, Self

from minibgp.wire.attributes.base import WELL_KNOWN, AttributeType, PathAttribute
from minibgp.wire.context import CodecContext
from minibgp.wire.errors import ErrorAction, UpdateErrorSubcode

_THIS_NETWORK = IPv4Network("0.0.0.0/8")


@dataclass(frozen=True)
class NextHop(PathAttribute):
    """Well-known mandatory (for the IPv4 NLRI field): the router to forward to."""

    address: IPv4Address

    type_code: ClassVar[int] = AttributeType.NEXT_HOP
    flags: ClassVar[int] = WELL_KNOWN
    rfc: ClassVar[str] = "RFC 4271 §5.1.3"
    malformed_action: ClassVar[ErrorAction] = ErrorAction.TREAT_AS_WITHDRAW  # RFC 7606 §7.3

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", IPv4Address(self.address))

    def pack_value(self, ctx: CodecContext) -> bytes:
        return self.address.packed

    @classmethod
    def unpack_value(cls, value: bytes, ctx: CodecContext) -> Self:
        cls.check_length(value, 4)
        address = IPv4Address(value)
        # RFC 4271 §6.3: a semantically incorrect NEXT_HOP makes the route ignored, not the
        # session closed. Checked here: addresses no neighbour can have ("this network" 0/8,
        # multicast, reserved and broadcast). Loopback stays allowed for sessions over 127/8.
        if address in _THIS_NETWORK or address.is_multicast or address.is_reserved:
            raise cls.malformed(
                f"{address} cannot be a next hop", UpdateErrorSubcode.INVALID_NEXT_HOP_ATTRIBUTE
            )
        return cls(address)

    def describe(self) -> str:
        return str(self.address)

    def to_json(self) -> object:
        return str(self.address)
