"""minibgp's wire format: BGP-4 messages as bytes and back, without any I/O (sans-I/O).

Public API (see each module for details):

- `MessageReader` (header.py): `feed(bytes)`, then `next_message()` / iterate for
  `(type, body)` pairs; raises `BGPError` for RFC 4271 §6.1 header errors.
- `decode_message(msg_type, body, ctx) -> Message` and `encode_message(msg, ctx) -> bytes`
  (messages.py); `Message` is `Open | Update | Notification | Keepalive | RouteRefresh`.
- `CodecContext(four_octet_as=True)` (context.py): what the OPEN exchange negotiated; set
  `four_octet_as` to whether BOTH OPENs carry `FourOctetAS`, before the first UPDATE. It also
  caches decoded attribute sets, so use one context per session.
- `Update.build(announce=[...], withdraw=[...], attributes=[...], next_hop=addr)`,
  `Update.end_of_rib(afi, safi)`; reading: `announced()`, `withdrawn_prefixes()` (lists of
  (afi, safi, prefix)), `is_end_of_rib()`, `treat_as_withdraw`, `errors`,
  `discarded_attributes`, `attribute_set(family)`; for the RIB `announced_groups()` and
  `withdrawn_groups()` hand out prefix keys (wire octets) instead of ipaddress objects.
- `Notification.cease(subcode, message)` builds a Cease (with RFC 8203 text); `str(notification)`
  says it in words.
- Capabilities: `Multiprotocol(afi, safi)`, `FourOctetAS(asn)`, `RouteRefresh()`,
  `UnknownCapability(code, value)`. `Open(...).encode` adds `FourOctetAS(my_as)` if missing.
- Attributes: one class each in `minibgp.wire.attributes`.

Differences from the brief: `Update.errors` (list of treat-as-withdraw reasons) was added;
`announced()` is empty and `withdrawn_prefixes()` includes the NLRI when `treat_as_withdraw`.
"""

from minibgp.wire.attributes import (
    Aggregator,
    AsPath,
    AtomicAggregate,
    AttributeSet,
    AttributeType,
    Communities,
    LargeCommunity,
    LocalPref,
    MpReachNlri,
    MpUnreachNlri,
    MultiExitDisc,
    NextHop,
    Origin,
    OriginType,
    PathAttribute,
    UnknownAttribute,
)
from minibgp.wire.capabilities import (
    AS_TRANS,
    Capability,
    FourOctetAS,
    Multiprotocol,
    RouteRefresh,
    UnknownCapability,
)
from minibgp.wire.context import CodecContext
from minibgp.wire.header import MessageReader, MessageType
from minibgp.wire.messages import (
    Keepalive,
    Message,
    Notification,
    Open,
    Update,
    decode_message,
    encode_message,
)
from minibgp.wire.messages import RouteRefresh as RouteRefreshMessage
from minibgp.wire.nlri import AFI, IPV4_UNICAST, IPV6_UNICAST, SAFI, Family, Prefix

__all__ = [
    "AFI",
    "AS_TRANS",
    "IPV4_UNICAST",
    "IPV6_UNICAST",
    "SAFI",
    "Aggregator",
    "AsPath",
    "AtomicAggregate",
    "AttributeSet",
    "AttributeType",
    "Capability",
    "CodecContext",
    "Communities",
    "Family",
    "FourOctetAS",
    "Keepalive",
    "LargeCommunity",
    "LocalPref",
    "Message",
    "MessageReader",
    "MessageType",
    "MpReachNlri",
    "MpUnreachNlri",
    "MultiExitDisc",
    "Multiprotocol",
    "NextHop",
    "Notification",
    "Open",
    "Origin",
    "OriginType",
    "PathAttribute",
    "Prefix",
    "RouteRefresh",
    "RouteRefreshMessage",
    "UnknownAttribute",
    "UnknownCapability",
    "Update",
    "decode_message",
    "encode_message",
]
