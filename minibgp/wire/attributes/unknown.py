"""Path attributes minibgp does not implement (RFC 4271 §5, §9)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar, Self

from minibgp.wire.attributes.base import AttributeFlag, PathAttribute, attribute_type_name
from minibgp.wire.context import CodecContext
from minibgp.wire.errors import ErrorAction


@dataclass(frozen=True)
class UnknownAttribute(PathAttribute):
    """An optional attribute we do not recognise, kept as received.

    Optional transitive ones are kept and, when passed on to other peers, carry the Partial bit
    (RFC 4271 §5: `passed_on()`); optional non-transitive ones are dropped by the decoder.
    """

    unknown_type: int
    unknown_flags: int
    value: bytes

    type_code: ClassVar[int] = -1
    flags: ClassVar[int] = AttributeFlag.OPTIONAL | AttributeFlag.TRANSITIVE
    rfc: ClassVar[str] = "RFC 4271 §5"
    malformed_action: ClassVar[ErrorAction] = ErrorAction.ATTRIBUTE_DISCARD

    def attribute_type(self) -> int:
        return self.unknown_type

    def attribute_flags(self) -> int:
        return self.unknown_flags & ~AttributeFlag.EXTENDED_LENGTH & 0xF0

    @property
    def partial(self) -> bool:
        """Some speaker on the path did not recognise it either."""
        return bool(self.unknown_flags & AttributeFlag.PARTIAL)

    def passed_on(self) -> UnknownAttribute:
        """The attribute as it goes to the next peer: Partial bit set (RFC 4271 §5)."""
        return replace(self, unknown_flags=self.unknown_flags | AttributeFlag.PARTIAL)

    def pack_value(self, ctx: CodecContext) -> bytes:
        return self.value

    @classmethod
    def unpack_value(cls, value: bytes, ctx: CodecContext) -> Self:
        raise TypeError("use UnknownAttribute(type, flags, value)")

    def describe(self) -> str:
        return f"{attribute_type_name(self.unknown_type)}, 0x{self.value.hex()}"

    def to_json(self) -> object:
        return {"type": self.unknown_type, "flags": self.unknown_flags, "value": self.value.hex()}
