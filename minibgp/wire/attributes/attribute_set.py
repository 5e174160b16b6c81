"""The path attributes of an UPDATE as one shared, immutable set (RFC 4271 §4.3, §5; RFC 7606).

`decode_path_attributes` parses the Path Attributes field. MP_REACH_NLRI and MP_UNREACH_NLRI
(which carry routes, so differ from UPDATE to UPDATE) are parsed every time; all the other
attributes form an `AttributeSet`, decoded once per distinct set of wire octets on a session and
then shared by every route that carries it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from minibgp.wire.attributes.aggregator import Aggregator, As4Aggregator
from minibgp.wire.attributes.as_path import As4Path, AsPath, SegmentType, merge_as4_path
from minibgp.wire.attributes.atomic_aggregate import AtomicAggregate
from minibgp.wire.attributes.base import (
    AttributeFlag,
    AttributeType,
    PathAttribute,
    attribute_type_name,
)
from minibgp.wire.attributes.communities import Communities
from minibgp.wire.attributes.large_community import LargeCommunity
from minibgp.wire.attributes.local_pref import LocalPref
from minibgp.wire.attributes.multi_exit_disc import MultiExitDisc
from minibgp.wire.attributes.multiprotocol import MpReachNlri, MpUnreachNlri
from minibgp.wire.attributes.next_hop import NextHop
from minibgp.wire.attributes.origin import Origin, OriginType
from minibgp.wire.attributes.unknown import UnknownAttribute
from minibgp.wire.capabilities import AS_TRANS
from minibgp.wire.context import CodecContext
from minibgp.wire.errors import (
    BGPError,
    ErrorAction,
    ErrorCode,
    MalformedAttribute,
    UpdateErrorSubcode,
)
from minibgp.wire.nlri import IPAddress

ATTRIBUTE_CLASSES: dict[int, type[PathAttribute]] = {
    cls.type_code: cls
    for cls in (
        Origin,
        AsPath,
        NextHop,
        MultiExitDisc,
        LocalPref,
        AtomicAggregate,
        Aggregator,
        Communities,
        MpReachNlri,
        MpUnreachNlri,
        As4Path,
        As4Aggregator,
        LargeCommunity,
    )
}

_MP_TYPES = (AttributeType.MP_REACH_NLRI, AttributeType.MP_UNREACH_NLRI)
_CONFEDERATION = (SegmentType.AS_CONFED_SEQUENCE, SegmentType.AS_CONFED_SET)
# Plain ints: IntFlag arithmetic is slow on the per-UPDATE path.
_FLAG_BITS = int(AttributeFlag.OPTIONAL | AttributeFlag.TRANSITIVE)
_EXTENDED_LENGTH = int(AttributeFlag.EXTENDED_LENGTH)

A = TypeVar("A", bound=PathAttribute)


@dataclass(frozen=True)
class DiscardedAttribute:
    """An attribute the decoder dropped, and why (RFC 7606 attribute discard, or ignored)."""

    type_code: int
    reason: str

    def __str__(self) -> str:
        name = attribute_type_name(self.type_code)
        return self.reason if self.reason.startswith(f"{name}: ") else f"{name}: {self.reason}"


class AttributeSet:
    """Path attributes shared by a group of routes.

    Equal sets (same wire octets) compare and hash equal, and the decoder hands out one object
    per distinct set. `malformed` lists RFC 7606 treat-as-withdraw reasons found in the set;
    `discarded` the attributes dropped from it.
    """

    __slots__ = ("__weakref__", "_by_type", "attributes", "discarded", "key", "malformed")

    def __init__(
        self,
        attributes: Iterable[PathAttribute],
        key: object = None,
        malformed: tuple[str, ...] = (),
        discarded: tuple[DiscardedAttribute, ...] = (),
    ) -> None:
        self.attributes = tuple(attributes)
        self._by_type = {a.attribute_type(): a for a in self.attributes}
        self.key = key if key is not None else _packed(self.attributes)
        self.malformed = malformed
        self.discarded = discarded

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AttributeSet):
            return NotImplemented
        return self is other or self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"AttributeSet({self.describe()})"

    def __len__(self) -> int:
        return len(self.attributes)

    def __contains__(self, type_code: object) -> bool:
        return type_code in self._by_type

    def get(self, type_code: int) -> PathAttribute | None:
        """The attribute with this type code, or None."""
        return self._by_type.get(type_code)

    def _typed(self, cls: type[A]) -> A | None:
        attribute = self._by_type.get(cls.type_code)
        return attribute if isinstance(attribute, cls) else None

    @property
    def origin(self) -> OriginType | None:
        """ORIGIN value."""
        origin = self._typed(Origin)
        return origin.value if origin else None

    @property
    def as_path(self) -> AsPath:
        """The AS path, with AS4_PATH merged in on 2-octet sessions (RFC 6793 §4.2.3)."""
        as_path = self._typed(AsPath) or AsPath()
        as4_path = self._typed(As4Path)
        aggregator = self._typed(Aggregator)
        # RFC 6793 §4.2.3: an AGGREGATOR with a real (non-AS_TRANS) AS voids AS4_PATH.
        if as4_path is None or (aggregator is not None and aggregator.asn != AS_TRANS):
            return as_path
        return merge_as4_path(as_path, as4_path)

    @property
    def aggregator(self) -> Aggregator | None:
        """AGGREGATOR, with AS4_AGGREGATOR's AS when AGGREGATOR says AS_TRANS (RFC 6793 §4.2.3)."""
        aggregator = self._typed(Aggregator)
        as4 = self._typed(As4Aggregator)
        if aggregator is not None and aggregator.asn == AS_TRANS and as4 is not None:
            return Aggregator(as4.asn, as4.address)
        return aggregator

    @property
    def next_hop(self) -> IPAddress | None:
        """NEXT_HOP, or the first next hop of MP_REACH_NLRI for other families."""
        mp_reach = self._typed(MpReachNlri)
        if mp_reach is not None and mp_reach.next_hops:
            return mp_reach.next_hops[0]
        next_hop = self._typed(NextHop)
        return next_hop.address if next_hop else None

    @property
    def med(self) -> int | None:
        """MULTI_EXIT_DISC value."""
        med = self._typed(MultiExitDisc)
        return med.value if med else None

    @property
    def local_pref(self) -> int | None:
        """LOCAL_PREF value."""
        local_pref = self._typed(LocalPref)
        return local_pref.value if local_pref else None

    @property
    def communities(self) -> tuple[int, ...]:
        """COMMUNITIES values."""
        communities = self._typed(Communities)
        return communities.values if communities else ()

    @property
    def large_communities(self) -> tuple[tuple[int, int, int], ...]:
        """LARGE_COMMUNITY values."""
        large = self._typed(LargeCommunity)
        return large.values if large else ()

    def describe(self) -> str:
        """One line: 'ORIGIN IGP, AS_PATH 64520, NEXT_HOP 192.0.2.1'."""
        return ", ".join(f"{a.name} {a.describe()}" for a in self.attributes)

    def to_json(self) -> dict[str, object]:
        """JSON-ready {attribute name (lower case): value}; AS path merged as in `as_path`."""
        out: dict[str, object] = {a.name.lower(): a.to_json() for a in self.attributes}
        if AttributeType.AS_PATH in self._by_type:
            out["as_path"] = self.as_path.to_json()
        if (aggregator := self.aggregator) is not None:
            out["aggregator"] = aggregator.to_json()
        return out


def _packed(attributes: Iterable[PathAttribute]) -> bytes:
    ctx = CodecContext(four_octet_as=True)
    return b"".join(a.pack(ctx) for a in attributes)


@dataclass
class DecodedAttributes:
    """The Path Attributes field of one UPDATE, decoded."""

    shared: AttributeSet  # everything but MP_REACH_NLRI / MP_UNREACH_NLRI
    mp_reach: MpReachNlri | None
    mp_unreach: MpUnreachNlri | None
    list_error: str | None  # RFC 7606 §4: the attribute list itself is malformed


class AttributeSpan(NamedTuple):
    """Where one path attribute is in the Path Attributes field (RFC 4271 §4.3)."""

    flags: int
    type_code: int
    start: int  # its Attribute Flags octet
    value_start: int
    end: int

    @property
    def extended_length(self) -> bool:
        return bool(self.flags & _EXTENDED_LENGTH)


def split_path_attributes(data: bytes) -> tuple[list[AttributeSpan], str | None]:
    """Each attribute of a Path Attributes field, and why the field ends in the middle of one
    (an RFC 7606 §4 treat-as-withdraw), or None."""
    spans: list[AttributeSpan] = []
    offset, end = 0, len(data)
    while offset < end:
        flags = data[offset]
        header = 4 if flags & _EXTENDED_LENGTH else 3
        if end - offset < header:
            return spans, f"{end - offset} octets left, too few for an attribute header"
        length = (data[offset + 2] << 8 | data[offset + 3]) if header == 4 else data[offset + 2]
        value_end = offset + header + length
        if value_end > end:
            return spans, (
                f"{attribute_type_name(data[offset + 1])} of length {length} overruns the "
                "Path Attributes field"
            )
        spans.append(AttributeSpan(flags, data[offset + 1], offset, offset + header, value_end))
        offset = value_end
    return spans, None


def decode_path_attributes(data: bytes, ctx: CodecContext) -> DecodedAttributes:
    """Decode a Path Attributes field (RFC 4271 §4.3) with RFC 7606 error handling.

    Raises BGPError for errors that reset the session; records treat-as-withdraw reasons in
    the set's `malformed` and dropped attributes in its `discarded`.
    """
    spans, list_error = split_path_attributes(data)
    entries: list[AttributeSpan] = []  # all but MP_REACH_NLRI / MP_UNREACH_NLRI
    mp_reach: MpReachNlri | None = None
    mp_unreach: MpUnreachNlri | None = None
    for span in spans:
        if span.type_code not in _MP_TYPES:
            entries.append(span)
            continue
        attribute = decode_attribute(data, span, ctx)
        # RFC 7606 §3 g: a repeated MP_REACH_NLRI / MP_UNREACH_NLRI resets the session.
        if isinstance(attribute, MpReachNlri):
            if mp_reach is not None:
                raise _duplicate_mp(span.type_code)
            mp_reach = attribute
        elif isinstance(attribute, MpUnreachNlri):
            if mp_unreach is not None:
                raise _duplicate_mp(span.type_code)
            mp_unreach = attribute

    if mp_reach is None and mp_unreach is None and list_error is None:
        key: object = data
    else:
        key = (b"".join(data[e.start : e.end] for e in entries), list_error)
    if not ctx.four_octet_as:  # the same octets mean other AS numbers on a 2-octet session
        key = ("2-octet", key)
    shared = ctx.attribute_sets.get(key)
    if not isinstance(shared, AttributeSet):
        shared = _decode_shared(data, entries, key, ctx)
        ctx.remember(key, shared)
    return DecodedAttributes(shared, mp_reach, mp_unreach, list_error)


def _duplicate_mp(type_code: int) -> BGPError:
    return BGPError(
        ErrorCode.UPDATE_MESSAGE_ERROR,
        UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST,
        reason=f"{attribute_type_name(type_code)} appears more than once",
    )


def decode_attribute(data: bytes, span: AttributeSpan, ctx: CodecContext) -> PathAttribute:
    """One attribute of a class minibgp knows; MalformedAttribute (with the RFC 7606 action)
    carries the attribute's octets as its data (RFC 4271 §6.3)."""
    flags, type_code = span.flags, span.type_code
    cls = ATTRIBUTE_CLASSES[type_code]
    try:
        # RFC 4271 §6.3 / RFC 7606 §3 c: the Optional and Transitive bits are fixed per
        # attribute, and Partial may only be set on optional transitive ones.
        partial_ok = cls.flags == _FLAG_BITS
        if (flags & _FLAG_BITS) != cls.flags or (flags & AttributeFlag.PARTIAL and not partial_ok):
            raise cls.malformed(
                f"flags 0x{flags:02x} conflict with the attribute's definition",
                UpdateErrorSubcode.ATTRIBUTE_FLAGS_ERROR,
            )
        return cls.unpack_value(data[span.value_start : span.end], ctx)
    except MalformedAttribute as exc:
        if not exc.data:
            exc.data = data[span.start : span.end]  # RFC 4271 §6.3: the erroneous attribute
        raise


def _decode_shared(
    data: bytes, entries: list[AttributeSpan], key: object, ctx: CodecContext
) -> AttributeSet:
    attributes: list[PathAttribute] = []
    malformed: list[str] = []
    discarded: list[DiscardedAttribute] = []
    seen: set[int] = set()
    for span in entries:
        flags, type_code = span.flags, span.type_code
        if type_code in seen:  # RFC 7606 §3 g
            discarded.append(DiscardedAttribute(type_code, "repeated; the first one is kept"))
            continue
        seen.add(type_code)
        if type_code not in ATTRIBUTE_CLASSES:
            if not flags & AttributeFlag.OPTIONAL:  # RFC 4271 §6.3
                raise BGPError(
                    ErrorCode.UPDATE_MESSAGE_ERROR,
                    UpdateErrorSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
                    data[span.start : span.end],
                    f"well-known attribute type {type_code} is not one we know",
                )
            if flags & AttributeFlag.TRANSITIVE:  # RFC 4271 §5: kept, passed on as Partial
                attributes.append(
                    UnknownAttribute(type_code, flags, data[span.value_start : span.end])
                )
            else:
                discarded.append(
                    DiscardedAttribute(type_code, "unrecognized optional non-transitive: ignored")
                )
            continue
        if ctx.four_octet_as and type_code in (
            AttributeType.AS4_PATH,
            AttributeType.AS4_AGGREGATOR,
        ):
            # RFC 6793 §6: between two 4-octet speakers these must be discarded.
            discarded.append(DiscardedAttribute(type_code, "not used between 4-octet speakers"))
            continue
        try:
            attribute = decode_attribute(data, span, ctx)
        except MalformedAttribute as exc:
            if exc.action is ErrorAction.SESSION_RESET:
                raise
            if exc.action is ErrorAction.TREAT_AS_WITHDRAW:
                malformed.append(exc.reason)
            else:
                discarded.append(DiscardedAttribute(type_code, exc.reason))
            continue
        attributes.append(attribute)
    if ctx.external:
        attributes = _from_external_peer(attributes, ctx, malformed, discarded)
    attributes.sort(key=lambda a: a.attribute_type())  # RFC 4271 §5 order, whatever the sender's
    return AttributeSet(attributes, key, tuple(malformed), tuple(discarded))


def _from_external_peer(
    attributes: list[PathAttribute],
    ctx: CodecContext,
    malformed: list[str],
    discarded: list[DiscardedAttribute],
) -> list[PathAttribute]:
    """The checks for an UPDATE from an external peer; returns the attributes to keep."""
    as_path = next((a for a in attributes if type(a) is AsPath), None)
    if as_path is not None:
        peer_as = ctx.peer_as or 0
        # On a 2-octet session a 4-octet peer AS shows as AS_TRANS (RFC 6793 §4.2.2).
        expected = {peer_as, AS_TRANS} if peer_as > 0xFFFF and not ctx.four_octet_as else {peer_as}
        first = as_path.segments[0] if as_path.segments else None
        if any(segment.type in _CONFEDERATION for segment in as_path.segments):
            # RFC 5065 §5: only a member of our confederation may send these; RFC 7606 §7.2.
            malformed.append("AS_PATH: confederation segments from an external peer")
        elif first is None or first.type is not SegmentType.AS_SEQUENCE:
            # RFC 4271 §6.3: an external peer puts its AS first, in a sequence.
            malformed.append("AS_PATH: an external peer's path must start with its AS")
        elif first.asns[0] not in expected:
            malformed.append(f"AS_PATH: leftmost AS {first.asns[0]} is not the peer's AS {peer_as}")
    if any(type(a) is LocalPref for a in attributes):
        # RFC 7606 §7.5 (RFC 4271 §5.1.5: LOCAL_PREF is not sent to external peers).
        discarded.append(
            DiscardedAttribute(AttributeType.LOCAL_PREF, "received from an external peer")
        )
        attributes = [a for a in attributes if type(a) is not LocalPref]
    return attributes


def attribute_set_with_next_hop(
    shared: AttributeSet, mp_reach: MpReachNlri, ctx: CodecContext
) -> AttributeSet:
    """The set for routes of an MP_REACH_NLRI: the shared attributes plus its next hop.

    The MP_REACH_NLRI in the result carries no NLRI; the set is cached like the shared one.
    """
    key = (shared.key, mp_reach.afi, mp_reach.safi, mp_reach.next_hops, mp_reach.raw_next_hop)
    cached = ctx.attribute_sets.get(key)
    if not isinstance(cached, AttributeSet):
        head = MpReachNlri(
            mp_reach.afi, mp_reach.safi, mp_reach.next_hops, (), mp_reach.raw_next_hop
        )
        cached = AttributeSet((*shared.attributes, head), key, shared.malformed, shared.discarded)
        ctx.remember(key, cached)
    return cached
