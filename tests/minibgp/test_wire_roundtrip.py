"""Property: any UPDATE or OPEN we can build decodes back to itself (Hypothesis)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from hypothesis import given, settings
from hypothesis import strategies as st

from minibgp.wire import (
    AsPath,
    Capability,
    CodecContext,
    Communities,
    FourOctetAS,
    LargeCommunity,
    MessageReader,
    MultiExitDisc,
    Multiprotocol,
    Open,
    Origin,
    OriginType,
    PathAttribute,
    RouteRefreshCapability,
    UnknownCapability,
    Update,
    decode_message,
    encode_message,
)
from minibgp.wire.attributes import Aggregator, AtomicAggregate, LocalPref, Segment, SegmentType
from minibgp.wire.nlri import Prefix

asn = st.integers(1, 2**32 - 1)
ipv4 = st.integers(0, 2**32 - 1).map(IPv4Address)
v4_prefix = st.builds(
    lambda address, bits: IPv4Network((int(address) >> (32 - bits) << (32 - bits), bits)),
    ipv4,
    st.integers(0, 32),
)
v6_prefix = st.builds(
    lambda address, bits: IPv6Network((address >> (128 - bits) << (128 - bits), bits)),
    st.integers(0, 2**128 - 1),
    st.integers(0, 128),
)
segment = st.builds(
    Segment,
    st.sampled_from([SegmentType.AS_SEQUENCE, SegmentType.AS_SET]),
    st.lists(asn, min_size=1, max_size=6).map(tuple),
)
optional_attributes = st.fixed_dictionaries(
    {},
    optional={
        "med": st.integers(0, 2**32 - 1).map(MultiExitDisc),
        "local_pref": st.integers(0, 2**32 - 1).map(LocalPref),
        "atomic": st.just(AtomicAggregate()),
        "aggregator": st.builds(Aggregator, asn, ipv4),
        "communities": st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=5).map(
            lambda values: Communities(tuple(values))
        ),
        "large": st.lists(
            st.tuples(asn, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
            min_size=1,
            max_size=3,
        ).map(lambda values: LargeCommunity(tuple(values))),
    },
)


def round_trip(message: Update | Open, ctx: CodecContext) -> object:
    reader = MessageReader()
    reader.feed(encode_message(message, ctx))
    first = reader.next_message()
    assert first is not None
    return decode_message(first[0], first[1], ctx)


@settings(max_examples=100, deadline=None)
@given(
    ipv6=st.booleans(),
    v4=st.lists(v4_prefix, max_size=40, unique=True),
    v6=st.lists(v6_prefix, max_size=20, unique=True),
    withdrawn=st.lists(st.one_of(v4_prefix, v6_prefix), max_size=20, unique=True),
    origin=st.sampled_from(list(OriginType)),
    segments=st.lists(segment, max_size=3),
    extra=optional_attributes,
    next_hop4=ipv4.filter(lambda a: a.is_global and not a.is_multicast),
)
def test_update_round_trip(
    ipv6: bool,
    v4: list[Prefix],
    v6: list[Prefix],
    withdrawn: list[Prefix],
    origin: OriginType,
    segments: list[Segment],
    extra: dict[str, PathAttribute],
    next_hop4: IPv4Address,
) -> None:
    attributes = [Origin(origin), AsPath(tuple(segments)), *extra.values()]
    announce = v6 if ipv6 else v4
    next_hop = [IPv6Address("2001:db8::1"), IPv6Address("fe80::1")] if ipv6 else next_hop4
    update = Update.build(announce, withdrawn, attributes, next_hop)
    ctx = CodecContext()
    decoded = round_trip(update, ctx)
    assert isinstance(decoded, Update)
    assert decoded == update
    assert decoded.announced() == update.announced()
    assert sorted(map(str, (p for _, _, p in decoded.withdrawn_prefixes()))) == sorted(
        map(str, withdrawn)
    )


@settings(max_examples=100, deadline=None)
@given(
    my_as=asn,
    hold_time=st.one_of(st.just(0), st.integers(3, 65535)),
    identifier=ipv4.filter(lambda a: int(a) != 0),
    families=st.lists(st.sampled_from([(1, 1), (2, 1), (1, 2), (2, 2)]), unique=True),
    route_refresh=st.booleans(),
    unknown=st.lists(
        st.builds(UnknownCapability, st.integers(128, 255), st.binary(max_size=30)), max_size=12
    ),
)
def test_open_round_trip(
    my_as: int,
    hold_time: int,
    identifier: IPv4Address,
    families: list[tuple[int, int]],
    route_refresh: bool,
    unknown: list[UnknownCapability],
) -> None:
    capabilities: list[Capability] = [Multiprotocol(afi, safi) for afi, safi in families]
    capabilities += [RouteRefreshCapability()] if route_refresh else []
    capabilities += [*unknown, FourOctetAS(my_as)]
    message = Open(my_as, hold_time, identifier, capabilities)
    assert round_trip(message, CodecContext()) == message
