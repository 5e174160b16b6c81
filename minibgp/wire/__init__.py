"""minibgp's wire format: BGP-4 messages as bytes and back, without any I/O (sans-I/O).

Public API (see each module for details):

- `MessageReader` (header.py): `feed(bytes)`, then `next_message()` / iterate for
  `(type, body)` pairs; raises `BGPError` for RFC 4271 §6.1 header errors.
- `decode_message(msg_type, body, ctx) -> Message` and `encode_message(msg, ctx) -> bytes`
  (messages.py); `Message` is `Open | Update | Notification | Keepalive | RouteRefresh`.
  Each message class has `message_type` (a ClassVar). Malformed input raises `BGPError`
  (errors.py); `Notification.from_error(error)` is the NOTIFICATION that answers it.
- `CodecContext(four_octet_as=...)` (context.py): what the OPEN exchange negotiated; set
  `four_octet_as` to whether BOTH OPENs carry `FourOctetAS`, before the first UPDATE. It also
  caches decoded attribute sets, so use one context per session. Give it `local_as` and
  `peer_as` too to get the checks that depend on eBGP/iBGP (leftmost AS of an external peer's
  AS_PATH, LOCAL_PREF discarded from external / required from internal peers).
- `Open(my_as, hold_time, bgp_identifier: IPv4Address, capabilities, version=4)`: `my_as` is the
  real AS; encoding writes AS_TRANS when needed and adds `FourOctetAS(my_as)` if missing.
- `Update.build(announce=[...], withdraw=[...], attributes=[...], next_hop=addr or [addrs])`,
  `Update.end_of_rib(afi, safi)`; reading: `announced()`, `withdrawn_prefixes()` (lists of
  (afi, safi, prefix)), `is_end_of_rib()`, `treat_as_withdraw` with `errors` (the reasons),
  `discarded_attributes`, `attribute_set(family)` (the shared `AttributeSet` of the routes);
  for the Adj-RIB-In, `announced_groups()` / `withdrawn_groups()` hand out prefix keys (wire
  octets) instead of ipaddress objects. `update.nlri` / `withdrawn` / MP NLRI are sequences of
  ipaddress networks built lazily from those keys. When `treat_as_withdraw`, `announced()` is
  empty and `withdrawn_prefixes()` includes the NLRI.
- `Notification.cease(subcode, message)` builds a Cease (with RFC 8203 text); `str(notification)`
  says it in words.
- Capabilities (capabilities.py): `Multiprotocol(afi, safi)`, `FourOctetAS(asn)`,
  `RouteRefreshCapability()`, `UnknownCapability(code, value)`.
- Attributes: one class each in `minibgp.wire.attributes` (ORIGIN ... LARGE_COMMUNITY,
  `UnknownAttribute`); `AttributeSet` gives `origin`, `as_path` (AS4_PATH merged), `next_hop`,
  `med`, `local_pref`, `communities`, `large_communities`, `aggregator`, `to_json()`.
- `AFI`, `SAFI`, `IPV4_UNICAST`, `IPV6_UNICAST`, `Prefix`, `IPAddress` (nlri.py).
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
    RouteRefreshCapability,
    UnknownCapability,
)
from minibgp.wire.context import CodecContext
from minibgp.wire.header import MessageReader, MessageType
from minibgp.wire.messages import (
    Keepalive,
    Message,
    Notification,
    Open,
    RouteRefresh,
    Update,
    decode_message,
    encode_message,
)
from minibgp.wire.nlri import AFI, IPV4_UNICAST, IPV6_UNICAST, SAFI, Family, IPAddress, Prefix

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
    "IPAddress",
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
    "RouteRefreshCapability",
    "UnknownAttribute",
    "UnknownCapability",
    "Update",
    "decode_message",
    "encode_message",
]
