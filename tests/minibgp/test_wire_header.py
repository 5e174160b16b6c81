"""The message header and the stream reader (RFC 4271 §4.1, §6.1)."""

from __future__ import annotations

import pytest

from minibgp.wire import MessageReader, MessageType, Notification
from minibgp.wire.errors import BGPError, ErrorCode, HeaderErrorSubcode
from minibgp.wire.header import encode_header

MARKER = b"\xff" * 16
KEEPALIVE = MARKER + b"\x00\x13\x04"


def test_keepalive_golden_bytes() -> None:
    assert encode_header(MessageType.KEEPALIVE, b"") == KEEPALIVE


def test_messages_split_across_and_within_feeds() -> None:
    update = MARKER + b"\x00\x17\x02" + b"\x00\x00\x00\x00"
    stream = KEEPALIVE + update + KEEPALIVE
    reader = MessageReader()
    received: list[tuple[int, bytes]] = []
    for octet in range(len(stream)):  # worst case: one octet at a time
        reader.feed(stream[octet : octet + 1])
        received.extend(reader)
    assert received == [(4, b""), (2, b"\x00\x00\x00\x00"), (4, b"")]
    assert reader.buffered == 0


def test_many_messages_in_one_feed() -> None:
    reader = MessageReader()
    reader.feed(KEEPALIVE * 10_000)
    assert sum(1 for _ in reader) == 10_000
    assert reader.next_message() is None


def test_incomplete_message_waits() -> None:
    reader = MessageReader()
    reader.feed(KEEPALIVE[:10])
    assert reader.next_message() is None
    reader.feed(KEEPALIVE[10:])
    assert reader.next_message() == (MessageType.KEEPALIVE, b"")


@pytest.mark.parametrize(
    ("raw", "subcode", "data"),
    [
        # RFC 4271 §6.1: a Marker that is not all ones; no data.
        (b"\x00" * 16 + b"\x00\x13\x04", HeaderErrorSubcode.CONNECTION_NOT_SYNCHRONIZED, b""),
        # Lengths below 19, above 4096, and wrong for the type: the data is the Length field.
        (MARKER + b"\x00\x12\x04", HeaderErrorSubcode.BAD_MESSAGE_LENGTH, b"\x00\x12"),
        (MARKER + b"\x10\x01\x02", HeaderErrorSubcode.BAD_MESSAGE_LENGTH, b"\x10\x01"),
        (MARKER + b"\x00\x14\x04", HeaderErrorSubcode.BAD_MESSAGE_LENGTH, b"\x00\x14"),
        (MARKER + b"\x00\x1c\x01", HeaderErrorSubcode.BAD_MESSAGE_LENGTH, b"\x00\x1c"),
        (MARKER + b"\x00\x16\x02", HeaderErrorSubcode.BAD_MESSAGE_LENGTH, b"\x00\x16"),
        (MARKER + b"\x00\x14\x03", HeaderErrorSubcode.BAD_MESSAGE_LENGTH, b"\x00\x14"),
        (MARKER + b"\x00\x16\x05", HeaderErrorSubcode.BAD_MESSAGE_LENGTH, b"\x00\x16"),
        # An unknown type: the data is the Type field.
        (MARKER + b"\x00\x13\x06", HeaderErrorSubcode.BAD_MESSAGE_TYPE, b"\x06"),
        (MARKER + b"\x00\x13\x00", HeaderErrorSubcode.BAD_MESSAGE_TYPE, b"\x00"),
    ],
)
def test_header_errors(raw: bytes, subcode: int, data: bytes) -> None:
    reader = MessageReader()
    reader.feed(raw)
    with pytest.raises(BGPError) as caught:
        reader.next_message()
    assert (caught.value.code, caught.value.subcode) == (ErrorCode.MESSAGE_HEADER_ERROR, subcode)
    assert caught.value.data == data
    notification = Notification.from_error(caught.value)
    assert (notification.code, notification.subcode, notification.data) == (1, subcode, data)
