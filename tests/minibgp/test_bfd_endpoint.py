"""The BFD endpoint on loopback: two endpoints come up, TTL-less packets are dropped (RFC 5881)."""

from __future__ import annotations

import asyncio
import socket

from minibgp.bfd.endpoint import SOURCE_PORTS, BfdEndpoint, BfdSessions
from minibgp.bfd.packet import ControlPacket, Diagnostic, State
from minibgp.bfd.session import BfdEvent, SessionDown, SessionParameters, SessionUp

A, B = "127.66.0.1", "127.66.0.2"
PORT = 38784  # not 3784: other tests on this machine may run real BFD
PARAMETERS = SessionParameters(50_000, 50_000, 3)


async def wait_for(condition: object, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def test_two_endpoints_come_up_and_admin_down_is_heard() -> None:
    a, b = BfdEndpoint(A, port=PORT), BfdEndpoint(B, port=PORT)
    a_events: list[BfdEvent] = []
    b_events: list[BfdEvent] = []
    a.add_peer(B, PARAMETERS, a_events.append)
    b.add_peer(A, PARAMETERS, b_events.append)
    a.start()
    b.start()
    try:
        assert a.source_port in SOURCE_PORTS
        await wait_for(lambda: a_events and b_events)
        assert a_events == b_events == [SessionUp()]
        await wait_for(lambda: not a.peer(B).session.poll_in_progress)
        assert a.peer(B).session.transmit_interval == 0.05
        a.remove_peer(B)  # says AdminDown
        await wait_for(lambda: len(b_events) == 2)
        assert b_events[1] == SessionDown(
            Diagnostic.NEIGHBOR_SIGNALED_SESSION_DOWN, remote_admin_down=True
        )
    finally:
        a.close()
        b.close()


async def test_packets_not_sent_with_ttl_255_are_dropped() -> None:
    endpoint = BfdEndpoint(A, port=PORT)
    endpoint.add_peer(B, PARAMETERS, lambda event: None)
    endpoint.start()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sender.bind((B, 0))
        sender.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 64)
        packet = ControlPacket(
            state=State.DOWN,
            detect_mult=3,
            my_discriminator=1,
            your_discriminator=0,
            desired_min_tx_interval=1_000_000,
            required_min_rx_interval=50_000,
        )
        sender.sendto(packet.encode(), (A, PORT))
        await wait_for(lambda: endpoint.dropped.get("ttl"))
        assert endpoint.peer(B).session.state == State.DOWN
        sender.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
        sender.sendto(packet.encode(), (A, PORT))
        await wait_for(lambda: endpoint.peer(B).session.state == State.INIT)
        sender.sendto(b"\x20\x40garbage", (A, PORT))
        await wait_for(lambda: endpoint.dropped.get("malformed"))
    finally:
        sender.close()
        endpoint.close()


async def test_bfd_sessions_open_one_endpoint_per_local_address() -> None:
    a, b = BfdSessions(port=PORT), BfdSessions(port=PORT)
    a_events: list[BfdEvent] = []
    b_events: list[BfdEvent] = []
    try:
        a.add_peer(B, PARAMETERS, a_events.append, local_address=A)
        b.add_peer(A, PARAMETERS, b_events.append, local_address=B)
        await wait_for(lambda: a_events and b_events)
        assert a_events == b_events == [SessionUp()]
        assert [peer.address for peer in a.peers] == [B]
        a.remove_peer(B)
        await wait_for(lambda: len(b_events) == 2)
        assert a.peers == []
    finally:
        a.close()
        b.close()
