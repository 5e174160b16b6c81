"""LARGE_COMMUNITY (RFC 8092)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Self

from minibgp.wire.attributes.base import OPTIONAL_TRANSITIVE, AttributeType, PathAttribute
from minibgp.wire.context import CodecContext
from minibgp.wire.errors import ErrorAction

LargeCommunityValue = tuple[int, int, int]


def large_community_from_text(text: str) -> LargeCommunityValue:
    """Parse 'GLOBAL:LOCAL1:LOCAL2' (RFC 8092 §3), each part 0..4294967295; ValueError."""
    parts = text.strip().split(":")
    if len(parts) != 3 or not all(p.isdigit() and int(p) <= 0xFFFFFFFF for p in parts):
        raise ValueError(f"{text!r} is not GLOBAL:LOCAL1:LOCAL2 (each 0..4294967295)")
    return int(parts[0]), int(parts[1]), int(parts[2])


@dataclass(frozen=True)
class LargeCommunity(PathAttribute):
    """Optional transitive: a set of (Global Administrator, Local Data 1, Local Data 2)."""

    values: tuple[LargeCommunityValue, ...]

    type_code: ClassVar[int] = AttributeType.LARGE_COMMUNITY
    flags: ClassVar[int] = OPTIONAL_TRANSITIVE
    rfc: ClassVar[str] = "RFC 8092 §3"
    malformed_action: ClassVar[ErrorAction] = ErrorAction.TREAT_AS_WITHDRAW  # RFC 8092 §6

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(tuple(v) for v in self.values))

    @classmethod
    def from_text(cls, texts: Iterable[str]) -> Self:
        """Large communities from strings such as '64520:1:2'."""
        return cls(tuple(large_community_from_text(t) for t in texts))

    def pack_value(self, ctx: CodecContext) -> bytes:
        return b"".join(
            g.to_bytes(4, "big") + a.to_bytes(4, "big") + b.to_bytes(4, "big")
            for g, a, b in self.values
        )

    @classmethod
    def unpack_value(cls, value: bytes, ctx: CodecContext) -> Self:
        if not value or len(value) % 12:
            raise cls.malformed(f"length {len(value)} is not a positive multiple of 12")
        return cls(
            tuple(
                (
                    int.from_bytes(value[i : i + 4], "big"),
                    int.from_bytes(value[i + 4 : i + 8], "big"),
                    int.from_bytes(value[i + 8 : i + 12], "big"),
                )
                for i in range(0, len(value), 12)
            )
        )

    def describe(self) -> str:
        return " ".join(f"{g}:{a}:{b}" for g, a, b in self.values)

    def to_json(self) -> object:
        return [f"{g}:{a}:{b}" for g, a, b in self.values]
