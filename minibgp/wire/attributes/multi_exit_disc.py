"""MULTI_EXIT_DISC (RFC 4271 §4.3 d, §5.1.4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from minibgp.errors import ErrorAction
from minibgp.wire.attributes.base import OPTIONAL_NON_TRANSITIVE, AttributeType, PathAttribute
from minibgp.wire.context import CodecContext


@dataclass(frozen=True)
class MultiExitDisc(PathAttribute):
    """Optional non-transitive: the MED, lower is preferred."""

    value: int

    type_code: ClassVar[int] = AttributeType.MULTI_EXIT_DISC
    flags: ClassVar[int] = OPTIONAL_NON_TRANSITIVE
    rfc: ClassVar[str] = "RFC 4271 §5.1.4"
    malformed_action: ClassVar[ErrorAction] = ErrorAction.TREAT_AS_WITHDRAW  # RFC 7606 §7.4

    def pack_value(self, ctx: CodecContext) -> bytes:
        return self.value.to_bytes(4, "big")

    @classmethod
    def unpack_value(cls, value: bytes, ctx: CodecContext) -> Self:
        cls.check_length(value, 4)
        return cls(int.from_bytes(value, "big"))

    def describe(self) -> str:
        return str(self.value)

    def to_json(self) -> object:
        return self.value
