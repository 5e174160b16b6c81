"""What one BGP session needs to know before it starts: who we are, who the peer is, how long
to wait for what, and what to offer in our OPEN."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address

from minibgp.wire.capabilities import MAX_ASN
from minibgp.wire.nlri import IPV4_UNICAST, IPV6_UNICAST, Family, IPAddress

# Seconds between connection attempts: the first interval, and the ceiling of the back-off that
# doubles it after each failure (RFC 4271 §8.1.1 DampPeerOscillations). RFC 4271 §10 suggests
# 120 s between attempts for routers; a server must have its anycast route back within seconds
# of its router's restart, and a SYN every few seconds is nothing for a router.
CONNECT_RETRY_TIME = 1.0
MAX_CONNECT_RETRY_TIME = 3.0


@dataclass(frozen=True)
class SessionSettings:
    """Per-peer session settings.

    `peer_as` None accepts any AS in the peer's OPEN. `hold_time` is the Hold Time we propose
    (RFC 4271 §4.2: 0, or at least 3 seconds); the session uses the smaller of both proposals.
    `connect_retry_time` is the first ConnectRetryTime (RFC 4271 §10 suggests 120 s; a DNS
    server wants its route back sooner); after consecutive failures the interval doubles up to
    `max_connect_retry_time`. `passive` sessions never open TCP themselves and wait for the
    peer (like FRR's `neighbor passive`). `local_address` is our end of the session, used as
    next hop for routes without one; the shell may instead give it to `tcp_connected`.
    The OPEN always offers 4-octet AS numbers (RFC 6793) and never Graceful Restart: routers
    would keep a dead server's anycast route as stale.
    """

    local_as: int
    router_id: IPv4Address
    peer_address: IPAddress
    peer_as: int | None = None
    hold_time: int = 90
    connect_retry_time: float = CONNECT_RETRY_TIME
    max_connect_retry_time: float = MAX_CONNECT_RETRY_TIME
    passive: bool = False
    families: tuple[Family, ...] = (IPV4_UNICAST, IPV6_UNICAST)
    route_refresh: bool = True
    local_address: IPAddress | None = None
    trace: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "router_id", IPv4Address(self.router_id))
        object.__setattr__(self, "peer_address", ip_address(self.peer_address))
        if self.local_address is not None:
            object.__setattr__(self, "local_address", ip_address(self.local_address))
        if not 0 < self.local_as <= MAX_ASN:
            raise ValueError(f"local AS {self.local_as} is not an AS number (1..{MAX_ASN})")
        if self.peer_as is not None and not 0 < self.peer_as <= MAX_ASN:
            raise ValueError(f"peer AS {self.peer_as} is not an AS number (1..{MAX_ASN})")
        # RFC 4271 §4.2: "The Hold Time MUST be either zero or at least three seconds."
        if not (self.hold_time == 0 or 3 <= self.hold_time <= 65535):
            raise ValueError(f"hold time {self.hold_time} must be 0 or 3..65535 seconds")
        if not 0 < self.connect_retry_time <= self.max_connect_retry_time:
            raise ValueError("connect retry time must be positive and at most its maximum")
        if int(self.router_id) == 0:
            raise ValueError("router id 0.0.0.0 is not a valid BGP Identifier (RFC 6286 §2.1)")
