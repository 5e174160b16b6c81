"""Echo request and reply codec: golden bytes, the Internet checksum, what is not a reply."""

from __future__ import annotations

import pytest

from lab.catchment.icmp import (
    BPF_INSTRUCTION,
    BPF_RET_K,
    Echo,
    checksum,
    echo_reply_filter,
    echo_request,
    parse_echo_reply,
)
from tests.lab.catchment.packets import ipv4_header, reply_to


def test_checksum_is_rfc_1071s_example() -> None:
    # RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (with the carries folded in).
    assert checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0xFFFF - 0xDDF2
    assert checksum(b"\x01") == 0xFFFF - 0x0100  # an odd octet is padded with zero


def test_ipv4_echo_request_golden_bytes() -> None:
    request = echo_request(4, Echo(0x1234, 0x0001, b"abcd"))
    # type 8, code 0, checksum, identifier 0x1234, sequence 1, data
    assert request.hex() == "0800" + "2104" + "1234" + "0001" + b"abcd".hex()
    assert checksum(request) == 0  # a message with its checksum sums to all ones


def test_icmpv6_echo_request_leaves_the_checksum_to_the_kernel() -> None:
    assert echo_request(6, Echo(7, 9, b"x")).hex() == "80000000" + "0007" + "0009" + "78"


@pytest.mark.parametrize("family", [4, 6])
def test_a_reply_gives_back_identifier_sequence_and_data(family: int) -> None:
    request = echo_request(family, Echo(0xBEEF, 513, b"token\x00\x00\x00\x01"))  # type: ignore[arg-type]
    packet = reply_to(family, request, "192.0.2.7")  # type: ignore[arg-type]
    assert parse_echo_reply(family, packet) == Echo(0xBEEF, 513, b"token\x00\x00\x00\x01")  # type: ignore[arg-type]


def test_what_is_not_a_whole_echo_reply_is_none() -> None:
    request = echo_request(4, Echo(1, 1, b"data"))
    good = reply_to(4, request, "192.0.2.7")
    assert parse_echo_reply(4, good) is not None
    assert parse_echo_reply(4, good[:-1]) is None  # shorter than its total length
    assert parse_echo_reply(4, good[:24]) is None  # not even an echo header
    damaged = good[:-1] + bytes([good[-1] ^ 1])
    assert parse_echo_reply(4, damaged) is None  # checksum
    message = good[20:]
    assert parse_echo_reply(4, ipv4_header(len(message), "192.0.2.7", "169.254.0.1",
                                           fragment=0x2000) + message) is None  # fmt: skip
    assert parse_echo_reply(4, ipv4_header(len(message), "192.0.2.7", "169.254.0.1",
                                           protocol=17) + message) is None  # fmt: skip
    assert parse_echo_reply(4, request) is None  # an echo request is no reply (and no IP header)
    assert parse_echo_reply(6, echo_request(6, Echo(1, 1, b""))) is None  # a request
    assert parse_echo_reply(6, b"\x81\x00") is None


@pytest.mark.parametrize("family", [4, 6])
def test_the_socket_filter_ends_in_accept_or_drop(family: int) -> None:
    program = echo_reply_filter(family, 0x4242)  # type: ignore[arg-type]
    instructions = [BPF_INSTRUCTION.unpack_from(program, i) for i in range(0, len(program), 8)]
    assert instructions[-2:] == [(BPF_RET_K, 0, 0, 0xFFFF), (BPF_RET_K, 0, 0, 0)]
    assert (0x15, 0, 1, 0x4242) in instructions  # the identifier compared
    for index, (code, jump_true, jump_false, _) in enumerate(instructions):
        if code != BPF_RET_K:  # every jump lands on an instruction
            assert index + 1 + max(jump_true, jump_false) < len(instructions)
