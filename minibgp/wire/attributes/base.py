"""What every path attribute shares (RFC 4271 §4.3): flags, type code, and one pack/unpack pair."""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import IntEnum, IntFlag
from typing import ClassVar, Self

from minibgp.wire.context import CodecContext
from minibgp.wire.errors import ErrorAction, MalformedAttribute, UpdateErrorSubcode


class AttributeFlag(IntFlag):
    """Attribute Flags (RFC 4271 §4.3)."""

    OPTIONAL = 0x80
    TRANSITIVE = 0x40
    PARTIAL = 0x20
    EXTENDED_LENGTH = 0x10


WELL_KNOWN = AttributeFlag.TRANSITIVE
OPTIONAL_TRANSITIVE = AttributeFlag.OPTIONAL | AttributeFlag.TRANSITIVE
OPTIONAL_NON_TRANSITIVE = AttributeFlag.OPTIONAL


class AttributeType(IntEnum):
    """Attribute Type Codes (RFC 4271 §5, IANA BGP Path Attributes)."""

    ORIGIN = 1
    AS_PATH = 2
    NEXT_HOP = 3
    MULTI_EXIT_DISC = 4
    LOCAL_PREF = 5
    ATOMIC_AGGREGATE = 6
    AGGREGATOR = 7
    COMMUNITIES = 8
    MP_REACH_NLRI = 14
    MP_UNREACH_NLRI = 15
    AS4_PATH = 17
    AS4_AGGREGATOR = 18
    LARGE_COMMUNITY = 32


# Attributes minibgp recognises by name only (IANA "BGP Path Attributes").
OTHER_ATTRIBUTES: dict[int, str] = {
    9: "ORIGINATOR_ID",  # RFC 4456
    10: "CLUSTER_LIST",  # RFC 4456
    16: "EXTENDED_COMMUNITIES",  # RFC 4360
    22: "PMSI_TUNNEL",  # RFC 6514
    25: "IPV6_ADDRESS_SPECIFIC_EXTENDED_COMMUNITY",  # RFC 5701
    26: "AIGP",  # RFC 7311
    29: "BGP_LS",  # RFC 9552
    35: "OTC",  # RFC 9234
    40: "BGP_PREFIX_SID",  # RFC 8669
    128: "ATTR_SET",  # RFC 6368
}


def attribute_type_name(type_code: int) -> str:
    """'AS_PATH', or 'type 99' for codes we do not know."""
    try:
        return AttributeType(type_code).name
    except ValueError:
        return OTHER_ATTRIBUTES.get(type_code, f"type {type_code}")


def flags_text(flags: int) -> str:
    """'Optional, Transitive, Partial, Extended Length' for the bits set."""
    names = [f.name.replace("_", " ").title() for f in AttributeFlag if flags & f and f.name]
    return ", ".join(names) if names else "Well-known"


def pack_attribute(flags: int, type_code: int, value: bytes) -> bytes:
    """Flags, Type Code, Length (1 octet, or 2 with Extended Length) and value (RFC 4271 §4.3)."""
    if len(value) > 255:
        return (
            bytes((flags | AttributeFlag.EXTENDED_LENGTH, type_code))
            + len(value).to_bytes(2, "big")
            + value
        )
    return bytes((flags & ~AttributeFlag.EXTENDED_LENGTH & 0xFF, type_code, len(value))) + value


class PathAttribute(ABC):
    """One path attribute.

    Subclasses set `type_code`, `flags` (the Optional/Transitive bits the RFC fixes), `rfc` (where
    the attribute is defined) and `malformed_action` (what RFC 7606 §7 does when it is malformed),
    and implement `pack_value`, `unpack_value`, `describe` and `to_json`.
    """

    type_code: ClassVar[int]
    flags: ClassVar[int]
    rfc: ClassVar[str]
    malformed_action: ClassVar[ErrorAction]

    @abstractmethod
    def pack_value(self, ctx: CodecContext) -> bytes:
        """The attribute value octets."""

    @classmethod
    @abstractmethod
    def unpack_value(cls, value: bytes, ctx: CodecContext) -> Self:
        """Parse the attribute value; raises MalformedAttribute."""

    @abstractmethod
    def describe(self) -> str:
        """The value in words, e.g. 'IGP' or '64520 4290001234'."""

    def describe_fields(self) -> list[tuple[str, str, str]]:
        """(field name, value, RFC section) of each field of the value, for `--trace`."""
        return [("Value", self.describe(), self.rfc)]

    @abstractmethod
    def to_json(self) -> object:
        """The value as JSON-ready data (used by `show routes --json`)."""

    def attribute_type(self) -> int:
        """The Attribute Type Code (UnknownAttribute overrides this)."""
        return self.type_code

    def attribute_flags(self) -> int:
        """The flags this attribute is sent with (UnknownAttribute overrides this)."""
        return self.flags

    @property
    def name(self) -> str:
        """Attribute name as the RFCs spell it."""
        return attribute_type_name(self.attribute_type())

    def pack(self, ctx: CodecContext) -> bytes:
        """The whole attribute: flags, type, length and value."""
        return pack_attribute(self.attribute_flags(), self.attribute_type(), self.pack_value(ctx))

    @classmethod
    def malformed(
        cls, reason: str, subcode: int = UpdateErrorSubcode.ATTRIBUTE_LENGTH_ERROR
    ) -> MalformedAttribute:
        """The error for a malformed value of this attribute, with its RFC 7606 action."""
        return MalformedAttribute(
            cls.malformed_action, subcode, reason=f"{attribute_type_name(cls.type_code)}: {reason}"
        )

    @classmethod
    def check_length(cls, value: bytes, *allowed: int) -> None:
        """Raise the attribute's Attribute Length Error unless len(value) is one of `allowed`."""
        if len(value) not in allowed:
            expected = " or ".join(str(n) for n in allowed)
            raise cls.malformed(f"length {len(value)}, expected {expected}")


class FourOctetValue(PathAttribute):
    """An attribute whose value is one 4-octet unsigned integer (MULTI_EXIT_DISC, LOCAL_PREF).

    Subclasses are frozen dataclasses with the one field `value: int`.
    """

    value: int

    def pack_value(self, ctx: CodecContext) -> bytes:
        return self.value.to_bytes(4, "big")

    @classmethod
    def unpack_value(cls, value: bytes, ctx: CodecContext) -> Self:
        cls.check_length(value, 4)
        return cls(int.from_bytes(value, "big"))  # type: ignore[call-arg]

    def describe(self) -> str:
        return str(self.value)

    def to_json(self) -> object:
        return self.value
