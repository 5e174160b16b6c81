"""The topology as the Vagrantfile reads it: `python -m lab render --format json`."""

from __future__ import annotations

import json
from ipaddress import IPv4Network, IPv6Network

from ..topology import Topology


def lab_supernet(topology: Topology) -> IPv4Network:
    """The smallest prefix holding every link: a VM's stand-in for "default" (keeps its NAT)."""
    supernet = topology.links[0].network
    while not all(link.network.subnet_of(supernet) for link in topology.links):
        supernet = supernet.supernet()
    return supernet


def lab_supernet6(topology: Topology) -> IPv6Network | None:
    """The same for the links' IPv6 networks (None: no link is dual-stack)."""
    networks = [link.network6 for link in topology.links if link.network6 is not None]
    if not networks:
        return None
    supernet = networks[0]
    while not all(network.subnet_of(supernet) for network in networks):
        supernet = supernet.supernet()
    return supernet


def topology_json(topology: Topology) -> str:
    """Nodes with their interfaces and routes, the anycast addresses, the VM settings.

    IPv6 keys (`anycast6`, `lab_network6`, an interface's `address6` and `prefixlen6`) are
    null where the topology has none; a route's `via` says its family.
    """
    nodes = []
    for node in topology.nodes.values():
        nodes.append(
            {
                "name": node.name,
                "role": node.role,
                "asn": node.asn,
                "interfaces": [
                    {
                        "name": i.name,
                        "address": str(i.ip),
                        "netmask": str(i.address.netmask),
                        "address6": None if i.address6 is None else str(i.address6.ip),
                        "prefixlen6": None if i.address6 is None else i.address6.network.prefixlen,
                    }
                    for i in node.interfaces
                ],
                "routes": [{"to": r.to, "via": str(r.via)} for r in node.routes],
            }
        )
    source = topology.source.name if topology.source is not None else "a topology file"
    supernet6 = lab_supernet6(topology)
    anycast6 = topology.service.anycast6
    document = {
        "generated_by": f"python -m lab render --format json (from lab/topologies/{source})",
        "anycast": str(topology.service.anycast),
        "anycast6": None if anycast6 is None else str(anycast6),
        "lab_network": str(lab_supernet(topology)),
        "lab_network6": None if supernet6 is None else str(supernet6),
        "box": topology.vagrant.box,
        "memory": topology.vagrant.memory,
        "nodes": nodes,
    }
    return json.dumps(document, indent=2) + "\n"
