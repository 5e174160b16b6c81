"""A lab node's links as netlink reports them, and which namespace a name stands for.

The page's probes and its connections to the servers' metrics use sockets made inside the nodes'
namespaces (`lab.netns.socket_in`), so that the page runs no process inside the lab.
`links_of()` opens a netlink socket the same way, asks for every interface
(RTM_GETLINK dump, RFC 3549 §3.1.1) and closes it again: a socket kept open would keep a deleted
namespace alive.
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass

from ..netns import NETNS_DIR, socket_in


def namespace_identity(namespace: str) -> int | None:
    """The inode of a named namespace (a new namespace of the same name has another), or None."""
    try:
        return os.stat(NETNS_DIR / namespace).st_ino
    except OSError:
        return None


# --- netlink: the interfaces of a namespace --------------------------------------------------

NETLINK_ROUTE = 0
RTM_NEWLINK, RTM_GETLINK = 16, 18
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
IFF_UP, IFF_LOWER_UP = 0x1, 0x10000
IFLA_IFNAME, IFLA_QDISC = 3, 6
NLMSG_HEADER = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
IFINFOMSG = struct.Struct("=BxHiII")  # family, device type, index, flags, change
RTATTR = struct.Struct("=HH")  # length, type


@dataclass(frozen=True)
class LinkState:
    """One interface as the kernel sees it."""

    name: str
    admin_up: bool  # IFF_UP: set up by `ip link set X up`
    carrier: bool  # IFF_LOWER_UP: the other end of the veth is up too
    qdisc: str  # the root queueing discipline: "blackhole" drops everything sent

    @property
    def passes_traffic(self) -> bool:
        return self.admin_up and self.carrier and self.qdisc != "blackhole"


def getlink_request(sequence: int) -> bytes:
    """An RTM_GETLINK dump request for every interface."""
    body = IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
    length = NLMSG_HEADER.size + len(body)
    return NLMSG_HEADER.pack(length, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, sequence, 0) + body


def parse_links(data: bytes) -> tuple[list[LinkState], bool]:
    """The interfaces in one datagram of a dump answer, and whether the dump is done."""
    links: list[LinkState] = []
    offset = 0
    while offset + NLMSG_HEADER.size <= len(data):
        length, kind, _, _, _ = NLMSG_HEADER.unpack_from(data, offset)
        if length < NLMSG_HEADER.size or offset + length > len(data):
            raise ValueError("netlink: truncated message")
        if kind == NLMSG_DONE:
            return links, True
        if kind == NLMSG_ERROR:
            (error,) = struct.unpack_from("=i", data, offset + NLMSG_HEADER.size)
            raise OSError(-error, os.strerror(-error))
        if kind == RTM_NEWLINK:
            links.append(_link_state(data[offset + NLMSG_HEADER.size : offset + length]))
        offset += (length + 3) & ~3
    return links, False


def _link_state(body: bytes) -> LinkState:
    _, _, _, flags, _ = IFINFOMSG.unpack_from(body)
    attributes: dict[int, bytes] = {}
    offset = IFINFOMSG.size
    while offset + RTATTR.size <= len(body):
        length, kind = RTATTR.unpack_from(body, offset)
        if length < RTATTR.size:
            break
        attributes[kind] = body[offset + RTATTR.size : offset + length]
        offset += (length + 3) & ~3
    return LinkState(
        name=attributes.get(IFLA_IFNAME, b"").rstrip(b"\0").decode(errors="replace"),
        admin_up=bool(flags & IFF_UP),
        carrier=bool(flags & IFF_LOWER_UP),
        qdisc=attributes.get(IFLA_QDISC, b"").rstrip(b"\0").decode(errors="replace"),
    )


def links_of(namespace: str, timeout: float = 1.0) -> dict[str, LinkState]:
    """Every interface of `namespace` by name (blocking, a fraction of a millisecond)."""
    sock = socket_in(namespace, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    with sock:
        sock.settimeout(timeout)
        sock.bind((0, 0))
        sock.send(getlink_request(1))
        found: dict[str, LinkState] = {}
        done = False
        while not done:
            links, done = parse_links(sock.recv(65536))
            found.update((link.name, link) for link in links)
        return found
