"""The topology file says what DESIGN.md's table says, and bad topologies are refused."""

from __future__ import annotations

import tomllib
from ipaddress import IPv4Address, IPv4Interface

import pytest

from lab.topology import TopologyError
from lab.topology_file import SEED_TOPOLOGY as TOPOLOGY_FILE
from lab.topology_file import load, parse


def test_nodes_addresses_and_ases_are_the_seeds() -> None:
    topology = load()
    addresses = {
        name: sorted(str(i.address) for i in node.interfaces)
        for name, node in topology.nodes.items()
    }
    assert addresses == {
        "server1": ["192.168.57.100/24"],
        "server2": ["192.168.58.100/24"],
        "router1": ["192.168.57.10/24", "192.168.59.30/24", "192.168.60.50/24"],
        "router2": ["192.168.58.10/24", "192.168.59.40/24", "192.168.61.50/24"],
        "client1": ["192.168.60.70/24"],
        "client2": ["192.168.61.70/24"],
    }
    assert {name: node.asn for name, node in topology.nodes.items()} == {
        "server1": 64520,
        "server2": 64530,
        "router1": 4290001234,
        "router2": 4290001234,
        "client1": None,
        "client2": None,
    }
    assert topology.service.anycast == IPv4Interface("169.254.0.1/32")


def test_clients_route_the_anycast_address_to_their_router_and_servers_default_to_theirs() -> None:
    topology = load()
    routes = {
        name: [(r.to, str(r.via)) for r in node.routes] for name, node in topology.nodes.items()
    }
    assert routes["client1"] == [("169.254.0.1/32", "192.168.60.50")]
    assert routes["client2"] == [("169.254.0.1/32", "192.168.61.50")]
    assert routes["server1"] == [("default", "192.168.57.10")]
    assert routes["server2"] == [("default", "192.168.58.10")]


def test_bgp_sessions_are_ebgp_to_the_server_and_ibgp_between_routers() -> None:
    topology = load()
    router1 = {(n.node, str(n.address), n.asn, n.internal) for n in topology.neighbors("router1")}
    assert router1 == {
        ("server1", "192.168.57.100", 64520, False),
        ("router2", "192.168.59.40", 4290001234, True),
    }
    [server1] = topology.neighbors("server1")
    assert (server1.node, server1.address, server1.internal) == (
        "router1",
        IPv4Address("192.168.57.10"),
        False,
    )
    assert topology.neighbors("client1") == []


def test_next_hops_are_mapped_back_to_their_node() -> None:
    topology = load()
    assert topology.owner_of("192.168.58.100") == "server2"
    assert topology.owner_of("10.0.0.1") is None
    assert topology.interface_towards("router1", "client1").name == "eth-client1"


def _data() -> dict:  # type: ignore[type-arg]
    with TOPOLOGY_FILE.open("rb") as f:
        return tomllib.load(f)


def test_a_link_to_an_unknown_node_is_refused() -> None:
    data = _data()
    data["links"][0]["ends"][0]["node"] = "server9"
    with pytest.raises(TopologyError, match="server9"):
        parse(data)


def test_an_address_outside_its_link_is_refused() -> None:
    data = _data()
    data["links"][0]["ends"][0]["address"] = "10.1.1.1"
    with pytest.raises(TopologyError, match="outside"):
        parse(data)


def test_a_route_via_an_unreachable_next_hop_is_refused() -> None:
    data = _data()
    data["nodes"]["client1"]["routes"][0]["via"] = "192.168.61.50"
    with pytest.raises(TopologyError, match="next hop"):
        parse(data)


def test_a_router_without_an_as_is_refused() -> None:
    data = _data()
    del data["nodes"]["router1"]["asn"]
    with pytest.raises(TopologyError, match="asn"):
        parse(data)
