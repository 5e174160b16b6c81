"""The Vagrantfile's input: the machines of a topology, their links, memory and CPUs.

The Vagrantfile is Ruby and reads JSON, so this is committed as lab/vagrant/machines.json
(`python -m lab.vagrant machines > lab/vagrant/machines.json`; a test keeps it in sync).
"""

from __future__ import annotations

import json
from ipaddress import IPv4Network
from pathlib import Path

from ..topology import Topology

MACHINES_FILE = Path(__file__).with_name("machines.json")


def link_name(network: IPv4Network) -> str:
    """A link's name as a VirtualBox internal network or a libvirt network: its prefix."""
    return f"{network.network_address}-{network.prefixlen}"


def machines_json(topology: Topology) -> str:
    """One entry per node: its role and its interfaces, each on a named link."""
    machines = []
    for node in topology.nodes.values():
        interfaces = [
            {
                "ip": str(interface.ip),
                "netmask": str(interface.address.netmask),
                "link": link_name(interface.address.network),
            }
            for interface in node.interfaces
        ]
        machines.append({"name": node.name, "role": node.role, "interfaces": interfaces})
    document = {
        "generated_by": "python -m lab.vagrant machines (from the lab's topology)",
        "box": topology.vagrant.box,
        "memory": topology.vagrant.memory,
        "cpus": topology.vagrant.cpus,
        "machines": machines,
    }
    return json.dumps(document, indent=2) + "\n"
