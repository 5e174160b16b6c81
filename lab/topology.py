"""The lab's topology (`lab/topology.toml`) loaded into dataclasses.

The file lists nodes and links; everything else is derived here, so that it is said once: a
node's interfaces come from the links it is on, and a BGP session runs over every link between
two BGP speakers (servers and routers), external when their ASes differ (RFC 4271 §1.1).
Only the standard library is used: the Vagrant machines run this with Debian 12's python3.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any, Literal

TOPOLOGY_FILE = Path(__file__).with_name("topology.toml")

Role = Literal["server", "router", "client"]
ROLES: tuple[Role, ...] = ("server", "router", "client")
MAX_INTERFACE_NAME = 15  # Linux IFNAMSIZ - 1


class TopologyError(ValueError):
    """The topology file is inconsistent (unknown node, address outside its link, ...)."""


@dataclass(frozen=True)
class Interface:
    """One end of a link: a named interface of a node with its address on the link's network."""

    node: str
    name: str
    address: IPv4Interface

    @property
    def ip(self) -> IPv4Address:
        return self.address.ip


@dataclass(frozen=True)
class Link:
    """A point-to-point link (one /24 of the diagram) between two nodes."""

    network: IPv4Network
    ends: tuple[Interface, Interface]

    def other_end(self, node: str) -> Interface:
        a, b = self.ends
        return b if a.node == node else a


@dataclass(frozen=True)
class Route:
    """A static route: `to` is a prefix or "default"."""

    to: str
    via: IPv4Address


@dataclass(frozen=True)
class BgpNeighbor:
    """A BGP session seen from one side: the peer's address, AS and name."""

    node: str
    address: IPv4Address
    asn: int
    local_address: IPv4Address
    internal: bool  # iBGP: same AS on both sides (RFC 4271 §1.1)


@dataclass
class Node:
    name: str
    role: Role
    asn: int | None = None
    router_id: IPv4Address | None = None
    routes: list[Route] = field(default_factory=list)
    interfaces: list[Interface] = field(default_factory=list)


@dataclass(frozen=True)
class Record:
    """One record as `pdnsutil add-record ZONE NAME TYPE CONTENT` takes it ("@" is the apex)."""

    name: str
    type: str
    content: str


@dataclass(frozen=True)
class Service:
    """The anycast DNS service: the shared address and the zone the servers answer for."""

    anycast: IPv4Interface
    zone: str
    nameserver: str
    records: tuple[Record, ...]

    @property
    def address(self) -> IPv4Address:
        return self.anycast.ip


@dataclass(frozen=True)
class BgpTimers:
    """Seconds: keepalive and hold time (RFC 4271 §4.2, §10), connect retry (§8.1.3)."""

    keepalive: int
    hold: int
    connect_retry: int


@dataclass(frozen=True)
class Failover:
    """The fast-failover settings: BFD timers (ms), drain time and health check timing (s)."""

    bfd_min_tx: int
    bfd_min_rx: int
    bfd_multiplier: int
    drain_time: float
    check_interval: float
    check_timeout: float


@dataclass(frozen=True)
class VagrantSettings:
    box: str
    memory: int


@dataclass
class Topology:
    nodes: dict[str, Node]
    links: list[Link]
    service: Service
    bgp_timers: BgpTimers
    failover: Failover
    vagrant: VagrantSettings

    def node(self, name: str) -> Node:
        try:
            return self.nodes[name]
        except KeyError:
            raise TopologyError(f"no node {name!r} (nodes: {', '.join(self.nodes)})") from None

    def of_role(self, role: Role) -> list[Node]:
        return [node for node in self.nodes.values() if node.role == role]

    def links_of(self, name: str) -> list[Link]:
        return [link for link in self.links if name in (end.node for end in link.ends)]

    def interface_towards(self, name: str, other: str) -> Interface:
        """`name`'s interface on its link to `other`."""
        for link in self.links_of(name):
            if link.other_end(name).node == other:
                return link.other_end(other)
        raise TopologyError(f"{name} has no link to {other}")

    def neighbors(self, name: str) -> list[BgpNeighbor]:
        """The BGP sessions of a node: one per link to another BGP speaker."""
        node = self.node(name)
        if node.asn is None:
            return []
        neighbors = []
        for link in self.links_of(name):
            remote_end = link.other_end(name)
            local_end = link.other_end(remote_end.node)
            remote = self.node(remote_end.node)
            if remote.asn is None:
                continue
            neighbors.append(
                BgpNeighbor(
                    node=remote.name,
                    address=remote_end.ip,
                    asn=remote.asn,
                    local_address=local_end.ip,
                    internal=remote.asn == node.asn,
                )
            )
        return neighbors

    def owner_of(self, address: IPv4Address | str) -> str | None:
        """The node that has `address` on one of its interfaces."""
        wanted = IPv4Address(address)
        for node in self.nodes.values():
            if any(interface.ip == wanted for interface in node.interfaces):
                return node.name
        return None


def load(path: Path = TOPOLOGY_FILE) -> Topology:
    """Read and check a topology file."""
    with path.open("rb") as f:
        return parse(tomllib.load(f))


def parse(data: dict[str, Any]) -> Topology:
    """Build a Topology from the TOML document's data, checking that it holds together."""
    try:
        return _parse(data)
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, TopologyError):
            raise
        raise TopologyError(f"bad topology: {error!r}") from error


def _parse(data: dict[str, Any]) -> Topology:
    nodes = {name: _node(name, spec) for name, spec in data["nodes"].items()}
    links = [_link(spec, nodes) for spec in data["links"]]
    for link in links:
        for end in link.ends:
            nodes[end.node].interfaces.append(end)
    service = data["service"]
    topology = Topology(
        nodes=nodes,
        links=links,
        service=Service(
            anycast=IPv4Interface(service["anycast"]),
            zone=service["zone"],
            nameserver=service["nameserver"],
            records=tuple(Record(r["name"], r["type"], r["content"]) for r in service["records"]),
        ),
        bgp_timers=BgpTimers(**data["bgp_timers"]),
        failover=_failover(data["failover"]),
        vagrant=VagrantSettings(**data["vagrant"]),
    )
    for node in nodes.values():
        for route in node.routes:
            if not any(route.via in link.network for link in topology.links_of(node.name)):
                raise TopologyError(f"{node.name}: next hop {route.via} is on none of its links")
    return topology


def _node(name: str, spec: dict[str, Any]) -> Node:
    role = spec["role"]
    if role not in ROLES:
        raise TopologyError(f"{name}: role {role!r} is not one of {ROLES}")
    asn = spec.get("asn")
    if role != "client" and asn is None:
        raise TopologyError(f"{name}: a {role} speaks BGP and needs an asn")
    return Node(
        name=name,
        role=role,
        asn=asn,
        router_id=IPv4Address(spec["router_id"]) if "router_id" in spec else None,
        routes=[Route(r["to"], IPv4Address(r["via"])) for r in spec.get("routes", [])],
    )


def _failover(spec: dict[str, Any]) -> Failover:
    bfd = spec["bfd"]
    return Failover(
        bfd_min_tx=int(bfd["min_tx"]),
        bfd_min_rx=int(bfd["min_rx"]),
        bfd_multiplier=int(bfd["multiplier"]),
        drain_time=float(spec["drain_time"]),
        check_interval=float(spec["check_interval"]),
        check_timeout=float(spec["check_timeout"]),
    )


def _link(spec: dict[str, Any], nodes: dict[str, Node]) -> Link:
    network = IPv4Network(spec["network"])
    ends = []
    for end in spec["ends"]:
        if end["node"] not in nodes:
            raise TopologyError(f"link {network}: no node {end['node']!r}")
        if len(end["interface"]) > MAX_INTERFACE_NAME:
            raise TopologyError(f"link {network}: interface name {end['interface']!r} too long")
        address = IPv4Interface(f"{end['address']}/{network.prefixlen}")
        if address.network != network:
            raise TopologyError(f"link {network}: {end['address']} is outside it")
        ends.append(Interface(end["node"], end["interface"], address))
    if len(ends) != 2:
        raise TopologyError(f"link {network}: a link has two ends, not {len(ends)}")
    return Link(network, (ends[0], ends[1]))
