"""COMMUNITIES (RFC 1997) with the well-known community names."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Self

from minibgp.wire.attributes.base import OPTIONAL_TRANSITIVE, AttributeType, PathAttribute
from minibgp.wire.context import CodecContext
from minibgp.wire.errors import ErrorAction

# IANA "BGP Well-known Communities": the value, the name shown, and the RFC that defines each.
WELL_KNOWN_COMMUNITIES: dict[int, str] = {
    0xFFFF0000: "GRACEFUL_SHUTDOWN",  # RFC 8326
    0xFFFF0001: "ACCEPT_OWN",  # RFC 7611
    0xFFFF0006: "LLGR_STALE",  # RFC 9494
    0xFFFF0007: "NO_LLGR",  # RFC 9494
    0xFFFF029A: "BLACKHOLE",  # RFC 7999
    0xFFFFFF01: "NO_EXPORT",  # RFC 1997
    0xFFFFFF02: "NO_ADVERTISE",  # RFC 1997
    0xFFFFFF03: "NO_EXPORT_SUBCONFED",  # RFC 1997
    0xFFFFFF04: "NOPEER",  # RFC 3765
}
# Other names operators write for some of them (FRR and Cisco say local-AS and no-peer).
_ALIASES = {"LOCAL_AS": 0xFFFFFF03, "NO_PEER": 0xFFFFFF04}
_BY_NAME = {name: value for value, name in WELL_KNOWN_COMMUNITIES.items()} | _ALIASES

# The names as they are written in a config file or on the command line (`no-export`), any
# case, `-` or `_`.
COMMUNITY_NAMES = tuple(sorted(name.lower().replace("_", "-") for name in _BY_NAME))


def community_to_text(community: int) -> str:
    """'64520:100', or the well-known name ('NO_EXPORT')."""
    name = WELL_KNOWN_COMMUNITIES.get(community)
    return name if name else f"{community >> 16}:{community & 0xFFFF}"


def community_from_text(text: str) -> int:
    """Parse 'ASN:VALUE' (two 16-bit numbers) or a well-known name ('no-export',
    'GRACEFUL_SHUTDOWN', 'local-as'); ValueError saying what is accepted."""
    name = text.strip().upper().replace("-", "_")
    if name in _BY_NAME:
        return _BY_NAME[name]
    high, sep, low = text.strip().partition(":")
    if not (sep and high.isdigit() and low.isdigit() and max(int(high), int(low)) <= 0xFFFF):
        raise ValueError(
            f"{text!r} is not ASN:VALUE (each 0..65535) nor one of {', '.join(COMMUNITY_NAMES)}"
        )
    return (int(high) << 16) | int(low)


@dataclass(frozen=True)
class Communities(PathAttribute):
    """Optional transitive: a set of 32-bit community values (RFC 1997)."""

    values: tuple[int, ...]

    type_code: ClassVar[int] = AttributeType.COMMUNITIES
    flags: ClassVar[int] = OPTIONAL_TRANSITIVE
    rfc: ClassVar[str] = "RFC 1997"
    malformed_action: ClassVar[ErrorAction] = ErrorAction.TREAT_AS_WITHDRAW  # RFC 7606 §7.8

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))

    @classmethod
    def from_text(cls, texts: Iterable[str]) -> Self:
        """Communities from strings such as '64520:100' or 'no-export'."""
        return cls(tuple(community_from_text(t) for t in texts))

    def pack_value(self, ctx: CodecContext) -> bytes:
        return b"".join(v.to_bytes(4, "big") for v in self.values)

    @classmethod
    def unpack_value(cls, value: bytes, ctx: CodecContext) -> Self:
        if not value or len(value) % 4:
            raise cls.malformed(f"length {len(value)} is not a positive multiple of 4")
        return cls(tuple(int.from_bytes(value[i : i + 4], "big") for i in range(0, len(value), 4)))

    def describe(self) -> str:
        return " ".join(community_to_text(v) for v in self.values)

    def to_json(self) -> object:
        return [community_to_text(v) for v in self.values]
