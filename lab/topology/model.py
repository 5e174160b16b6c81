"""The lab's topology: sites, routers, clients and the links between them, as dataclasses.

A topology file (`lab/topologies/*.toml`, read by `lab.topology.reader`) lists nodes and links;
everything else is derived here, so that it is said once: a node's interfaces come from the
links it is on, and a BGP session runs over every link between two BGP speakers (servers and
routers), external when their ASes differ (RFC 4271 §1.1), carrying IPv4 and, on dual-stack
links, IPv6 unicast (RFC 4760). A relationship on a link (provider and customer, or peers) says
how each side treats the other's routes (`lab.render.policy`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Address,
    IPv6Interface,
    IPv6Network,
    ip_address,
)
from pathlib import Path
from typing import Literal

Role = Literal["server", "router", "client"]
ROLES: tuple[Role, ...] = ("server", "router", "client")
# What a link's relationship says, ends in order: `provider-customer` = the first end is the
# second's provider. On eBGP links only (RFC 4271 §1.1: between ASes).
LinkRelationship = Literal["provider-customer", "customer-provider", "peer"]
LINK_RELATIONSHIPS: tuple[LinkRelationship, ...] = (
    "provider-customer",
    "customer-provider",
    "peer",
)
# What a neighbour is to us.
Relationship = Literal["customer", "peer", "provider"]
RELATIONSHIPS: tuple[Relationship, ...] = ("customer", "peer", "provider")
# RFC 4786 §4.4: a global node's announcement spreads everywhere; a local node's carries
# NO_EXPORT and stays within its neighbour's AS.
Scope = Literal["global", "local"]
SCOPES: tuple[Scope, ...] = ("global", "local")
Family = Literal[4, 6]
IPAddress = IPv4Address | IPv6Address


class TopologyError(ValueError):
    """A topology file that cannot be used: the message names the file, line, key and reason."""


@dataclass(frozen=True)
class Interface:
    """One end of a link: a named interface of a node with its address(es) on the link."""

    node: str
    name: str
    address: IPv4Interface
    address6: IPv6Interface | None = None

    @property
    def ip(self) -> IPv4Address:
        return self.address.ip

    @property
    def ip6(self) -> IPv6Address | None:
        return None if self.address6 is None else self.address6.ip


@dataclass(frozen=True)
class Link:
    """A point-to-point link between two nodes: an IPv4 network and, dual-stack, an IPv6 one."""

    network: IPv4Network
    ends: tuple[Interface, Interface]
    network6: IPv6Network | None = None
    relationship: LinkRelationship | None = None
    delay_ms: float | None = None  # one way, on each end's egress (needs sch_netem)
    loss_percent: float | None = None

    def other_end(self, node: str) -> Interface:
        a, b = self.ends
        return b if a.node == node else a

    def end_of(self, node: str) -> Interface:
        a, b = self.ends
        return a if a.node == node else b

    def relationship_of(self, node: str) -> Relationship | None:
        """What the other end is to `node` (None: the link says nothing)."""
        if self.relationship is None:
            return None
        if self.relationship == "peer":
            return "peer"
        first_is_provider = self.relationship == "provider-customer"
        node_is_first = self.ends[0].node == node
        return "customer" if first_is_provider == node_is_first else "provider"


@dataclass(frozen=True)
class Route:
    """A static route: `to` is a prefix or "default"; the family is the next hop's."""

    to: str
    via: IPAddress

    @property
    def family(self) -> Family:
        return 4 if self.via.version == 4 else 6


@dataclass(frozen=True)
class BgpTimers:
    """Seconds: keepalive and hold time (RFC 4271 §4.2, §10), connect retry (§8.1.3), and the
    MinRouteAdvertisementInterval (§9.2.1.1; None: FRR's default, 0 in FRR 8.4)."""

    keepalive: int = 1
    hold: int = 3
    connect_retry: int = 1
    advertisement_interval: int | None = None


@dataclass(frozen=True)
class Announcement:
    """How a site announces the anycast prefixes (RFC 4786 §4): AS-path prepending, MED,
    communities, and its scope (a local node adds NO_EXPORT, RFC 1997)."""

    prepend: int = 0
    med: int | None = None
    communities: tuple[str, ...] = ()  # "ASN:VALUE" or well-known names ("no-export", ...)
    scope: Scope = "global"

    def all_communities(self) -> tuple[str, ...]:
        """The communities on the wire: the configured ones, plus NO_EXPORT for a local node."""
        if self.scope == "local" and "no-export" not in self.communities:
            return (*self.communities, "no-export")
        return self.communities


@dataclass(frozen=True)
class BgpNeighbor:
    """A BGP session seen from one side: the peer's node, addresses and AS, and what it is to us.

    The session runs between the IPv4 addresses; on a dual-stack link it carries IPv6 unicast
    too, with the IPv6 addresses as next hops (RFC 4760 §3).
    """

    node: str
    address: IPv4Address
    asn: int
    local_address: IPv4Address
    internal: bool  # iBGP: same AS on both sides (RFC 4271 §1.1)
    interface: str = ""  # our interface on the link
    address6: IPv6Address | None = None
    local_address6: IPv6Address | None = None
    relationship: Relationship | None = None  # eBGP: what the peer is to us
    reflector_client: bool = False  # iBGP: we reflect routes to it (RFC 4456)


@dataclass
class Node:
    name: str
    role: Role
    asn: int | None = None
    router_id: IPv4Address | None = None
    routes: list[Route] = field(default_factory=list)
    interfaces: list[Interface] = field(default_factory=list)
    description: str = ""
    announcement: Announcement = field(default_factory=Announcement)  # servers
    bgp_timers: BgpTimers = field(default_factory=BgpTimers)  # servers and routers
    route_reflector: bool = False  # routers: its iBGP neighbours are its clients (RFC 4456)


@dataclass(frozen=True)
class Record:
    """One record as `pdnsutil add-record ZONE NAME TYPE CONTENT` takes it ("@" is the apex)."""

    name: str
    type: str
    content: str


SEED_RECORDS = (
    Record("@", "MX", "25 mail.example.com"),
    Record("www", "A", "192.0.2.1"),
)


@dataclass(frozen=True)
class Service:
    """The anycast DNS service: the shared addresses and the zone the servers answer for."""

    anycast: IPv4Interface
    anycast6: IPv6Interface | None = None
    zone: str = "example.com"
    nameserver: str = "ns1.example.com"
    records: tuple[Record, ...] = SEED_RECORDS

    @property
    def address(self) -> IPv4Address:
        return self.anycast.ip

    @property
    def address6(self) -> IPv6Address | None:
        return None if self.anycast6 is None else self.anycast6.ip

    def address_of(self, family: Family) -> IPAddress | None:
        return self.address if family == 4 else self.address6

    @property
    def prefixes(self) -> list[IPv4Network | IPv6Network]:
        """What every site announces: the anycast prefix, and the IPv6 one if there is one."""
        if self.anycast6 is None:
            return [self.anycast.network]
        return [self.anycast.network, self.anycast6.network]


@dataclass(frozen=True)
class Failover:
    """The fast-failover settings: BFD timers (ms), drain time and health check timing (s)."""

    bfd_min_tx: int = 100
    bfd_min_rx: int = 100
    bfd_multiplier: int = 3
    drain_time: float = 0.5
    check_interval: float = 0.2
    check_timeout: float = 0.1


@dataclass(frozen=True)
class VagrantSettings:
    """The Vagrant machines: their box, and each one's memory (MB) and virtual CPUs."""

    box: str = "debian/bookworm64"
    memory: int = 512
    cpus: int = 1


@dataclass
class Topology:
    nodes: dict[str, Node]
    links: list[Link]
    service: Service
    bgp_timers: BgpTimers = field(default_factory=BgpTimers)
    failover: Failover = field(default_factory=Failover)
    vagrant: VagrantSettings = field(default_factory=VagrantSettings)
    source: Path | None = None  # the file it was read from

    @property
    def name(self) -> str:
        """The file's name without `.toml` ("topology" when it came from no file)."""
        return self.source.stem if self.source is not None else "topology"

    # --- nodes -------------------------------------------------------------------------------

    def node(self, name: str) -> Node:
        try:
            return self.nodes[name]
        except KeyError:
            raise TopologyError(f"no node {name!r} (nodes: {', '.join(self.nodes)})") from None

    def of_role(self, role: Role) -> list[Node]:
        return [node for node in self.nodes.values() if node.role == role]

    @property
    def sites(self) -> list[Node]:
        """The anycast sites: the servers, each announcing the anycast prefixes."""
        return self.of_role("server")

    @property
    def routers(self) -> list[Node]:
        return self.of_role("router")

    @property
    def clients(self) -> list[Node]:
        return self.of_role("client")

    @property
    def families(self) -> tuple[Family, ...]:
        """4, and 6 when the service has an IPv6 anycast address."""
        return (4,) if self.service.anycast6 is None else (4, 6)

    def ases(self) -> dict[int, list[str]]:
        """AS number → the names of its BGP speakers, in file order."""
        result: dict[int, list[str]] = {}
        for node in self.nodes.values():
            if node.asn is not None:
                result.setdefault(node.asn, []).append(node.name)
        return result

    def first_hop(self, name: str) -> str:
        """The router a client or server sends its traffic to (the other end of its first link)."""
        links = self.links_of(name)
        if not links:
            raise TopologyError(f"{name} has no links")
        return links[0].other_end(name).node

    # --- links -------------------------------------------------------------------------------

    def links_of(self, name: str) -> list[Link]:
        return [link for link in self.links if name in (end.node for end in link.ends)]

    def interface_towards(self, name: str, other: str) -> Interface:
        """`name`'s interface on its link to `other`."""
        for link in self.links_of(name):
            if link.other_end(name).node == other:
                return link.end_of(name)
        raise TopologyError(f"{name} has no link to {other}")

    def uses_relationships(self) -> bool:
        """Whether any link says who is whose provider (then policies are rendered)."""
        return any(link.relationship is not None for link in self.links)

    def neighbors(self, name: str) -> list[BgpNeighbor]:
        """The BGP sessions of a node: one per link to another BGP speaker."""
        node = self.node(name)
        if node.asn is None:
            return []
        neighbors = []
        relationships = self.uses_relationships()
        for link in self.links_of(name):
            remote_end, local_end = link.other_end(name), link.end_of(name)
            remote = self.node(remote_end.node)
            if remote.asn is None:
                continue
            internal = remote.asn == node.asn
            relationship = link.relationship_of(name)
            if relationship is None and relationships and not internal:
                # A site is its router's customer unless its link says otherwise.
                if remote.role == "server":
                    relationship = "customer"
                elif node.role == "server":
                    relationship = "provider"
            neighbors.append(
                BgpNeighbor(
                    node=remote.name,
                    address=remote_end.ip,
                    asn=remote.asn,
                    local_address=local_end.ip,
                    internal=internal,
                    interface=local_end.name,
                    address6=remote_end.ip6,
                    local_address6=local_end.ip6,
                    relationship=None if internal else relationship,
                    reflector_client=internal and node.route_reflector,
                )
            )
        return neighbors

    def owner_of(self, address: IPAddress | str) -> str | None:
        """The node that has `address` on one of its interfaces."""
        wanted = ip_address(address)
        if isinstance(wanted, IPv6Address) and wanted.ipv4_mapped is not None:
            wanted = wanted.ipv4_mapped  # ::ffff:a.b.c.d, an IPv4 next hop for IPv6 routes
        for node in self.nodes.values():
            for interface in node.interfaces:
                if wanted in (interface.ip, interface.ip6):
                    return node.name
        return None
