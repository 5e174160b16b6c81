"""The namespace and FRR helpers the interop tests and the lab are built on."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from lab.frr import FrrRouter, wait_until
from lab.netns import Network, list_namespaces
from tests.conftest import require_programs, require_root, tagged

pytestmark = pytest.mark.interop

ROUTER_CONFIG = """\
frr defaults traditional
hostname {name}
router bgp {asn}
 bgp router-id {router_id}
 no bgp ebgp-requires-policy
 neighbor {peer} remote-as {peer_asn}
 neighbor {peer} timers 1 3
 neighbor {peer} timers connect 1
 address-family ipv4 unicast
  network {network}
 exit-address-family
"""


def test_two_frr_routers_peer_across_a_veth_and_teardown_leaves_nothing() -> None:
    require_root()
    require_programs("/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh")
    prefix = tagged("abdt-nf-")
    with tempfile.TemporaryDirectory() as tmp, Network(prefix) as net:
        Path(tmp).chmod(0o755)  # FRR runs as the frr user and must reach its run directory
        a, b = net.add_host("a"), net.add_host("b")
        net.link(a, "eth0", b, "eth0")
        a.add_address("eth0", "10.9.0.1/30")
        b.add_address("eth0", "10.9.0.2/30")
        ra = FrrRouter(a, Path(tmp, "a"), ROUTER_CONFIG.format(
            name="a", asn=65001, router_id="10.9.0.1", peer="10.9.0.2", peer_asn=4290001234,
            network="10.9.0.0/30"))  # fmt: skip
        rb = FrrRouter(b, Path(tmp, "b"), ROUTER_CONFIG.format(
            name="b", asn=4290001234, router_id="10.9.0.2", peer="10.9.0.1", peer_asn=65001,
            network="10.9.0.0/30"))  # fmt: skip
        ra.start()
        rb.start()

        def established() -> bool:
            peers = ra.vtysh_json("show bgp ipv4 unicast summary json").get("peers", {})
            return peers.get("10.9.0.2", {}).get("state") == "Established"

        wait_until(established, timeout=20, what="FRR a and b to establish")
        assert rb.vtysh_json("show bgp ipv4 unicast 10.9.0.0/30 json")["paths"]
    assert not [name for name in list_namespaces() if name.startswith(prefix)]
