"""The sockets of BGP sessions, and the Linux options they use: TCP MD5 signatures and the TTL
security check.

- TCP MD5 (RFC 2385): the kernel signs every segment to and checks every segment from one peer
  address with a shared key. Set on the listening socket (one key per peer) and on each
  connecting socket, before the SYN.
- GTSM, the Generalized TTL Security Mechanism (RFC 5082 §3): send with TTL 255 and drop what
  arrives with a TTL below 255 minus the number of hops the peer may be away.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterable

from minibgp.wire.nlri import IPAddress

# Option numbers from the Linux UAPI headers (<linux/tcp.h>, <linux/in.h>, <linux/in6.h>);
# older Pythons do not name them all.
TCP_MD5SIG = 14
TCP_MD5SIG_MAXKEYLEN = 80
IP_MINTTL = 21
IPV6_MINHOPCOUNT = 73
MAX_TTL = 255  # RFC 5082 §3

_SOCKADDR_STORAGE_SIZE = 128


def tcp_md5sig(peer: IPAddress, key: bytes, family: int) -> bytes:
    """`struct tcp_md5sig` for `peer` (key empty: remove the peer's key).

    Layout (<linux/tcp.h>): sockaddr_storage tcpm_addr (128 octets); u8 tcpm_flags;
    u8 tcpm_prefixlen; u16 tcpm_keylen; int tcpm_ifindex; u8 tcpm_key[80]. The address is given
    in the socket's own family: an IPv4 peer on an IPv6 socket as ::ffff:a.b.c.d.
    """
    if len(key) > TCP_MD5SIG_MAXKEYLEN:
        raise ValueError(f"TCP MD5 key longer than {TCP_MD5SIG_MAXKEYLEN} octets")
    if family == socket.AF_INET6:
        address = peer if peer.version == 6 else ipaddress.IPv6Address(f"::ffff:{peer}")
        # sockaddr_in6: family (host order), port, flowinfo, address, scope id
        sockaddr = struct.pack("=HHI16sI", socket.AF_INET6, 0, 0, address.packed, 0)
    elif peer.version == 4:
        # sockaddr_in: family (host order), port, address
        sockaddr = struct.pack("=HH4s", socket.AF_INET, 0, peer.packed)
    else:
        raise ValueError(f"IPv6 peer {peer} on an IPv4 socket")
    sockaddr = sockaddr.ljust(_SOCKADDR_STORAGE_SIZE, b"\0")
    return (
        sockaddr + struct.pack("=BBHi", 0, 0, len(key), 0) + key.ljust(TCP_MD5SIG_MAXKEYLEN, b"\0")
    )


def set_md5_key(sock: socket.socket, peer: IPAddress, password: str | None) -> None:
    """Sign and check every TCP segment exchanged with `peer` (RFC 2385); None removes the key."""
    key = password.encode() if password else b""
    sock.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, tcp_md5sig(peer, key, sock.family))


def set_ttl_security(sock: socket.socket, hops: int) -> None:
    """GTSM (RFC 5082 §3): send with TTL 255, accept only TTL ≥ 256 - `hops`."""
    if not 1 <= hops <= 254:
        raise ValueError("ttl_security hops must be 1..254")
    minimum = MAX_TTL + 1 - hops
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, MAX_TTL)
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MINHOPCOUNT, minimum)
        # an IPv4 peer reached over an IPv6 socket is checked by the IPv4 options
        if not sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY):
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, MAX_TTL)
            sock.setsockopt(socket.IPPROTO_IP, IP_MINTTL, minimum)
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, MAX_TTL)
        sock.setsockopt(socket.IPPROTO_IP, IP_MINTTL, minimum)


def connecting_socket(
    peer: IPAddress,
    local_address: IPAddress | None = None,
    password: str | None = None,
    ttl_security: int | None = None,
) -> socket.socket:
    """A non-blocking TCP socket to connect to `peer` from, its MD5 key and GTSM set before
    the SYN."""
    family = socket.AF_INET if peer.version == 4 else socket.AF_INET6
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        if password:
            set_md5_key(sock, peer, password)
        if ttl_security:
            set_ttl_security(sock, ttl_security)
        if local_address is not None:
            sock.bind((str(local_address), 0))
    except OSError:
        sock.close()
        raise
    return sock


def listening_socket(
    address: str, port: int, dual_stack: bool, keys: Iterable[tuple[IPAddress, str]] = ()
) -> socket.socket:
    """A non-blocking listening TCP socket with the MD5 key of each peer (`keys`); dual-stack
    on "::" takes IPv4 connections too."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if dual_stack:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        for peer, password in keys:
            if family == socket.AF_INET6 or peer.version == 4:
                set_md5_key(sock, peer, password)
        sock.bind((address, port))
        sock.listen(64)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def plain_address(address: str) -> IPAddress:
    """An address as a socket reports it, IPv4-mapped IPv6 (::ffff:a.b.c.d) made IPv4 again and
    the scope (%eth0) left out."""
    parsed = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed
