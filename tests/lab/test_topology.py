"""The seed topology file says what the original lab's diagram says; bad topologies are refused."""

from __future__ import annotations

import tomllib
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest

from lab.topology import SEED_TOPOLOGY as TOPOLOGY_FILE
from lab.topology import TOPOLOGIES as SHIPPED
from lab.topology import Topology, TopologyError, load, parse, parse_text


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


# --- topology files: what the format adds, and what it refuses ------------------------------------

SMALL = """\
[service]
anycast = "169.254.0.1/32"
anycast6 = "2001:db8:53::1/128"

[nodes.t]
role = "router"
asn = 65001

[nodes.r]
role = "router"
asn = 65010

[nodes.site]
role = "server"
asn = 64601
prepend = 2
med = 50
communities = ["65010:100"]
scope = "local"

[nodes.c]
role = "client"

[[links]]
network = "10.0.1.0/24"
network6 = "2001:db8:1::/64"
relationship = "provider-customer"
ends = ["t", "r"]

[[links]]
network = "10.0.2.0/24"
network6 = "2001:db8:2::/64"
ends = ["r", "site"]

[[links]]
network = "10.0.3.0/24"
network6 = "2001:db8:3::/64"
ends = [
    { node = "r", interface = "eth-c" },
    { node = "c", address = "10.0.3.70", address6 = "2001:db8:3::70" },
]
"""


def small(**changes: str) -> Topology:
    """SMALL with each `old=new` text replacement made (keys are labels only)."""
    text = SMALL
    for change in changes.values():
        old, new = change.split("=>")
        assert old in text, old
        text = text.replace(old, new, 1)
    return parse_text(text, Path("small.toml"))


def test_a_small_topology_derives_addresses_names_routes_and_relationships() -> None:
    topology = small()
    assert [str(i.address) for i in topology.node("c").interfaces] == ["10.0.3.70/24"]
    assert [str(i.ip6) for i in topology.node("r").interfaces] == [
        "2001:db8:1::2", "2001:db8:2::1", "2001:db8:3::1",
    ]  # fmt: skip
    assert [i.name for i in topology.node("r").interfaces] == ["eth-t", "eth-site", "eth-c"]
    assert [(r.to, str(r.via)) for r in topology.node("c").routes] == [
        ("169.254.0.1/32", "10.0.3.1"), ("2001:db8:53::1/128", "2001:db8:3::1"),
    ]  # fmt: skip
    assert [(r.to, str(r.via)) for r in topology.node("site").routes] == [
        ("default", "10.0.2.1"), ("default", "2001:db8:2::1"),
    ]  # fmt: skip
    relationships = {n.node: n.relationship for n in topology.neighbors("r")}
    assert relationships == {"t": "provider", "site": "customer"}
    assert {n.node: n.relationship for n in topology.neighbors("t")} == {"r": "customer"}
    assert topology.node("site").announcement.all_communities() == ("65010:100", "no-export")
    assert topology.node("r").router_id == IPv4Address("10.0.1.2")
    assert [s.name for s in topology.sites] == ["site"] and topology.families == (4, 6)


def test_the_original_lab_has_no_relationships_and_no_ipv6() -> None:
    topology = load()
    assert not topology.uses_relationships()
    assert topology.families == (4,)
    assert all(n.relationship is None for r in topology.routers for n in topology.neighbors(r.name))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('ends = ["t", "r"]=>ends = ["t", "x"]',
         "small.toml:28: links[0].ends[1].node: no node 'x'"),
        ('address = "10.0.3.70"=>address = "10.0.9.70"',
         "small.toml:40: links[2].ends[1].address: 10.0.9.70 is outside 10.0.3.0/24"),
        ('address = "10.0.3.70"=>address = "10.0.3.1"',
         "small.toml:40: links[2].ends[1].address: 10.0.3.1 is the other end's too"),
        ('address6 = "2001:db8:3::70"=>address6 = "2001:db8:9::70"',
         "links[2].ends[1].address6: 2001:db8:9::70 is outside 2001:db8:3::/64"),
        ('ends = ["r", "site"]=>ends = ["t", "site"]\n[[links]]\nnetwork = "10.0.4.0/24"\n'
         'ends = ["t", "site"]',
         "small.toml:36: links[2].ends[0].interface: t already has an interface 'eth-site'"),
        ('network = "10.0.2.0/24"\nnetwork6 = "2001:db8:2::/64"\nends = ["r", "site"]=>'
         'network = "10.0.2.0/24"\nends = ["c", "site"]',
         "a client links to a router only"),
        ('relationship = "provider-customer"=>relationship = "transit"',
         "small.toml:27: links[0].relationship: 'transit' is not one of provider-customer"),
        ('asn = 65010=>asn = 65001',
         "links[0].relationship: t and r are both in AS 65001: iBGP has no relationship"),
        ('[[links]]\nnetwork = "10.0.2.0/24"=>'
         '[[links]]\nrelationship = "peer"\nnetwork = "10.0.2.0/24"',
         "a site is its router's customer"),
        ('prepend = 2=>prepend = "2"', 'small.toml:16: nodes.site.prepend: must be an integer, '
         "not a string '2'"),
        ('prepend = 2=>prepend = 99', "nodes.site.prepend: must be 0..32, not 99"),
        ('med = 50=>mde = 50', "small.toml:17: nodes.site.mde: a server takes no 'mde'"),
        ('scope = "local"=>scope = "regional"', "nodes.site.scope: 'regional' is not one of"),
        ('communities = ["65010:100"]=>communities = ["65010:100000"]',
         "nodes.site.communities[0]: '65010:100000' is neither ASN:VALUE"),
        ('[nodes.c]\nrole = "client"=>[nodes.c]\nrole = "client"\nasn = 1',
         "nodes.c.asn: a client takes no 'asn' (only a server or router does)"),
        ('[nodes.t]\nrole = "router"=>[nodes.t]\nrole = "router"\nroute_reflecter = true',
         "small.toml:7: nodes.t.route_reflecter: a router takes no 'route_reflecter'"),
        ('network = "10.0.1.0/24"=>network = "10.0.1.1/24"',
         "links[0].network: '10.0.1.1/24' has host bits set (the network is 10.0.1.0/24)"),
        ('network = "10.0.2.0/24"=>network = "10.0.1.128/25"',
         "links[1].network: 10.0.1.128/25 overlaps links[0]'s 10.0.1.0/24"),
        ('anycast = "169.254.0.1/32"=>anycast = "10.0.3.1/32"',
         "links[2].ends[0].address: 10.0.3.1 is already the anycast address's"),
        ('anycast6 = "2001:db8:53::1/128"=>anycast6 = "169.254.0.2/32"',
         "small.toml:3: service.anycast6: '169.254.0.2/32' is not an IPv6 address/length"),
        ('[nodes.c]=>[nodes.c]\nsize = 3', "small.toml:22: nodes.c.size: a client takes no 'size'"),
        ('[service]=>[servcie]\nx = 1\n[service]', "(top): ... "),
        ('[nodes.t]\nrole = "router"=>[nodes.t]\nrole = "switch"',
         "nodes.t.role: 'switch' is not one of server, router, client"),
        ('network = "10.0.3.0/24"=>network = 42',
         "links[2].network: must be a string, not an integer 42"),
    ],
)  # fmt: skip
def test_a_bad_topology_file_is_refused_naming_file_line_key_and_reason(
    change: str, message: str
) -> None:
    if message == "(top): ... ":
        message = "small.toml:1: servcie: unknown key"
    with pytest.raises(TopologyError) as caught:
        small(change=change)
    assert message in str(caught.value)


def test_a_site_without_a_router_is_refused() -> None:
    text = SMALL.replace(
        '[[links]]\nnetwork = "10.0.2.0/24"\nnetwork6 = "2001:db8:2::/64"\nends = ["r", "site"]\n',
        "",
    )
    with pytest.raises(TopologyError, match=r"nodes.site: a site needs a link to a router"):
        parse_text(text, Path("small.toml"))


def test_routers_of_one_as_need_ibgp_between_them() -> None:
    text = (
        SMALL
        + """
[nodes.r2]
role = "router"
asn = 65010

[nodes.r3]
role = "router"
asn = 65010

[[links]]
network = "10.0.5.0/24"
ends = ["r", "r2"]

[[links]]
network = "10.0.6.0/24"
ends = ["r2", "r3"]
"""
    )
    with pytest.raises(TopologyError, match="AS 65010: r and r3 have no iBGP session"):
        parse_text(text, Path("small.toml"))
    reflected = text.replace(
        '[nodes.r2]\nrole = "router"', '[nodes.r2]\nrole = "router"\nroute_reflector = true'
    )
    topology = parse_text(reflected, Path("small.toml"))
    assert [n.reflector_client for n in topology.neighbors("r2")] == [True, True]


def test_a_missing_relationship_is_refused_once_other_links_have_one() -> None:
    text = (
        SMALL
        + """
[nodes.u]
role = "router"
asn = 65020

[[links]]
network = "10.0.7.0/24"
ends = ["t", "u"]
"""
    )
    needs = r"links\[3\]: eBGP between t and u needs a relationship"
    with pytest.raises(TopologyError, match=needs):
        parse_text(text, Path("small.toml"))


def test_not_toml_and_a_missing_file_are_refused() -> None:
    with pytest.raises(TopologyError, match=r"small.toml: not valid TOML"):
        parse_text("[service\n", Path("small.toml"))
    with pytest.raises(TopologyError, match=r"nosuch.toml: cannot read"):
        load(Path("/nonexistent/nosuch.toml"))


@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_topology_loads(path: Path) -> None:
    topology = load(path)
    assert topology.sites and topology.clients
