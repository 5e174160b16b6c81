"""ORIGIN (RFC 4271 §4.3 a, §5.1.1)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Self

from minibgp.wire.attributes.base import WELL_KNOWN, AttributeType, PathAttribute
from minibgp.wire.context import CodecContext
from minibgp.wire.errors import ErrorAction, UpdateErrorSubcode


class OriginType(IntEnum):
    """Where the route came from (RFC 4271 §4.3 a)."""

    IGP = 0
    EGP = 1
    INCOMPLETE = 2


@dataclass(frozen=True)
class Origin(PathAttribute):
    """Well-known mandatory: IGP, EGP or INCOMPLETE."""

    value: OriginType = OriginType.IGP

    type_code: ClassVar[int] = AttributeType.ORIGIN
    flags: ClassVar[int] = WELL_KNOWN
    rfc: ClassVar[str] = "RFC 4271 §5.1.1"
    malformed_action: ClassVar[ErrorAction] = ErrorAction.TREAT_AS_WITHDRAW  # RFC 7606 §7.1

    def pack_value(self, ctx: CodecContext) -> bytes:
        return bytes((self.value,))

    @classmethod
    def unpack_value(cls, value: bytes, ctx: CodecContext) -> Self:
        cls.check_length(value, 1)
        if value[0] not in OriginType._value2member_map_:
            # RFC 4271 §6.3: Invalid ORIGIN Attribute
            raise cls.malformed(
                f"undefined value {value[0]}", UpdateErrorSubcode.INVALID_ORIGIN_ATTRIBUTE
            )
        return cls(OriginType(value[0]))

    def describe(self) -> str:
        return self.value.name

    def to_json(self) -> object:
        return self.value.name.lower()
