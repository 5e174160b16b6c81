"""ATOMIC_AGGREGATE (RFC 4271 §4.3 f, §5.1.6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from minibgp.wire.attributes.base import WELL_KNOWN, AttributeType, PathAttribute
from minibgp.wire.context import CodecContext
from minibgp.wire.errors import ErrorAction


@dataclass(frozen=True)
class AtomicAggregate(PathAttribute):
    """Well-known discretionary, no value: the route is an aggregate that lost path detail."""

    type_code: ClassVar[int] = AttributeType.ATOMIC_AGGREGATE
    flags: ClassVar[int] = WELL_KNOWN
    rfc: ClassVar[str] = "RFC 4271 §5.1.6"
    malformed_action: ClassVar[ErrorAction] = ErrorAction.ATTRIBUTE_DISCARD  # RFC 7606 §7.6

    def pack_value(self, ctx: CodecContext) -> bytes:
        return b""

    @classmethod
    def unpack_value(cls, value: bytes, ctx: CodecContext) -> Self:
        cls.check_length(value, 0)
        return cls()

    def describe(self) -> str:
        return "present"

    def to_json(self) -> object:
        return True
