"""The BGP message header (RFC 4271 §4.1) and the reader that cuts a byte stream into messages."""

from __future__ import annotations

from collections.abc import Iterator
from enum import IntEnum

from minibgp.wire.errors import BGPError, ErrorCode, HeaderErrorSubcode

MARKER = b"\xff" * 16
HEADER_LENGTH = 19
MAX_MESSAGE_LENGTH = 4096  # RFC 4271 §4.1 (RFC 8654 extended messages are not negotiated)


class MessageType(IntEnum):
    """Message Type (RFC 4271 §4.1, RFC 2918 §3)."""

    OPEN = 1
    UPDATE = 2
    NOTIFICATION = 3
    KEEPALIVE = 4
    ROUTE_REFRESH = 5


# RFC 4271 §6.1: the Length field must be at least (or, for KEEPALIVE, exactly) these.
MINIMUM_LENGTH: dict[int, int] = {
    MessageType.OPEN: 29,  # RFC 4271 §4.2
    MessageType.UPDATE: 23,  # RFC 4271 §4.3
    MessageType.NOTIFICATION: 21,  # RFC 4271 §4.5
    MessageType.KEEPALIVE: 19,  # RFC 4271 §4.4
    MessageType.ROUTE_REFRESH: 23,  # RFC 2918 §3
}


def encode_header(msg_type: int, body: bytes) -> bytes:
    """The whole message: Marker, Length, Type (RFC 4271 §4.1), then `body`."""
    length = HEADER_LENGTH + len(body)
    if length > MAX_MESSAGE_LENGTH:
        raise ValueError(f"message of {length} octets exceeds the {MAX_MESSAGE_LENGTH} maximum")
    return MARKER + length.to_bytes(2, "big") + bytes((msg_type,)) + body


def check_header(header: bytes) -> tuple[int, int]:
    """Validate a 19-octet header (RFC 4271 §6.1); return (length, type)."""
    if header[:16] != MARKER:
        raise BGPError(
            ErrorCode.MESSAGE_HEADER_ERROR,
            HeaderErrorSubcode.CONNECTION_NOT_SYNCHRONIZED,
            reason="the Marker is not all ones",
        )
    length = (header[16] << 8) | header[17]
    msg_type = header[18]
    if msg_type not in MINIMUM_LENGTH:
        raise BGPError(
            ErrorCode.MESSAGE_HEADER_ERROR,
            HeaderErrorSubcode.BAD_MESSAGE_TYPE,
            bytes((msg_type,)),
            f"message type {msg_type} is not one we know",
        )
    minimum = MINIMUM_LENGTH[MessageType(msg_type)]
    too_long = length > MAX_MESSAGE_LENGTH or (
        msg_type == MessageType.KEEPALIVE and length != HEADER_LENGTH
    )
    if length < minimum or too_long:
        raise BGPError(
            ErrorCode.MESSAGE_HEADER_ERROR,
            HeaderErrorSubcode.BAD_MESSAGE_LENGTH,
            length.to_bytes(2, "big"),
            f"length {length} is impossible for a {MessageType(msg_type).name} message",
        )
    return length, msg_type


class MessageReader:
    """Cuts the bytes received on a BGP connection into whole messages.

    `feed()` the bytes as they arrive, then take messages with `next_message()` (or iterate)
    until it returns None. Each message is `(type, body)`, the body without the header.
    A bad header raises BGPError (RFC 4271 §6.1); the reader is then unusable.
    """

    # Received bytes are appended to a bytearray and consumed by advancing an offset; the
    # consumed prefix is dropped only when it is large, so each byte is copied O(1) times.
    _COMPACT_AT = 65536

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._offset = 0

    def feed(self, data: bytes) -> None:
        """Add received bytes."""
        if self._offset >= self._COMPACT_AT:
            del self._buffer[: self._offset]
            self._offset = 0
        self._buffer += data

    @property
    def buffered(self) -> int:
        """Octets received but not yet returned as a message."""
        return len(self._buffer) - self._offset

    def unread(self) -> bytes:
        """The octets received but not yet returned as a message (a bad header among them)."""
        return bytes(self._buffer[self._offset :])

    def next_message(self) -> tuple[int, bytes] | None:
        """The next whole message as (type, body), or None until more bytes arrive."""
        buffer, start = self._buffer, self._offset
        if len(buffer) - start < HEADER_LENGTH:
            return None
        length, msg_type = check_header(bytes(buffer[start : start + HEADER_LENGTH]))
        end = start + length
        if len(buffer) < end:
            return None
        self._offset = end
        return msg_type, bytes(buffer[start + HEADER_LENGTH : end])

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        while (message := self.next_message()) is not None:
            yield message
