"""AS_PATH (RFC 4271 §4.3 b, §5.1.2) and AS4_PATH (RFC 6793 §3, §4.2.3)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Self

from minibgp.wire.attributes.base import (
    OPTIONAL_TRANSITIVE,
    WELL_KNOWN,
    AttributeType,
    PathAttribute,
)
from minibgp.wire.capabilities import AS_TRANS
from minibgp.wire.context import CodecContext
from minibgp.wire.errors import ErrorAction, UpdateErrorSubcode

MAX_SEGMENT_LENGTH = 255  # the segment length is one octet


class SegmentType(IntEnum):
    """Path segment type (RFC 4271 §4.3 b; confederation types RFC 5065 §3)."""

    AS_SET = 1
    AS_SEQUENCE = 2
    AS_CONFED_SEQUENCE = 3
    AS_CONFED_SET = 4


@dataclass(frozen=True)
class Segment:
    """One path segment: its type and AS numbers."""

    type: SegmentType
    asns: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", SegmentType(self.type))
        object.__setattr__(self, "asns", tuple(self.asns))

    @property
    def path_length(self) -> int:
        """Contribution to the AS path length (RFC 4271 §9.1.2.2 a; RFC 5065 §5.3)."""
        if self.type is SegmentType.AS_SEQUENCE:
            return len(self.asns)
        return 1 if self.type is SegmentType.AS_SET else 0

    def __str__(self) -> str:
        text = " ".join(str(a) for a in self.asns)
        return {
            SegmentType.AS_SEQUENCE: text,
            SegmentType.AS_SET: "{" + text + "}",
            SegmentType.AS_CONFED_SEQUENCE: "(" + text + ")",
            SegmentType.AS_CONFED_SET: "[" + text + "]",
        }[self.type]


def _pack_segments(segments: Iterable[Segment], width: int) -> bytes:
    out = bytearray()
    for segment in segments:
        asns = segment.asns
        if width == 2:
            asns = tuple(a if a <= 0xFFFF else AS_TRANS for a in asns)  # RFC 6793 §4.2.2
        # Long sequences are split over several segments of at most 255 ASes.
        for start in range(0, max(len(asns), 1), MAX_SEGMENT_LENGTH):
            chunk = asns[start : start + MAX_SEGMENT_LENGTH]
            out += bytes((segment.type, len(chunk)))
            for asn in chunk:
                out += asn.to_bytes(width, "big")
    return bytes(out)


def _unpack_segments(value: bytes, width: int, error: type[PathAttribute]) -> tuple[Segment, ...]:
    segments = []
    offset = 0
    while offset < len(value):
        if offset + 2 > len(value):
            raise error.malformed("segment header cut short", UpdateErrorSubcode.MALFORMED_AS_PATH)
        seg_type, count = value[offset], value[offset + 1]
        if seg_type not in SegmentType._value2member_map_:
            raise error.malformed(
                f"segment type {seg_type} is undefined", UpdateErrorSubcode.MALFORMED_AS_PATH
            )
        if count == 0:  # RFC 7606 §7.2
            raise error.malformed("empty path segment", UpdateErrorSubcode.MALFORMED_AS_PATH)
        end = offset + 2 + count * width
        if end > len(value):
            raise error.malformed(
                f"segment of {count} ASes overruns the attribute",
                UpdateErrorSubcode.MALFORMED_AS_PATH,
            )
        asns = tuple(
            int.from_bytes(value[i : i + width], "big") for i in range(offset + 2, end, width)
        )
        if 0 in asns:  # RFC 7607 §2: handled as RFC 7606 (AS_PATH) or RFC 6793 (AS4_PATH) say
            raise error.malformed("AS 0 in the path", UpdateErrorSubcode.MALFORMED_AS_PATH)
        segments.append(Segment(SegmentType(seg_type), asns))
        offset = end
    return tuple(segments)


@dataclass(frozen=True)
class AsPath(PathAttribute):
    """Well-known mandatory: the ASes the route has crossed, as path segments.

    AS numbers are 4 octets on a session where both sides support them, else 2 octets with
    AS_TRANS standing in for larger numbers (RFC 6793 §4.2.2).
    """

    segments: tuple[Segment, ...] = ()

    type_code: ClassVar[int] = AttributeType.AS_PATH
    flags: ClassVar[int] = WELL_KNOWN
    rfc: ClassVar[str] = "RFC 4271 §5.1.2"
    malformed_action: ClassVar[ErrorAction] = ErrorAction.TREAT_AS_WITHDRAW  # RFC 7606 §7.2

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", tuple(self.segments))

    @classmethod
    def sequence(cls, asns: Iterable[int]) -> Self:
        """An AS_PATH of one AS_SEQUENCE (empty for no ASes, as between internal peers)."""
        asns = tuple(asns)
        return cls((Segment(SegmentType.AS_SEQUENCE, asns),) if asns else ())

    @property
    def asns(self) -> list[int]:
        """Every AS number on the path, in order."""
        return [asn for segment in self.segments for asn in segment.asns]

    @property
    def path_length(self) -> int:
        """The length used by route selection (RFC 4271 §9.1.2.2 a)."""
        return sum(segment.path_length for segment in self.segments)

    def pack_value(self, ctx: CodecContext) -> bytes:
        return _pack_segments(self.segments, 4 if ctx.four_octet_as else 2)

    @classmethod
    def unpack_value(cls, value: bytes, ctx: CodecContext) -> Self:
        return cls(_unpack_segments(value, 4 if ctx.four_octet_as else 2, cls))

    def describe(self) -> str:
        return " ".join(str(s) for s in self.segments) or "(empty)"

    def describe_fields(self) -> list[tuple[str, str, str]]:
        if not self.segments:
            return [("Path segments", "none (empty AS_PATH)", "RFC 4271 §4.3 b")]
        return [
            (
                "Path segment",
                f"{s.type.name}, {len(s.asns)} AS{'es' if len(s.asns) != 1 else ''}: "
                + " ".join(str(a) for a in s.asns),
                "RFC 4271 §4.3 b" if s.type <= SegmentType.AS_SEQUENCE else "RFC 5065 §3",
            )
            for s in self.segments
        ]

    def to_json(self) -> object:
        return [{"type": s.type.name, "asns": list(s.asns)} for s in self.segments]


@dataclass(frozen=True)
class As4Path(AsPath):
    """Optional transitive: the 4-octet AS path sent beside a 2-octet AS_PATH (RFC 6793 §3)."""

    type_code: ClassVar[int] = AttributeType.AS4_PATH
    flags: ClassVar[int] = OPTIONAL_TRANSITIVE
    rfc: ClassVar[str] = "RFC 6793 §3"
    malformed_action: ClassVar[ErrorAction] = ErrorAction.ATTRIBUTE_DISCARD  # RFC 6793 §6

    def pack_value(self, ctx: CodecContext) -> bytes:
        return _pack_segments(self.segments, 4)

    @classmethod
    def unpack_value(cls, value: bytes, ctx: CodecContext) -> Self:
        segments = _unpack_segments(value, 4, cls)
        if any(s.type >= SegmentType.AS_CONFED_SEQUENCE for s in segments):
            raise cls.malformed("confederation segments", UpdateErrorSubcode.MALFORMED_AS_PATH)
        return cls(segments)


def merge_as4_path(as_path: AsPath, as4_path: AsPath) -> AsPath:
    """The real AS path from a 2-octet AS_PATH and an AS4_PATH (RFC 6793 §4.2.3).

    The AS4_PATH replaces the tail of the AS_PATH; the leading ASes the AS4_PATH lacks (added by
    speakers without 4-octet support) are kept. A longer AS4_PATH is ignored.
    """
    keep = as_path.path_length - as4_path.path_length
    if keep < 0:
        return as_path
    head: list[Segment] = []
    for segment in as_path.segments:
        if keep <= 0:
            break
        if segment.type is SegmentType.AS_SEQUENCE and len(segment.asns) > keep:
            head.append(Segment(segment.type, segment.asns[:keep]))
            keep = 0
        else:
            head.append(segment)
            keep -= segment.path_length
    return AsPath((*head, *as4_path.segments))
