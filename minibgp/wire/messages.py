"""BGP messages (RFC 4271 §4.2 to §4.5, RFC 2918 §3), `decode_message` and `encode_message`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import ClassVar

from minibgp.wire.attributes import (
    Aggregator,
    As4Aggregator,
    As4Path,
    AsPath,
    AttributeSet,
    AttributeType,
    DiscardedAttribute,
    MpReachNlri,
    MpUnreachNlri,
    NextHop,
    PathAttribute,
    attribute_set_with_next_hop,
    decode_path_attributes,
)
from minibgp.wire.capabilities import (
    AS_TRANS,
    Capability,
    FourOctetAS,
    decode_optional_parameters,
    encode_optional_parameters,
)
from minibgp.wire.context import CodecContext
from minibgp.wire.errors import (
    BGPError,
    CeaseSubcode,
    ErrorCode,
    HeaderErrorSubcode,
    OpenErrorSubcode,
    RouteRefreshErrorSubcode,
    UpdateErrorSubcode,
    error_name,
)
from minibgp.wire.header import (
    HEADER_LENGTH,
    MAX_MESSAGE_LENGTH,
    MINIMUM_LENGTH,
    MessageType,
    encode_header,
)
from minibgp.wire.nlri import (
    AFI,
    IPV4_UNICAST,
    SAFI,
    Family,
    IPAddress,
    Prefix,
    PrefixList,
    encode_prefixes,
    prefix_afi,
    prefix_keys,
    split_prefixes,
)

BGP_VERSION = 4


# --- OPEN (RFC 4271 §4.2) ---------------------------------------------------------------


@dataclass
class Open:
    """OPEN. `my_as` is the speaker's real AS: on the wire My AS carries AS_TRANS when it does not
    fit in 2 octets, and the 4-octet AS capability carries the real one (RFC 6793 §4.1)."""

    my_as: int
    hold_time: int
    bgp_identifier: IPv4Address
    capabilities: list[Capability] = field(default_factory=list)
    version: int = BGP_VERSION

    message_type: ClassVar[MessageType] = MessageType.OPEN

    def __post_init__(self) -> None:
        self.bgp_identifier = IPv4Address(self.bgp_identifier)

    def capability(self, cls: type[Capability]) -> list[Capability]:
        """The advertised capabilities of one class."""
        return [c for c in self.capabilities if isinstance(c, cls)]

    @property
    def four_octet_as(self) -> bool:
        """The 4-octet AS capability is advertised."""
        return any(isinstance(c, FourOctetAS) for c in self.capabilities)

    def encode_body(self) -> bytes:
        capabilities = list(self.capabilities)
        if not self.four_octet_as:
            capabilities.append(FourOctetAS(self.my_as))  # RFC 6793 §3: we always send it
        my_as = self.my_as if self.my_as <= 0xFFFF else AS_TRANS
        return (
            bytes((self.version,))
            + my_as.to_bytes(2, "big")
            + self.hold_time.to_bytes(2, "big")
            + self.bgp_identifier.packed
            + encode_optional_parameters(capabilities)
        )

    @classmethod
    def decode_body(cls, body: bytes) -> Open:
        """Parse and validate an OPEN body (RFC 4271 §6.2; peer AS is checked by the session)."""
        if len(body) < 10:
            raise BGPError(
                ErrorCode.MESSAGE_HEADER_ERROR,
                HeaderErrorSubcode.BAD_MESSAGE_LENGTH,
                (19 + len(body)).to_bytes(2, "big"),
                "OPEN shorter than its fixed fields",
            )
        version = body[0]
        if version != BGP_VERSION:
            raise BGPError(
                ErrorCode.OPEN_MESSAGE_ERROR,
                OpenErrorSubcode.UNSUPPORTED_VERSION_NUMBER,
                BGP_VERSION.to_bytes(2, "big"),  # RFC 4271 §6.2: the version we support
                f"peer speaks BGP version {version}, we speak {BGP_VERSION}",
            )
        my_as = int.from_bytes(body[1:3], "big")
        hold_time = int.from_bytes(body[3:5], "big")
        if hold_time in (1, 2):  # RFC 4271 §6.2: zero or at least three seconds
            raise BGPError(
                ErrorCode.OPEN_MESSAGE_ERROR,
                OpenErrorSubcode.UNACCEPTABLE_HOLD_TIME,
                reason=f"hold time {hold_time} s (must be 0 or at least 3 s)",
            )
        identifier = IPv4Address(body[5:9])
        if int(identifier) == 0:  # RFC 6286 §2.1: a non-zero 32-bit number
            raise BGPError(
                ErrorCode.OPEN_MESSAGE_ERROR,
                OpenErrorSubcode.BAD_BGP_IDENTIFIER,
                reason="BGP Identifier 0.0.0.0",
            )
        capabilities = decode_optional_parameters(body[9:])
        if my_as == 0:  # RFC 7607 §2, whatever the 4-octet AS capability says
            raise _bad_peer_as("My Autonomous System is 0")
        for capability in capabilities:
            if isinstance(capability, FourOctetAS):
                my_as = capability.asn  # RFC 6793 §4.1
                if my_as == 0:  # RFC 7607 §2
                    raise _bad_peer_as("the 4-octet AS capability says AS 0")
                break
        return cls(my_as, hold_time, identifier, capabilities, version)


def _bad_peer_as(reason: str) -> BGPError:
    return BGPError(ErrorCode.OPEN_MESSAGE_ERROR, OpenErrorSubcode.BAD_PEER_AS, reason=reason)


# --- UPDATE (RFC 4271 §4.3) ---------------------------------------------------------------


@dataclass
class Update:
    """UPDATE.

    `withdrawn` and `nlri` are the IPv4 Withdrawn Routes and NLRI fields; other families travel
    in MP_REACH_NLRI / MP_UNREACH_NLRI inside `attributes`. Use `announced()`,
    `withdrawn_prefixes()` and `is_end_of_rib()` rather than reading the fields.

    RFC 7606 outcomes of decoding: `treat_as_withdraw` (every announced route is to be treated as
    withdrawn; `errors` says why) and `discarded_attributes` (attributes dropped). What the
    session rules out, by family, with the reason: `unusable` (the announced routes are treated
    as withdrawn: their next hop is ours, RFC 4271 §6.3, or their AS_PATH holds our own AS,
    RFC 4271 §9.1.2) and `ignored_families` (not negotiated: the family's routes, announced or
    withdrawn, are ignored, RFC 4760 §8).
    Build one with `Update.build(...)` or `Update.end_of_rib(...)`.
    """

    withdrawn: Sequence[Prefix] = ()
    attributes: Sequence[PathAttribute] = ()
    nlri: Sequence[Prefix] = ()
    treat_as_withdraw: bool = False
    errors: list[str] = field(default_factory=list)
    discarded_attributes: list[DiscardedAttribute] = field(default_factory=list)
    unusable: dict[Family, tuple[str, str]] = field(default_factory=dict)  # (reason, RFC §)
    ignored_families: dict[Family, str] = field(default_factory=dict)
    _sets: dict[Family, AttributeSet] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _nlri: list[tuple[Family, Sequence[Prefix]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    message_type: ClassVar[MessageType] = MessageType.UPDATE

    # -- building --

    @classmethod
    def build(
        cls,
        announce: Iterable[Prefix] = (),
        withdraw: Iterable[Prefix] = (),
        attributes: Iterable[PathAttribute] = (),
        next_hop: IPAddress | Sequence[IPAddress] | None = None,
    ) -> Update:
        """An UPDATE announcing `announce` with `attributes` and withdrawing `withdraw`.

        IPv4 prefixes go in the NLRI / Withdrawn Routes fields (a NEXT_HOP attribute is added
        from `next_hop` unless `attributes` has one); IPv6 prefixes go in MP_REACH_NLRI with
        `next_hop` (one global address, optionally followed by a link-local one, RFC 2545 §3) and
        MP_UNREACH_NLRI. `announce` must be of one address family. The caller keeps the message
        under 4096 octets (`encoded_length()`).
        """
        announce, withdraw = list(announce), list(withdraw)
        attrs = list(attributes)
        hops: list[IPAddress] = []
        if isinstance(next_hop, Sequence):
            hops = list(next_hop)
        elif next_hop is not None:
            hops = [next_hop]
        families = {prefix_afi(p) for p in announce}
        if len(families) > 1:
            raise ValueError("announce prefixes of one address family per UPDATE")
        nlri: list[Prefix] = []
        if families == {AFI.IPV4}:
            nlri = announce
            if not any(isinstance(a, NextHop) for a in attrs):
                if not hops or not isinstance(hops[0], IPv4Address):
                    raise ValueError("IPv4 routes need an IPv4 next hop")
                attrs.append(NextHop(hops[0]))
        elif families == {AFI.IPV6}:
            if not hops or hops[0].version != 6:
                raise ValueError("IPv6 routes need an IPv6 next hop")
            attrs.append(MpReachNlri(AFI.IPV6, SAFI.UNICAST, tuple(hops), announce))
        withdrawn_v4 = [p for p in withdraw if p.version == 4]
        withdrawn_v6 = [p for p in withdraw if p.version == 6]
        if withdrawn_v6:
            attrs.append(MpUnreachNlri(AFI.IPV6, SAFI.UNICAST, withdrawn_v6))
        attrs.sort(key=_type_code)
        return cls(withdrawn=withdrawn_v4, attributes=attrs, nlri=nlri)

    @classmethod
    def end_of_rib(cls, afi: int = AFI.IPV4, safi: int = SAFI.UNICAST) -> Update:
        """The End-of-RIB marker of a family (RFC 4724 §2)."""
        if (afi, safi) == IPV4_UNICAST:
            return cls()
        return cls(attributes=[MpUnreachNlri(afi, safi)])

    # -- reading --

    @property
    def mp_reach(self) -> MpReachNlri | None:
        """The MP_REACH_NLRI attribute, if any."""
        return next((a for a in self.attributes if isinstance(a, MpReachNlri)), None)

    @property
    def mp_unreach(self) -> MpUnreachNlri | None:
        """The MP_UNREACH_NLRI attribute, if any."""
        return next((a for a in self.attributes if isinstance(a, MpUnreachNlri)), None)

    def is_end_of_rib(self) -> Family | None:
        """The family this UPDATE is the End-of-RIB marker of, or None (RFC 4724 §2)."""
        if not self.withdrawn and not self.nlri and not self.attributes:
            return IPV4_UNICAST
        if len(self.attributes) == 1 and not self.withdrawn and not self.nlri:
            mp_unreach = self.mp_unreach
            if mp_unreach is not None and not mp_unreach.withdrawn and not mp_unreach.raw_withdrawn:
                return mp_unreach.family
        return None

    def attribute_set(self, family: Family = IPV4_UNICAST) -> AttributeSet:
        """The path attributes of the routes this UPDATE announces in `family`, as a shared set.

        For MP_REACH_NLRI families the set holds the MP_REACH_NLRI's next hop (and no NLRI).
        """
        cached = self._sets.get(family)
        if cached is not None:
            return cached
        shared = [a for a in self.attributes if not isinstance(a, MpReachNlri | MpUnreachNlri)]
        mp_reach = self.mp_reach
        if family != IPV4_UNICAST and mp_reach is not None and mp_reach.family == family:
            shared.append(MpReachNlri(mp_reach.afi, mp_reach.safi, mp_reach.next_hops))
        result = AttributeSet(shared)
        self._sets[family] = result
        return result

    def announced_groups(self) -> list[tuple[Family, list[bytes], AttributeSet]]:
        """(family, prefix keys, attribute set) of the routes this UPDATE makes reachable.

        Empty when the UPDATE is treat-as-withdraw (RFC 7606 §2); none of a family whose routes
        are unusable or that was not negotiated. Used by the Adj-RIB-In.
        """
        if self.treat_as_withdraw:
            return []
        return [
            (family, prefix_keys(prefixes), self.attribute_set(family))
            for family, prefixes in self._reachable()
            if family not in self.unusable
        ]

    def withdrawn_groups(self) -> list[tuple[Family, list[bytes]]]:
        """(family, prefix keys) of the routes this UPDATE makes unreachable, including the
        announced ones when it is treat-as-withdraw."""
        groups = []
        if self.withdrawn:
            groups.append((IPV4_UNICAST, prefix_keys(self.withdrawn)))
        mp_unreach = self.mp_unreach
        if mp_unreach is not None and mp_unreach.withdrawn:
            groups.append((mp_unreach.family, prefix_keys(mp_unreach.withdrawn)))
        groups = [group for group in groups if group[0] not in self.ignored_families]
        for family, prefixes in self._reachable():
            if self.treat_as_withdraw or family in self.unusable:
                groups.append((family, prefix_keys(prefixes)))
        return groups

    def _reachable(self) -> list[tuple[Family, Sequence[Prefix]]]:
        """The NLRI field and MP_REACH_NLRI's NLRI, by family, but those of ignored families;
        whether the routes can be used or not. Worked out once (the Adj-RIB-In's path)."""
        if self._nlri is None:
            out: list[tuple[Family, Sequence[Prefix]]] = []
            if self.nlri:
                out.append((IPV4_UNICAST, self.nlri))
            mp_reach = self.mp_reach
            if mp_reach is not None and mp_reach.nlri:
                out.append((mp_reach.family, mp_reach.nlri))
            self._nlri = [
                (family, nlri) for family, nlri in out if family not in self.ignored_families
            ]
        return self._nlri

    def announced(self) -> list[tuple[int, int, Prefix]]:
        """(afi, safi, prefix) of every route this UPDATE announces (none if treat-as-withdraw)."""
        return [
            (family[0], family[1], prefix)
            for family, keys, _ in self.announced_groups()
            for prefix in PrefixList(keys, family[0])
        ]

    def withdrawn_prefixes(self) -> list[tuple[int, int, Prefix]]:
        """(afi, safi, prefix) of every route this UPDATE withdraws."""
        return [
            (family[0], family[1], prefix)
            for family, keys in self.withdrawn_groups()
            for prefix in PrefixList(keys, family[0])
        ]

    # -- wire --

    def encode_body(self, ctx: CodecContext) -> bytes:
        withdrawn = encode_prefixes(self.withdrawn)
        attributes = b"".join(a.pack(ctx) for a in _with_as4_attributes(self.attributes, ctx))
        return (
            len(withdrawn).to_bytes(2, "big")
            + withdrawn
            + len(attributes).to_bytes(2, "big")
            + attributes
            + encode_prefixes(self.nlri)
        )

    def encoded_length(self, ctx: CodecContext) -> int:
        """Length of the whole message on the wire (at most 4096, RFC 4271 §4.1)."""
        return 19 + len(self.encode_body(ctx))

    @classmethod
    def decode_body(cls, body: bytes, ctx: CodecContext) -> Update:
        """Parse an UPDATE body with RFC 4271 §6.3 / RFC 7606 error handling."""
        fields = UpdateFields.split(body)
        withdrawn = split_prefixes(fields.withdrawn_routes) if fields.withdrawn_routes else []
        nlri = split_prefixes(fields.nlri) if fields.nlri else []
        decoded = decode_path_attributes(fields.path_attributes, ctx)
        shared = decoded.shared
        errors = list(shared.malformed)
        if decoded.list_error:
            errors.append(decoded.list_error)
        attributes: list[PathAttribute] = list(shared.attributes)
        sets = {IPV4_UNICAST: shared}
        mp_reach = decoded.mp_reach
        if mp_reach is not None:
            attributes.append(mp_reach)
            sets[mp_reach.family] = attribute_set_with_next_hop(shared, mp_reach, ctx)
        if decoded.mp_unreach is not None:
            attributes.append(decoded.mp_unreach)
        if len(attributes) > len(shared.attributes):
            attributes.sort(key=_type_code)  # RFC 4271 §5 order, whatever the sender's
        ignored = _not_negotiated(fields, mp_reach, decoded.mp_unreach, ctx)
        ipv4_nlri = bool(nlri) and IPV4_UNICAST not in ignored
        mp_nlri = (
            mp_reach is not None
            and mp_reach.family not in ignored
            and bool(mp_reach.nlri or mp_reach.raw_nlri)
        )
        if ipv4_nlri or mp_nlri:
            errors.extend(_missing_well_known(shared, ipv4_nlri=ipv4_nlri, ctx=ctx))
        update = cls(
            withdrawn=PrefixList(withdrawn),
            attributes=attributes,
            nlri=PrefixList(nlri),
            treat_as_withdraw=bool(errors),
            errors=errors,
            discarded_attributes=list(shared.discarded),
            ignored_families=ignored,
        )
        update._sets = sets
        update.unusable = _unusable(update, ctx)
        return update


@dataclass(frozen=True)
class UpdateFields:
    """The variable-length fields of an UPDATE body (RFC 4271 §4.3), as octets."""

    withdrawn_routes: bytes
    path_attributes: bytes
    nlri: bytes

    @classmethod
    def split(cls, body: bytes) -> UpdateFields:
        """Cut an UPDATE body by its two length fields; BGPError (Malformed Attribute List,
        RFC 4271 §6.3) when one overruns the message."""
        size = len(body)
        withdrawn_length = int.from_bytes(body[0:2], "big")
        attributes_at = 2 + withdrawn_length
        if attributes_at + 2 > size:
            raise _malformed_list(
                f"Withdrawn Routes Length {withdrawn_length} overruns the message"
            )
        attributes_length = int.from_bytes(body[attributes_at : attributes_at + 2], "big")
        nlri_at = attributes_at + 2 + attributes_length
        if nlri_at > size:
            raise _malformed_list(
                f"Total Path Attribute Length {attributes_length} overruns the message"
            )
        return cls(body[2:attributes_at], body[attributes_at + 2 : nlri_at], body[nlri_at:])


def _type_code(attribute: PathAttribute) -> int:
    return attribute.attribute_type()


def _malformed_list(reason: str) -> BGPError:
    return BGPError(
        ErrorCode.UPDATE_MESSAGE_ERROR, UpdateErrorSubcode.MALFORMED_ATTRIBUTE_LIST, reason=reason
    )


def _not_negotiated(
    fields: UpdateFields,
    mp_reach: MpReachNlri | None,
    mp_unreach: MpUnreachNlri | None,
    ctx: CodecContext,
) -> dict[Family, str]:
    """The families with routes in this UPDATE that the session did not negotiate: RFC 4760 §8
    exchanges a family's routes only when both OPENs advertised it."""
    if ctx.families is None:
        return {}
    carried: list[Family] = []
    if fields.nlri or fields.withdrawn_routes:
        carried.append(IPV4_UNICAST)
    if mp_reach is not None and (mp_reach.nlri or mp_reach.raw_nlri):
        carried.append(mp_reach.family)
    if mp_unreach is not None and (mp_unreach.withdrawn or mp_unreach.raw_withdrawn):
        carried.append(mp_unreach.family)
    return {family: "not negotiated" for family in carried if family not in ctx.families}


OWN_NEXT_HOP = "RFC 4271 §6.3"  # why routes are unusable: the next hop is ours
AS_LOOP = "RFC 4271 §9.1.2"  # or our own AS is in the path: normal when sites share an AS


def _unusable(update: Update, ctx: CodecContext) -> dict[Family, tuple[str, str]]:
    """The families whose announced routes cannot be used on this session: (reason, rule).

    RFC 4271 §6.3: a NEXT_HOP that is an address of ours is semantically incorrect. RFC 4271
    §9.1.2: a route whose AS_PATH holds our own AS has looped (a router sends a site's anycast
    route back to another site of the same AS). Either way the routes are ignored, treated as
    withdrawn: they replace what the peer sent before for those prefixes.
    """
    unusable: dict[Family, tuple[str, str]] = {}
    for family, _prefixes in update._reachable():
        attributes = update.attribute_set(family)
        next_hop = attributes.next_hop
        if next_hop is not None and _is_ours(next_hop, ctx.local_address):
            unusable[family] = (f"next hop {next_hop} is our own address", OWN_NEXT_HOP)
        elif ctx.local_as is not None and ctx.local_as in attributes.as_path.asns:
            unusable[family] = (f"our own AS {ctx.local_as} is in the AS path", AS_LOOP)
    return unusable


def _is_ours(next_hop: IPAddress, local_address: IPAddress | None) -> bool:
    """`next_hop` is our end of the session, also written IPv4-mapped (::ffff:a.b.c.d)."""
    if local_address is None:
        return False
    mapped = next_hop.ipv4_mapped if isinstance(next_hop, IPv6Address) else None
    return local_address in (next_hop, mapped)


def _missing_well_known(shared: AttributeSet, ipv4_nlri: bool, ctx: CodecContext) -> list[str]:
    """RFC 4271 §5 mandatory attributes absent from an UPDATE with NLRI (RFC 7606 §3 d)."""
    required = [AttributeType.ORIGIN, AttributeType.AS_PATH]
    if ipv4_nlri:
        required.append(AttributeType.NEXT_HOP)  # RFC 4760 §3: not needed for MP_REACH only
    if ctx.external is False:
        required.append(AttributeType.LOCAL_PREF)  # RFC 4271 §5.1.5: between internal peers
    malformed = {reason.split(":", 1)[0] for reason in shared.malformed}  # there, but malformed
    return [
        f"missing well-known attribute {t.name}"
        for t in required
        if t not in shared and t.name not in malformed
    ]


def _with_as4_attributes(
    attributes: Sequence[PathAttribute], ctx: CodecContext
) -> list[PathAttribute]:
    """Attributes to send, sorted by type code (RFC 4271 §5), plus AS4_PATH / AS4_AGGREGATOR
    when a 2-octet peer must see AS_TRANS for a 4-octet AS (RFC 6793 §4.2.2)."""
    out = sorted(attributes, key=_type_code)
    if ctx.four_octet_as:
        return out
    extra: list[PathAttribute] = []
    for attribute in out:
        if type(attribute) is AsPath and any(asn > 0xFFFF for asn in attribute.asns):
            extra.append(As4Path(attribute.segments))
        if type(attribute) is Aggregator and attribute.asn > 0xFFFF:
            extra.append(As4Aggregator(attribute.asn, attribute.address))
    present = {a.attribute_type() for a in out}
    out.extend(a for a in extra if a.attribute_type() not in present)
    return sorted(out, key=_type_code)


# --- NOTIFICATION (RFC 4271 §4.5), KEEPALIVE (§4.4), ROUTE-REFRESH (RFC 2918 §3) -------------


@dataclass
class Notification:
    """NOTIFICATION: an error code, subcode and data; the connection closes after it."""

    code: int
    subcode: int
    data: bytes = b""

    message_type: ClassVar[MessageType] = MessageType.NOTIFICATION

    @classmethod
    def from_error(cls, error: BGPError) -> Notification:
        """The NOTIFICATION that answers a malformed or unacceptable message (RFC 4271 §6)."""
        return cls(error.code, error.subcode, error.data)

    @classmethod
    def cease(
        cls, subcode: int = CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, message: str = ""
    ) -> Notification:
        """A Cease; for shutdown and reset, with an RFC 8203 shutdown communication."""
        data = b""
        if message:
            text = message.encode()[:255]
            data = bytes((len(text),)) + text
        return cls(ErrorCode.CEASE, subcode, data)

    @property
    def shutdown_message(self) -> str | None:
        """The RFC 8203 shutdown communication of an Administrative Shutdown/Reset, if any."""
        if self.code != ErrorCode.CEASE or self.subcode not in (2, 4) or not self.data:
            return None
        length = self.data[0]
        if length + 1 > len(self.data):
            return None
        return self.data[1 : 1 + length].decode("utf-8", "replace")

    def __str__(self) -> str:
        text = error_name(self.code, self.subcode)
        if (message := self.shutdown_message) is not None:
            return f'{text}: "{message}"'
        return f"{text} (data 0x{self.data.hex()})" if self.data else text

    def encode_body(self) -> bytes:
        return bytes((self.code, self.subcode)) + self.data

    @classmethod
    def decode_body(cls, body: bytes) -> Notification:
        return cls(body[0], body[1], body[2:])


@dataclass
class Keepalive:
    """KEEPALIVE: the header alone."""

    message_type: ClassVar[MessageType] = MessageType.KEEPALIVE

    def encode_body(self) -> bytes:
        return b""


@dataclass
class RouteRefresh:
    """ROUTE-REFRESH: ask the peer to send its routes of one family again (RFC 2918 §3).

    `subtype` is 0 (normal), or 1/2 for Beginning/End of Route Refresh (RFC 7313 §3).
    """

    afi: int
    safi: int
    subtype: int = 0

    message_type: ClassVar[MessageType] = MessageType.ROUTE_REFRESH

    def encode_body(self) -> bytes:
        return self.afi.to_bytes(2, "big") + bytes((self.subtype, self.safi))

    @classmethod
    def decode_body(cls, body: bytes) -> RouteRefresh:
        subtype = body[2]
        # RFC 7313 §5: BoRR / EoRR must be exactly 4 octets; normal ones may carry ORF entries
        # (RFC 5291), which we do not negotiate and ignore.
        if subtype in (1, 2) and len(body) != 4:
            raise BGPError(
                ErrorCode.ROUTE_REFRESH_MESSAGE_ERROR,
                RouteRefreshErrorSubcode.INVALID_MESSAGE_LENGTH,
                encode_header(MessageType.ROUTE_REFRESH, body),
                f"ROUTE-REFRESH subtype {subtype} of {len(body)} octets, not 4",
            )
        return cls(int.from_bytes(body[0:2], "big"), body[3], subtype)


Message = Open | Update | Notification | Keepalive | RouteRefresh


def decode_message(msg_type: int, body: bytes, ctx: CodecContext) -> Message:
    """Decode the body of a message (as `MessageReader` hands it out); BGPError if malformed."""
    minimum = MINIMUM_LENGTH.get(msg_type)
    if minimum is not None and (
        HEADER_LENGTH + len(body) < minimum
        or (msg_type == MessageType.KEEPALIVE and body)
        or HEADER_LENGTH + len(body) > MAX_MESSAGE_LENGTH
    ):
        length = HEADER_LENGTH + len(body)
        raise BGPError(
            ErrorCode.MESSAGE_HEADER_ERROR,
            HeaderErrorSubcode.BAD_MESSAGE_LENGTH,
            (length & 0xFFFF).to_bytes(2, "big"),
            f"length {length} is impossible for a {MessageType(msg_type).name} message",
        )
    if msg_type == MessageType.UPDATE:
        return Update.decode_body(body, ctx)
    if msg_type == MessageType.KEEPALIVE:
        return Keepalive()
    if msg_type == MessageType.OPEN:
        return Open.decode_body(body)
    if msg_type == MessageType.NOTIFICATION:
        return Notification.decode_body(body)
    if msg_type == MessageType.ROUTE_REFRESH:
        return RouteRefresh.decode_body(body)
    raise BGPError(
        ErrorCode.MESSAGE_HEADER_ERROR,
        HeaderErrorSubcode.BAD_MESSAGE_TYPE,
        bytes((msg_type & 0xFF,)),
        f"message type {msg_type} is not one we know",
    )


def encode_message(msg: Message, ctx: CodecContext) -> bytes:
    """The whole message, header included."""
    body = msg.encode_body(ctx) if isinstance(msg, Update) else msg.encode_body()
    return encode_header(msg.message_type, body)
