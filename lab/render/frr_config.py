"""frr.conf for a router, and for a site's server in reference mode (FRR announcing the prefix).

A router originates the networks of its links (IPv4, and IPv6 on dual-stack links), so that
next hops learnt over iBGP are reachable; a server originates the anycast prefixes on its
loopback. Each session runs over IPv4 and carries IPv6 unicast too where the link is dual-stack
(`neighbor X activate` under `address-family ipv6 unicast`; RFC 4760). Every config says
`no bgp ebgp-requires-policy`: FRR 8.4's `traditional` defaults otherwise drop every eBGP route
that no policy accepts (RFC 8212); where there is policy, it is `lab.render.policy`'s.

Blocks end with `!`, not `exit`: zebra, bgpd and bfdd all read this file, and an `exit` in a node
one of them does not know would end that daemon's configure mode.
"""

from __future__ import annotations

from ..topology import BgpNeighbor, Node, Relationship, Topology
from . import policy
from .modes import Mode

BFD_PROFILE = "fast"  # the routers' BFD profile towards their server (python mode)


def frr_daemons(topology: Topology, node: Node, mode: Mode) -> tuple[str, ...]:
    """The FRR daemons a node runs: zebra and bgpd, and bfdd where it has BFD sessions."""
    if uses_bfd(topology, node, mode):
        return ("zebra", "bgpd", "bfdd")
    return ("zebra", "bgpd")


def uses_bfd(topology: Topology, node: Node, mode: Mode) -> bool:
    """In python mode a router runs BFD to its servers (minibgp speaks BFD; FRR on the servers
    of reference mode is configured as in the original lab, without)."""
    return mode == "python" and node.role == "router" and bool(_servers(topology, node))


def _servers(topology: Topology, node: Node) -> list[BgpNeighbor]:
    return [n for n in topology.neighbors(node.name) if topology.node(n.node).role == "server"]


def frr_config(topology: Topology, node: Node, mode: Mode = "python") -> str:
    if node.asn is None or node.router_id is None:
        raise ValueError(f"{node.name} does not speak BGP")
    if node.role == "server":
        return _server_config(topology, node)
    return _router_config(topology, node, mode)


def _router_config(topology: Topology, node: Node, mode: Mode) -> str:
    assert node.asn is not None
    neighbors = topology.neighbors(node.name)
    servers = _servers(topology, node)
    bfd = uses_bfd(topology, node, mode)
    relationships: set[Relationship] = {n.relationship for n in neighbors if n.relationship}
    lines = _header(node)
    if bfd:
        lines += _bfd_profile(topology)
    if relationships:
        lines += policy.graceful_shutdown_list()
        lines += policy.relationship_policy(node.asn, relationships)
    elif servers:
        lines += policy.graceful_shutdown_list()
        lines += policy.from_server_map()
    lines += _router_bgp(node, neighbors, bfd_to=servers if bfd else [])
    links = topology.links_of(node.name)
    # Between ASes with policy, an eBGP next hop is not carried into the AS: the link it is on
    # is reachable from outside too, perhaps preferred that way, and the route would point out
    # of the AS again. Like a network whose IGP does not carry its borders, each router gives
    # its own address to its iBGP neighbours. The original lab, without policy, passes next hops
    # unchanged, reached through the routers' originated links.
    next_hop_self = topology.uses_relationships()

    def maps(neighbor: BgpNeighbor) -> list[str]:
        address = neighbor.address
        if neighbor.relationship is not None:
            return [
                f"  neighbor {address} route-map {policy.import_map(neighbor.relationship)} in",
                f"  neighbor {address} route-map {policy.export_map(neighbor.relationship)} out",
            ]
        if neighbor in servers:
            return [f"  neighbor {address} route-map {policy.FROM_SERVER_ROUTE_MAP} in"]
        return []

    def internal(neighbor: BgpNeighbor) -> list[str]:
        lines = []
        if neighbor.internal and next_hop_self:
            lines.append(f"  neighbor {neighbor.address} next-hop-self")
        if neighbor.reflector_client:
            lines.append(f"  neighbor {neighbor.address} route-reflector-client")
        return lines

    lines.append(" address-family ipv4 unicast")
    lines += [f"  network {link.network}" for link in links]
    for neighbor in neighbors:
        lines += maps(neighbor) + internal(neighbor)
    lines.append(" exit-address-family")
    dual_stack = [n for n in neighbors if n.address6 is not None]
    networks6 = [link.network6 for link in links if link.network6 is not None]
    if networks6 or dual_stack:
        lines.append(" address-family ipv6 unicast")
        lines += [f"  network {network}" for network in networks6]
        for neighbor in dual_stack:
            lines.append(f"  neighbor {neighbor.address} activate")
            lines += maps(neighbor) + internal(neighbor)
        lines.append(" exit-address-family")
    return "\n".join([*lines, "!", "line vty", "!", ""])


def _server_config(topology: Topology, node: Node) -> str:
    """FRR on a site's server (reference mode): the anycast prefixes, announced as the site says."""
    assert node.asn is not None
    service = topology.service
    neighbors = topology.neighbors(node.name)
    anycast6 = None if service.anycast6 is None else str(service.anycast6.network)
    lines = _header(node)
    lines += policy.announce_map(
        node.asn, node.announcement, str(service.anycast.network), anycast6
    )
    lines += _router_bgp(node, neighbors)
    lines += [" address-family ipv4 unicast", f"  network {service.anycast.network}"]
    lines += [
        f"  neighbor {n.address} route-map {policy.ANNOUNCE_ROUTE_MAP} out" for n in neighbors
    ]
    lines.append(" exit-address-family")
    dual_stack = [n for n in neighbors if n.address6 is not None]
    if anycast6 is not None and dual_stack:
        lines += [" address-family ipv6 unicast", f"  network {anycast6}"]
        for neighbor in dual_stack:
            lines += [
                f"  neighbor {neighbor.address} activate",
                f"  neighbor {neighbor.address} route-map {policy.ANNOUNCE_ROUTE_MAP} out",
            ]
        lines.append(" exit-address-family")
    return "\n".join([*lines, "!", "line vty", "!", ""])


def _header(node: Node) -> list[str]:
    return ["frr defaults traditional", f"hostname {node.name}", "!"]


def _router_bgp(
    node: Node, neighbors: list[BgpNeighbor], bfd_to: list[BgpNeighbor] | None = None
) -> list[str]:
    timers = node.bgp_timers
    lines = [
        f"router bgp {node.asn}",
        f" bgp router-id {node.router_id}",
        " no bgp ebgp-requires-policy",
    ]
    if node.role == "router":
        # A tie between external paths goes to the lower router id (RFC 4271 §9.1.2.2 f), not
        # to the older path (RFC 5004, FRR's default): a catchment must not depend on which
        # session came up first.
        lines.append(" bgp bestpath compare-routerid")
    for neighbor in neighbors:
        kind = "iBGP" if neighbor.internal else "eBGP"
        if neighbor.relationship is not None:
            kind += f", {neighbor.relationship}"
        address = neighbor.address
        lines += [
            f" neighbor {address} remote-as {neighbor.asn}",
            f" neighbor {address} description {neighbor.node} ({kind})",
            f" neighbor {address} timers {timers.keepalive} {timers.hold}",
            f" neighbor {address} timers connect {timers.connect_retry}",
        ]
        if timers.advertisement_interval is not None:
            # RFC 4271 §9.2.1.1 MinRouteAdvertisementIntervalTimer
            lines.append(
                f" neighbor {address} advertisement-interval {timers.advertisement_interval}"
            )
        if neighbor in (bfd_to or []):
            lines.append(f" neighbor {address} bfd profile {BFD_PROFILE}")
    return lines


def _bfd_profile(topology: Topology) -> list[str]:
    """bfdd's profile for the sessions to the servers (RFC 5880 §6.8.1 timers, in ms)."""
    failover = topology.failover
    return [
        "bfd",
        f" profile {BFD_PROFILE}",
        f"  transmit-interval {failover.bfd_min_tx}",
        f"  receive-interval {failover.bfd_min_rx}",
        f"  detect-multiplier {failover.bfd_multiplier}",
        " !",
        "!",
    ]
