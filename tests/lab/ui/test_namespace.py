"""netlink link dumps parsed from golden bytes."""

from __future__ import annotations

import struct

import pytest

from lab.ui.namespace import getlink_request, parse_links


def _attribute(kind: int, value: bytes) -> bytes:
    raw = struct.pack("=HH", 4 + len(value), kind) + value
    return raw + b"\0" * (-len(raw) % 4)


def _newlink(name: str, flags: int, qdisc: str) -> bytes:
    body = struct.pack("=BxHiII", 0, 1, 7, flags, 0)
    body += _attribute(3, name.encode() + b"\0") + _attribute(6, qdisc.encode() + b"\0")
    return struct.pack("=IHHII", 16 + len(body), 16, 2, 1, 0) + body


def test_request_is_a_getlink_dump() -> None:
    request = getlink_request(7)
    assert struct.unpack_from("=IHHII", request) == (32, 18, 0x301, 7, 0)


def test_links_and_done() -> None:
    data = _newlink("eth-router1", 0x1 | 0x10000, "noqueue") + _newlink("eth-x", 0x1, "blackhole")
    links, done = parse_links(data)
    assert not done
    assert [(link.name, link.admin_up, link.carrier, link.qdisc) for link in links] == [
        ("eth-router1", True, True, "noqueue"),
        ("eth-x", True, False, "blackhole"),
    ]
    assert links[0].passes_traffic and not links[1].passes_traffic
    links, done = parse_links(struct.pack("=IHHIIi", 20, 3, 2, 1, 0, 0))
    assert (links, done) == ([], True)


def test_errors() -> None:
    with pytest.raises(OSError):
        parse_links(struct.pack("=IHHIIi", 20, 2, 0, 1, 0, -1))  # EPERM
    with pytest.raises(ValueError):
        parse_links(struct.pack("=IHHII", 64, 16, 0, 1, 0))  # says 64 octets, has 16
