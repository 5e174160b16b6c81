"""The lab's topology: the model (`model.py`) and the files it is read from (`reader.py`).

    from lab.topology import load
    topology = load("lab/topologies/global.toml")
    topology.sites, topology.routers, topology.clients, topology.neighbors("transit-a")

Only the standard library is used: the Vagrant machines run this with Debian 12's python3.
"""

from .model import (
    LINK_RELATIONSHIPS,
    RELATIONSHIPS,
    ROLES,
    SCOPES,
    Announcement,
    BgpNeighbor,
    BgpTimers,
    Failover,
    Family,
    Interface,
    IPAddress,
    Link,
    LinkRelationship,
    Node,
    Record,
    Relationship,
    Role,
    Route,
    Scope,
    Service,
    Topology,
    TopologyError,
    VagrantSettings,
)
from .reader import SEED_TOPOLOGY, TOPOLOGIES, load, parse, parse_text

__all__ = [
    "LINK_RELATIONSHIPS",
    "RELATIONSHIPS",
    "ROLES",
    "SCOPES",
    "SEED_TOPOLOGY",
    "TOPOLOGIES",
    "Announcement",
    "BgpNeighbor",
    "BgpTimers",
    "Failover",
    "Family",
    "IPAddress",
    "Interface",
    "Link",
    "LinkRelationship",
    "Node",
    "Record",
    "Relationship",
    "Role",
    "Route",
    "Scope",
    "Service",
    "Topology",
    "TopologyError",
    "VagrantSettings",
    "load",
    "parse",
    "parse_text",
]
