"""ICMP and ICMPv6 echo messages: the probes of the Verfploeter measurement, and their replies.

An echo request (RFC 792 for IPv4, RFC 4443 §4.1 for IPv6) carries an identifier, a sequence
number and data, and the echo reply gives all three back unchanged (RFC 792; RFC 4443 §4.2).
A raw IPv4 socket hands over the whole datagram, IP header first; a raw ICMPv6 socket hands over
the ICMPv6 message alone (RFC 3542 §3) and the kernel computes its checksum, whose pseudo-header
holds addresses only the kernel knows for sure (RFC 4443 §2.3).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..topology import Family

ECHO_REQUEST = {4: 8, 6: 128}  # RFC 792; RFC 4443 §4.1
ECHO_REPLY = {4: 0, 6: 129}  # RFC 792; RFC 4443 §4.2
ECHO_HEADER = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence number
IPV4_PROTOCOL_ICMP = 1


@dataclass(frozen=True)
class Echo:
    """An echo message's identifier, sequence number and data."""

    identifier: int
    sequence: int
    data: bytes


def checksum(data: bytes) -> int:
    """The Internet checksum: the one's complement of the one's complement sum of the 16-bit
    words (RFC 1071), an odd last octet padded with zero."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(word for (word,) in struct.iter_unpack("!H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(family: Family, echo: Echo) -> bytes:
    """An echo request as a raw socket of `family` sends it (no IP header). The IPv4 checksum
    is filled in (RFC 792); the ICMPv6 one is left zero for the kernel (RFC 3542 §3.1)."""
    header = ECHO_HEADER.pack(ECHO_REQUEST[family], 0, 0, echo.identifier, echo.sequence)
    message = header + echo.data
    if family == 6:
        return message
    return message[:2] + checksum(message).to_bytes(2, "big") + message[4:]


def parse_echo_reply(family: Family, packet: bytes) -> Echo | None:
    """The echo reply in what a raw socket of `family` received, or None for anything else
    (another ICMP type, a fragment, a damaged or truncated packet, a bad IPv4 checksum)."""
    message = packet if family == 6 else _ipv4_payload(packet)
    if message is None or len(message) < ECHO_HEADER.size:
        return None
    kind, code, _, identifier, sequence = ECHO_HEADER.unpack_from(message)
    if kind != ECHO_REPLY[family] or code != 0:
        return None
    if family == 4 and checksum(message) != 0:
        return None
    return Echo(identifier, sequence, bytes(message[ECHO_HEADER.size :]))


def _ipv4_payload(packet: bytes) -> bytes | None:
    """The ICMP message of an IPv4 datagram (RFC 791 §3.1), None if it is not a whole one."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    header_length = (packet[0] & 0x0F) * 4
    total_length = int.from_bytes(packet[2:4], "big")
    fragment = int.from_bytes(packet[6:8], "big")
    if header_length < 20 or not header_length <= total_length <= len(packet):
        return None
    if fragment & 0x3FFF:  # more fragments, or a fragment offset: not a whole message
        return None
    if packet[9] != IPV4_PROTOCOL_ICMP:
        return None
    return packet[header_length:total_length]


# --- a socket filter: only this measurement's echo replies reach the program ------------------

# Classic BPF (the kernel's Documentation/networking/filter.rst): opcode, jump if true, jump if
# false, operand.
BPF_INSTRUCTION = struct.Struct("=HBBI")
BPF_LD_B_ABS, BPF_LD_H_ABS = 0x30, 0x28  # A <- octet / 16-bit word at k
BPF_LD_B_IND, BPF_LD_H_IND = 0x50, 0x48  # A <- octet / 16-bit word at X + k
BPF_LDX_B_MSH = 0xB1  # X <- 4 * (octet at k & 0xf): an IPv4 header's length
BPF_JEQ_K = 0x15  # jump by jt if A == k, else by jf
BPF_RET_K = 0x06  # accept k octets of the packet (0: drop it)
ACCEPT = 0xFFFF


def echo_reply_filter(family: Family, identifier: int) -> bytes:
    """A classic BPF program (the operand of SO_ATTACH_FILTER) that passes only echo replies
    with `identifier` to a raw socket of `family`. An IPv4 raw socket's packets start with the
    IP header, an ICMPv6 one's with the ICMPv6 header."""
    if family == 4:
        head = [(BPF_LDX_B_MSH, 0, 0, 0)]  # X: where the ICMP message starts
        load_type, load_identifier = BPF_LD_B_IND, BPF_LD_H_IND
    else:
        head = []
        load_type, load_identifier = BPF_LD_B_ABS, BPF_LD_H_ABS
    program = [
        *head,
        (load_type, 0, 0, 0),
        (BPF_JEQ_K, 0, 3, ECHO_REPLY[family]),
        (load_identifier, 0, 0, 4),
        (BPF_JEQ_K, 0, 1, identifier),
        (BPF_RET_K, 0, 0, ACCEPT),
        (BPF_RET_K, 0, 0, 0),
    ]
    return b"".join(BPF_INSTRUCTION.pack(*instruction) for instruction in program)
