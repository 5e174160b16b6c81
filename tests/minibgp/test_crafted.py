"""The crafted messages of tests/minibgp/crafted.py given to minibgp in the router's place
(AS 4290001234 at 192.168.57.10), byte for byte as FRR gets them in the interop test: what is
answered, what is stored, what the log says. docs/minibgp.md has FRR's behaviour beside it.
"""

from __future__ import annotations

import logging
from ipaddress import ip_address, ip_network

import pytest

from minibgp import session_log
from minibgp.fsm import State
from minibgp.peer import Peer
from minibgp.settings import SessionSettings
from minibgp.wire.header import MessageReader
from minibgp.wire.nlri import IPV4_UNICAST, IPV6_UNICAST
from tests.minibgp import crafted
from tests.minibgp.crafted import KEEPALIVE, MARKER, OPEN, UPDATES, octets

BAD_PEER_AS = octets(f"{MARKER} 0015 03 02 02")  # NOTIFICATION OPEN Message Error / Bad Peer AS


def router() -> Peer:
    """minibgp as the router, its TCP connection to the crafting peer up; our OPEN is sent."""
    peer = Peer(
        SessionSettings(
            local_as=crafted.RECEIVER_AS,
            router_id=crafted.RECEIVER,
            peer_address=crafted.SENDER,
            peer_as=crafted.SENDER_AS,
        )
    )
    peer.start(now=0.0)
    peer.tcp_connected(peer.main, ip_address(crafted.RECEIVER), now=0.0)
    peer.data_to_send()
    return peer


def sent(peer: Peer) -> bytes:
    return b"".join(data for _, data in peer.data_to_send())


def logged(peer: Peer, caplog: pytest.LogCaptureFixture) -> str:
    """What the speaker's log says about the events so far."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="minibgp"):
        while (output := peer.next_event()) is not None:
            session_log.log_event(peer, *output)
    return caplog.text


def established() -> Peer:
    peer = router()
    peer.receive_data(peer.main, OPEN + KEEPALIVE, now=0.0)
    assert peer.connection.state is State.Established
    negotiated = peer.connection.negotiated
    assert negotiated is not None and negotiated.families == frozenset({IPV4_UNICAST})
    sent(peer)
    while peer.next_event() is not None:
        pass
    return peer


@pytest.mark.parametrize(
    "peer_open",
    [crafted.OPEN_MY_AS_0, crafted.OPEN_CAPABILITY_AS_0],
    ids=["My AS 0", "capability AS 0"],
)
def test_an_open_with_as_0_is_answered_bad_peer_as(peer_open: bytes) -> None:
    peer = router()
    peer.receive_data(peer.main, peer_open, now=0.0)
    assert sent(peer) == BAD_PEER_AS  # RFC 7607 §2, as FRR answers it
    assert peer.connection.state is State.Idle


def test_my_as_other_than_as_trans_beside_the_capability_is_taken_from_the_capability() -> None:
    """RFC 6793 §4.1: the capability carries the AS. (FRR answers Bad Peer AS here.)"""
    peer = router()
    peer.receive_data(peer.main, crafted.OPEN_MY_AS_MISMATCH + KEEPALIVE, now=0.0)
    assert peer.connection.state is State.Established
    negotiated = peer.connection.negotiated
    assert negotiated is not None and negotiated.peer_as == crafted.SENDER_AS


OUTCOMES = {
    # name: (stored, what the log says)
    "AS 0 in AS_PATH": (False, "malformed UPDATE treated as withdraw (RFC 7606): AS_PATH: AS 0"),
    "AS 0 in AGGREGATOR": (True, "received 10.0.2.0/24 (AS path 64520, next hop 192.168.57.100)"),
    "AS_CONFED_SEQUENCE from an external peer": (
        False, "treated as withdraw (RFC 7606): AS_PATH: confederation segments from an external"
    ),
    "AS_CONFED_SET from an external peer": (
        False, "treated as withdraw (RFC 7606): AS_PATH: confederation segments from an external"
    ),
    "NEXT_HOP is the receiver's address": (
        False, "ipv4 unicast routes treated as withdrawn: next hop 192.168.57.10 is our own "
        "address (RFC 4271 §6.3)",
    ),
    "IPv6 unicast not negotiated": (
        False, "ipv6 unicast routes ignored: not negotiated (RFC 4760 §8)"
    ),
    "well-formed": (True, "received 10.0.9.0/24 (AS path 64520, next hop 192.168.57.100)"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(UPDATES))
def test_each_crafted_update_keeps_the_session_up(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    peer = established()
    prefix, message = UPDATES[name]
    peer.receive_data(peer.main, message, now=1.0)
    stored, log_line = OUTCOMES[name]
    assert (peer.rib_in.get(ip_network(prefix)) is not None) == stored
    assert log_line in logged(peer, caplog)
    assert peer.connection.state is State.Established
    assert sent(peer) == b""  # no NOTIFICATION
    assert peer.rib_in.count(IPV6_UNICAST) == 0


def test_an_aggregator_with_as_0_is_discarded_and_the_route_kept() -> None:
    peer = established()
    prefix, message = crafted.AS_0_IN_AGGREGATOR
    peer.receive_data(peer.main, message, now=1.0)
    attributes = peer.rib_in.get(ip_network(prefix))
    assert attributes is not None and attributes.aggregator is None
    assert attributes.as_path.asns == [crafted.SENDER_AS]


def test_a_route_with_our_own_next_hop_replaces_the_peers_earlier_route() -> None:
    """RFC 4271 §6.3 says ignore the route; the peer has replaced its earlier one, so the
    prefix goes (as FRR removes its path)."""
    peer = established()
    prefix, unusable = crafted.NEXT_HOP_IS_RECEIVER
    usable = unusable.replace(bytes.fromhex("400304c0a8390a"), bytes.fromhex("400304c0a83964"))
    peer.receive_data(peer.main, usable, now=1.0)
    assert peer.rib_in.get(ip_network(prefix)) is not None
    peer.receive_data(peer.main, unusable, now=2.0)
    assert peer.rib_in.get(ip_network(prefix)) is None
    assert peer.connection.state is State.Established


def test_every_crafted_message_is_whole() -> None:
    opens = [crafted.OPEN_MY_AS_0, crafted.OPEN_CAPABILITY_AS_0, crafted.OPEN_MY_AS_MISMATCH]
    messages = [OPEN, *opens, KEEPALIVE, *(message for _, message in UPDATES.values())]
    for message in messages:
        reader = MessageReader()
        reader.feed(message)
        assert len(list(reader)) == 1 and not reader.unread()
