"""Echo replies as a target would send them, for the catchment tests."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

from lab.catchment.icmp import ECHO_REPLY, checksum
from lab.topology import Family


def reply_to(
    family: Family, request: bytes, source: str, destination: str = "169.254.0.1"
) -> bytes:
    """The echo reply a host at `source` sends back for `request`: what a raw socket of
    `family` receives (with the IPv4 header; the ICMPv6 message alone)."""
    message = bytes([ECHO_REPLY[family], 0, 0, 0]) + request[4:]
    if family == 6:
        return message
    message = message[:2] + checksum(message).to_bytes(2, "big") + message[4:]
    return ipv4_header(len(message), source, destination) + message


def ipv4_header(payload: int, source: str, destination: str, fragment: int = 0,
                protocol: int = 1) -> bytes:  # fmt: skip
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + payload, 0x1234, fragment, 63, protocol, 0,
        IPv4Address(source).packed, IPv4Address(destination).packed,
    )  # fmt: skip
    return header[:10] + checksum(header).to_bytes(2, "big") + header[12:]
