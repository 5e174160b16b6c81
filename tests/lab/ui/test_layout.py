"""The page's graph layout: any topology, deterministic, servers above clients."""

from __future__ import annotations

import itertools
import math

from lab.topology import load
from lab.ui.layout import hop_distances, layout


def _seed() -> tuple[list[str], list[tuple[str, str]], dict[str, str]]:
    topology = load()
    edges = [(link.ends[0].node, link.ends[1].node) for link in topology.links]
    return list(topology.nodes), edges, {n.name: n.role for n in topology.nodes.values()}


def test_hop_distances_and_components() -> None:
    distances = hop_distances(["a", "b", "c", "d"], [("a", "b"), ("b", "c")])
    assert distances[0].tolist() == [0, 1, 2, 3]  # d is apart: one more than the farthest
    assert distances[2][0] == 2


def test_seed_servers_on_top_clients_below_first_server_left() -> None:
    places = layout(*_seed())
    assert places["server1"][1] < places["router1"][1] < places["client1"][1]
    assert places["server2"][1] < places["router2"][1] < places["client2"][1]
    assert places["server1"][0] < places["server2"][0]
    assert places["router1"][0] < places["router2"][0]
    for x, y in places.values():
        assert 0 <= x <= 1 and 0 <= y <= 1


def test_deterministic() -> None:
    assert layout(*_seed()) == layout(*_seed())


def test_large_ring_of_routers_spreads_every_node() -> None:
    """130 nodes: 100 routers in a ring with chords, 10 servers and 20 clients."""
    routers = [f"r{i}" for i in range(100)]
    edges = [(routers[i], routers[(i + 1) % 100]) for i in range(100)]
    edges += [(routers[i], routers[(i * 7 + 13) % 100]) for i in range(0, 100, 5)]
    edges += [(f"s{i}", routers[i * 10]) for i in range(10)]
    edges += [(f"c{i}", routers[i * 5 + 2]) for i in range(20)]
    nodes = routers + [f"s{i}" for i in range(10)] + [f"c{i}" for i in range(20)]
    roles = {n: {"r": "router", "s": "server", "c": "client"}[n[0]] for n in nodes}
    places = layout(nodes, edges, roles)
    assert set(places) == set(nodes)
    closest = min(math.dist(places[a], places[b]) for a, b in itertools.combinations(nodes, 2))
    assert closest > 0.002  # no two nodes on top of each other
    assert max(p[1] for n, p in places.items() if roles[n] == "server") < min(
        p[1] for n, p in places.items() if roles[n] == "client"
    )


def test_nodes_with_the_same_neighbours_are_drawn_apart() -> None:
    """A chain n0 … n7, and b and c both between n2 and n3: each of b and c is as far as the
    other from every node."""
    chain = [f"n{i}" for i in range(8)]
    edges = [(a, b) for a, b in itertools.pairwise(chain)]
    edges += [("n2", "b"), ("n2", "c"), ("b", "n3"), ("c", "n3")]
    places = layout([*chain, "b", "c"], edges)
    assert math.dist(places["b"], places["c"]) > 0.05


def test_tiny_graphs() -> None:
    assert layout([], []) == {}
    assert layout(["a"], []) == {"a": (0.5, 0.5)}
    two = layout(["a", "b"], [("a", "b")])
    assert two["a"] != two["b"]
