"""The OPEN exchange: the OPEN we send, the checks on the peer's, and what the two agree on.

RFC 4271 §4.2 and §6.2 (OPEN and its errors), RFC 5492 (capabilities), RFC 4760 §8
(multiprotocol), RFC 6793 (4-octet AS numbers), RFC 2918 (route refresh).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from minibgp.settings import SessionSettings
from minibgp.wire.capabilities import (
    Capability,
    FourOctetAS,
    Multiprotocol,
    RouteRefreshCapability,
)
from minibgp.wire.errors import BGPError, ErrorCode, OpenErrorSubcode
from minibgp.wire.messages import Open
from minibgp.wire.nlri import IPV4_UNICAST, Family

BGP_VERSION = 4
# RFC 4271 §8.2.2: in OpenSent "the HoldTimer [is set] to a large value ... A HoldTimer value
# of 4 minutes is suggested."
OPEN_SENT_HOLD_TIME = 240.0


@dataclass(frozen=True)
class Negotiated:
    """What both OPENs agreed on."""

    peer_as: int
    peer_identifier: IPv4Address
    hold_time: int  # seconds; 0: no HoldTimer and no KEEPALIVEs (RFC 4271 §4.4)
    families: frozenset[Family]
    four_octet_as: bool
    route_refresh: bool

    @property
    def keepalive_time(self) -> float:
        """Seconds between KEEPALIVEs: a third of the Hold Time (RFC 4271 §10)."""
        return self.hold_time / 3


def build_open(settings: SessionSettings) -> Open:
    """The OPEN we send."""
    capabilities: list[Capability] = [Multiprotocol(afi, safi) for afi, safi in settings.families]
    if settings.route_refresh:
        capabilities.append(RouteRefreshCapability())
    # RFC 6793 §3: always offered; `Open` puts AS_TRANS in My AS when our AS needs 4 octets.
    capabilities.append(FourOctetAS(settings.local_as))
    return Open(
        my_as=settings.local_as,
        hold_time=settings.hold_time,
        bgp_identifier=settings.router_id,
        capabilities=capabilities,
        version=BGP_VERSION,
    )


def negotiate(settings: SessionSettings, peer_open: Open) -> Negotiated:
    """Check the peer's OPEN (RFC 4271 §6.2) and work out the session's parameters.

    Raises BGPError with the OPEN Message Error subcode the RFCs prescribe. What needs no
    settings (version, Hold Time 1 or 2, a zero identifier) `Open.decode_body` has checked.
    """
    peer_as = peer_open.my_as  # the 4-octet AS capability's, if sent (RFC 6793 §4.1)
    if settings.peer_as is not None and peer_as != settings.peer_as:
        # RFC 4271 §6.2: Bad Peer AS.
        raise BGPError(
            ErrorCode.OPEN_MESSAGE_ERROR,
            OpenErrorSubcode.BAD_PEER_AS,
            reason=f"the peer says it is AS {peer_as}, we expect AS {settings.peer_as}",
        )
    identifier = IPv4Address(peer_open.bgp_identifier)
    # RFC 6286 §2.2: any non-zero identifier will do, but an internal peer's must differ from
    # ours.
    if peer_as == settings.local_as and identifier == settings.router_id:
        raise BGPError(
            ErrorCode.OPEN_MESSAGE_ERROR,
            OpenErrorSubcode.BAD_BGP_IDENTIFIER,
            identifier.packed,
            f"BGP Identifier {identifier} is not acceptable",
        )
    # RFC 4760 §8 / RFC 4271: a peer that advertises no Multiprotocol capability speaks IPv4
    # unicast only. Families the other side did not advertise are not used (RFC 4760 §8).
    peer_families = {
        (c.afi, c.safi) for c in peer_open.capabilities if isinstance(c, Multiprotocol)
    } or {IPV4_UNICAST}
    # Unknown capabilities are ignored (RFC 5492 §3), never refused with Unsupported Capability.
    return Negotiated(
        peer_as=peer_as,
        peer_identifier=identifier,
        # RFC 4271 §4.2: the Hold Time is the smaller of ours and the peer's.
        hold_time=min(settings.hold_time, peer_open.hold_time),
        families=frozenset(set(settings.families) & peer_families),
        # RFC 6793 §3: 4-octet AS numbers only when both sides advertised the capability.
        four_octet_as=peer_open.four_octet_as,
        route_refresh=any(isinstance(c, RouteRefreshCapability) for c in peer_open.capabilities),
    )
