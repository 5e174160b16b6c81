"""Linux socket options BGP sessions use: TCP MD5 signatures and the TTL security check.

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
