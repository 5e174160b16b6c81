"""The asyncio shell for BFD: single-hop sessions over UDP (RFC 5881), one per peer address.

    endpoint = BfdEndpoint("192.168.57.100")
    endpoint.start()
    endpoint.add_peer("192.168.57.10", SessionParameters(100_000, 100_000, 3), on_state_change)
    ...
    endpoint.close()            # every session says AdminDown first (RFC 5880 §6.8.16)

`on_state_change` is called with `SessionUp` or `SessionDown` from `minibgp.bfd.session`. The
endpoint only moves bytes and time: every protocol decision is made by `Session`.

RFC 5881 rules kept here: Control packets go to UDP port 3784 (§4) from one source port in
49152-65535 (§4); they are sent with TTL / Hop Limit 255, and packets that arrive with anything
else are dropped (§5, the GTSM check, read from IP_RECVTTL / IPV6_RECVHOPLIMIT ancillary data).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from minibgp.bfd.packet import BfdPacketError, ControlPacket, State
from minibgp.bfd.session import BfdEvent, Session, SessionParameters
from minibgp.timer import CoreTimer

BFD_CONTROL_PORT = 3784  # RFC 5881 §4
SOURCE_PORTS = range(49152, 65536)  # RFC 5881 §4
REQUIRED_TTL = 255  # RFC 5881 §5
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)  # <linux/in.h>; Python 3.11 does not name it
_MAX_PACKETS_PER_WAKEUP = 64
_ANCILLARY_SIZE = socket.CMSG_SPACE(4)

logger = logging.getLogger(__name__)

StateChangeCallback = Callable[[BfdEvent], None]


@dataclass
class BfdPeer:
    """One configured peer: its address, its session, and who to tell about changes."""

    address: str
    session: Session
    on_state_change: StateChangeCallback
    timer: CoreTimer | None = field(default=None, repr=False)


class BfdEndpoint:
    """BFD sessions to single-hop peers, sharing one receive and one transmit socket."""

    def __init__(
        self,
        local_address: str = "0.0.0.0",
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        port: int = BFD_CONTROL_PORT,
        rng: random.Random | None = None,
    ) -> None:
        self.local_address = local_address
        self.port = port  # listened on, and sent to (tests use another than 3784)
        self._loop = loop
        self._rng = rng or random.SystemRandom()
        self._family = (
            socket.AF_INET6 if ipaddress.ip_address(local_address).version == 6 else socket.AF_INET
        )
        self._peers: dict[str, BfdPeer] = {}
        self._by_discriminator: dict[int, BfdPeer] = {}
        self._rx: socket.socket | None = None
        self._tx: socket.socket | None = None
        self.dropped: dict[str, int] = {}  # reason -> count, for status and tests

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Open the sockets and start every session added so far."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        self._rx = self._open_receive_socket()
        self._tx = self._open_transmit_socket()
        self._loop.add_reader(self._rx.fileno(), self._on_readable)
        for peer in self._peers.values():
            self._service(peer)

    def close(self) -> None:
        """Say AdminDown on every session (RFC 5880 §6.8.16), then close the sockets."""
        for address in list(self._peers):
            self.remove_peer(address)
        if self._rx is not None and self._loop is not None:
            self._loop.remove_reader(self._rx.fileno())
        for sock in (self._rx, self._tx):
            if sock is not None:
                sock.close()
        self._rx = self._tx = None

    @property
    def source_port(self) -> int | None:
        """The UDP source port of every packet we send (RFC 5881 §4), once started."""
        return self._tx.getsockname()[1] if self._tx is not None else None

    # -- peers -------------------------------------------------------------------------------

    def add_peer(
        self,
        address: str,
        parameters: SessionParameters,
        on_state_change: StateChangeCallback,
    ) -> BfdPeer:
        """Run a session to `address`; `on_state_change` hears SessionUp / SessionDown."""
        address = str(ipaddress.ip_address(address))
        if address in self._peers:
            raise ValueError(f"a BFD session to {address} exists already")
        session = Session(self._new_discriminator(), parameters, random=self._rng.random)
        peer = BfdPeer(address, session, on_state_change)
        self._peers[address] = peer
        self._by_discriminator[session.local_discriminator] = peer
        if self._rx is not None:
            self._service(peer)
        return peer

    def remove_peer(self, address: str) -> None:
        """End the session to `address`, telling the peer AdminDown first."""
        peer = self._peers.pop(str(ipaddress.ip_address(address)))
        del self._by_discriminator[peer.session.local_discriminator]
        if peer.timer is not None:
            peer.timer.cancel()
        peer.session.admin_down()
        if self._tx is not None and self._loop is not None:
            for data in peer.session.packets_to_send(now=self._loop.time()):
                self._send(peer, data)

    def peer(self, address: str) -> BfdPeer:
        return self._peers[str(ipaddress.ip_address(address))]

    @property
    def peers(self) -> list[BfdPeer]:
        return list(self._peers.values())

    def _new_discriminator(self) -> int:
        """A nonzero discriminator unique on this endpoint (RFC 5880 §6.3)."""
        while True:
            discriminator = self._rng.getrandbits(32)
            if discriminator and discriminator not in self._by_discriminator:
                return discriminator

    # -- moving bytes and time ---------------------------------------------------------------

    def _service(self, peer: BfdPeer) -> None:
        """Send what the session has due, re-arm its timer, then pass on its events."""
        assert self._loop is not None
        now = self._loop.time()
        for data in peer.session.packets_to_send(now=now):
            self._send(peer, data)
        if peer.timer is None:
            peer.timer = CoreTimer(self._loop, lambda: self._on_timer(peer))
        peer.timer.rearm(peer.session.get_timer())
        while (event := peer.session.next_event()) is not None:
            logger.info("BFD %s: %s", peer.address, event)
            try:
                peer.on_state_change(event)
            except Exception:
                logger.exception("BFD state change callback for %s failed", peer.address)

    def _on_timer(self, peer: BfdPeer) -> None:
        if self._peers.get(peer.address) is not peer or self._loop is None:
            return
        peer.session.handle_timer(now=self._loop.time())
        self._service(peer)

    def _send(self, peer: BfdPeer, data: bytes) -> None:
        assert self._tx is not None
        try:
            self._tx.sendto(data, (peer.address, self.port))
        except OSError as error:  # no route, buffer full: a lost packet, as on the wire
            logger.debug("BFD send to %s failed: %s", peer.address, error)

    def _on_readable(self) -> None:
        assert self._rx is not None and self._loop is not None
        for _ in range(_MAX_PACKETS_PER_WAKEUP):
            try:
                data, ancillary, _flags, source = self._rx.recvmsg(512, _ANCILLARY_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                logger.debug("BFD receive failed: %s", error)
                return
            self._receive(data, _received_ttl(ancillary), str(source[0]))

    def _receive(self, data: bytes, ttl: int | None, source: str) -> None:
        assert self._loop is not None
        if ttl != REQUIRED_TTL:  # RFC 5881 §5
            self._drop("ttl")
            return
        try:
            packet = ControlPacket.decode(data)
        except BfdPacketError as error:
            logger.debug("BFD packet from %s discarded: %s", source, error)
            self._drop("malformed")
            return
        # RFC 5880 §6.8.6: select the session by Your Discriminator, or, when that is zero, by
        # the source address (RFC 5881 §3); it must come from that session's peer either way.
        source = str(ipaddress.ip_address(source.split("%")[0]))
        if packet.your_discriminator:
            peer = self._by_discriminator.get(packet.your_discriminator)
        else:
            peer = self._peers.get(source)
        if peer is None or peer.address != source:
            self._drop("no session")
            return
        if not peer.session.receive_control_packet(packet, now=self._loop.time()):
            self._drop("discarded by session")
        self._service(peer)

    def _drop(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1

    # -- sockets -----------------------------------------------------------------------------

    def _open_receive_socket(self) -> socket.socket:
        sock = socket.socket(self._family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self._family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
            else:
                sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
            sock.bind((self.local_address, self.port))
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        return sock

    def _open_transmit_socket(self) -> socket.socket:
        sock = socket.socket(self._family, socket.SOCK_DGRAM)
        try:
            if self._family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, REQUIRED_TTL)
            else:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, REQUIRED_TTL)
            self._bind_source_port(sock)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        return sock

    def _bind_source_port(self, sock: socket.socket) -> None:
        """Bind to a free port in 49152-65535 (RFC 5881 §4), trying a bounded number."""
        for _ in range(64):
            port = self._rng.choice(SOURCE_PORTS)
            with contextlib.suppress(OSError):
                sock.bind((self.local_address, port))
                return
        raise OSError(f"no free UDP source port in 49152-65535 on {self.local_address}")


class BfdSessions:
    """Every BFD session of a speaker: one `BfdEndpoint` per local address, opened on demand.

    sessions = BfdSessions()                   # in the running loop
    sessions.add_peer("192.168.57.10", parameters, on_state_change)
    sessions.close()
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop | None = None, *, port: int = BFD_CONTROL_PORT
    ) -> None:
        self._loop = loop
        self._port = port
        self._endpoints: dict[str, BfdEndpoint] = {}
        self._endpoint_of_peer: dict[str, BfdEndpoint] = {}

    def add_peer(
        self,
        address: str,
        parameters: SessionParameters,
        on_state_change: StateChangeCallback,
        local_address: str | None = None,
    ) -> BfdPeer:
        """Run a session to `address` from `local_address` (default: any local address of the
        peer's family, the kernel choosing the source)."""
        peer_address = ipaddress.ip_address(address)
        if local_address is None:
            local_address = "::" if peer_address.version == 6 else "0.0.0.0"
        endpoint = self._endpoints.get(local_address)
        if endpoint is None:
            endpoint = BfdEndpoint(local_address, self._loop, port=self._port)
            endpoint.start()
            self._endpoints[local_address] = endpoint
        peer = endpoint.add_peer(address, parameters, on_state_change)
        self._endpoint_of_peer[peer.address] = endpoint
        return peer

    def remove_peer(self, address: str) -> None:
        """End the session to `address` (the peer hears AdminDown)."""
        self._endpoint_of_peer.pop(str(ipaddress.ip_address(address))).remove_peer(address)

    @property
    def peers(self) -> list[BfdPeer]:
        return [peer for endpoint in self._endpoints.values() for peer in endpoint.peers]

    def dropped(self) -> dict[str, int]:
        """Packets discarded by every endpoint, by reason (ttl, malformed, no session, ...)."""
        total: dict[str, int] = {}
        for endpoint in self._endpoints.values():
            for reason, count in endpoint.dropped.items():
                total[reason] = total.get(reason, 0) + count
        return total

    def close(self) -> None:
        """AdminDown to every peer; close every socket."""
        for endpoint in self._endpoints.values():
            endpoint.close()
        self._endpoints.clear()
        self._endpoint_of_peer.clear()


def _received_ttl(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    """The IPv4 TTL or IPv6 Hop Limit from recvmsg's ancillary data, or None if absent."""
    for level, kind, value in ancillary:
        ttl_option = (level, kind) in (
            (socket.IPPROTO_IP, socket.IP_TTL),
            (socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT),
        )
        if ttl_option and len(value) >= 4:
            return int(struct.unpack("=i", value[:4])[0])
    return None


__all__ = [
    "BFD_CONTROL_PORT",
    "BfdEndpoint",
    "BfdPeer",
    "BfdSessions",
    "SessionParameters",
    "State",
]
