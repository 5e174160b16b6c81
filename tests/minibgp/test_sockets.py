"""TCP MD5 (RFC 2385) and GTSM (RFC 5082) socket options, checked on real loopback sockets."""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterator

import pytest

from minibgp.sockets import IP_MINTTL, set_md5_key, set_ttl_security, tcp_md5sig

LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


def test_tcp_md5sig_layout_matches_linux_struct() -> None:
    raw = tcp_md5sig(ipaddress.IPv4Address("192.168.57.10"), b"s3cret", socket.AF_INET)
    assert len(raw) == 128 + 1 + 1 + 2 + 4 + 80
    family, port, address = struct.unpack_from("=HH4s", raw)
    assert (family, port, address) == (socket.AF_INET, 0, bytes([192, 168, 57, 10]))
    flags, prefixlen, keylen, ifindex = struct.unpack_from("=BBHi", raw, 128)
    assert (flags, prefixlen, keylen, ifindex) == (0, 0, 6, 0)
    assert raw[136:142] == b"s3cret" and raw[142:] == bytes(74)


def test_an_ipv4_peer_on_an_ipv6_socket_is_written_v4_mapped() -> None:
    raw = tcp_md5sig(ipaddress.IPv4Address("192.168.57.10"), b"k", socket.AF_INET6)
    family, _port, _flow, address = struct.unpack_from("=HHI16s", raw)
    assert family == socket.AF_INET6
    assert ipaddress.IPv6Address(address) == ipaddress.IPv6Address("::ffff:192.168.57.10")


@pytest.fixture
def md5_listener() -> Iterator[socket.socket]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    set_md5_key(listener, LOOPBACK, "s3cret")
    listener.listen()
    yield listener
    listener.close()


def connect(port: int, password: str | None) -> bool:
    with socket.socket() as sock:
        if password is not None:
            set_md5_key(sock, LOOPBACK, password)
        sock.settimeout(0.5)
        try:
            sock.connect(("127.0.0.1", port))
        except (TimeoutError, OSError):
            return False
        return True


def test_the_right_md5_key_connects(md5_listener: socket.socket) -> None:
    assert connect(md5_listener.getsockname()[1], "s3cret")


@pytest.mark.parametrize("password", ["wrong", None])
def test_a_wrong_or_missing_md5_key_never_connects(
    md5_listener: socket.socket, password: str | None
) -> None:
    assert not connect(md5_listener.getsockname()[1], password)


def test_gtsm_sends_ttl_255_and_sets_the_minimum_from_the_hop_count() -> None:
    with socket.socket() as sock:
        set_ttl_security(sock, 1)
        assert sock.getsockopt(socket.IPPROTO_IP, socket.IP_TTL) == 255
        assert sock.getsockopt(socket.IPPROTO_IP, IP_MINTTL) == 255
        set_ttl_security(sock, 3)
        assert sock.getsockopt(socket.IPPROTO_IP, IP_MINTTL) == 253


def test_gtsm_drops_a_peer_farther_away_than_allowed() -> None:
    """Loopback packets leave with TTL 64: a listener demanding TTL ≥ 255 never sees the SYN."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        set_ttl_security(listener, 1)
        listener.listen()
        assert not connect(listener.getsockname()[1], None)
