"""Path attributes (RFC 4271 §4.3, §5), one small class per attribute.

Every attribute class has `type_code`, `flags`, `rfc`, `malformed_action` (RFC 7606 §7),
`pack_value(ctx)`, `unpack_value(value, ctx)`, `describe()` and `to_json()`.
"""

from minibgp.wire.attributes.aggregator import Aggregator, As4Aggregator
from minibgp.wire.attributes.as_path import (
    As4Path,
    AsPath,
    Segment,
    SegmentType,
    merge_as4_path,
)
from minibgp.wire.attributes.atomic_aggregate import AtomicAggregate
from minibgp.wire.attributes.attribute_set import (
    ATTRIBUTE_CLASSES,
    AttributeSet,
    AttributeSpan,
    DecodedAttributes,
    DiscardedAttribute,
    attribute_set_with_next_hop,
    decode_attribute,
    decode_path_attributes,
    split_path_attributes,
)
from minibgp.wire.attributes.base import (
    AttributeFlag,
    AttributeType,
    PathAttribute,
    attribute_type_name,
    flags_text,
    pack_attribute,
)
from minibgp.wire.attributes.communities import (
    WELL_KNOWN_COMMUNITIES,
    Communities,
    community_from_text,
    community_to_text,
)
from minibgp.wire.attributes.large_community import LargeCommunity, large_community_from_text
from minibgp.wire.attributes.local_pref import LocalPref
from minibgp.wire.attributes.multi_exit_disc import MultiExitDisc
from minibgp.wire.attributes.multiprotocol import MpReachNlri, MpUnreachNlri
from minibgp.wire.attributes.next_hop import NextHop
from minibgp.wire.attributes.origin import Origin, OriginType
from minibgp.wire.attributes.unknown import UnknownAttribute

__all__ = [
    "ATTRIBUTE_CLASSES",
    "WELL_KNOWN_COMMUNITIES",
    "Aggregator",
    "As4Aggregator",
    "As4Path",
    "AsPath",
    "AtomicAggregate",
    "AttributeFlag",
    "AttributeSet",
    "AttributeSpan",
    "AttributeType",
    "Communities",
    "DecodedAttributes",
    "DiscardedAttribute",
    "LargeCommunity",
    "LocalPref",
    "MpReachNlri",
    "MpUnreachNlri",
    "MultiExitDisc",
    "NextHop",
    "Origin",
    "OriginType",
    "PathAttribute",
    "Segment",
    "SegmentType",
    "UnknownAttribute",
    "attribute_set_with_next_hop",
    "attribute_type_name",
    "community_from_text",
    "community_to_text",
    "decode_attribute",
    "decode_path_attributes",
    "flags_text",
    "large_community_from_text",
    "merge_as4_path",
    "pack_attribute",
    "split_path_attributes",
]
