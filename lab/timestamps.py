"""When the kernel received a datagram, so that a round trip does not include the time it waited
in the socket while the program was busy sending the other queries of a batch.

`stamp(sock)` asks the kernel to note each datagram's arrival (SO_TIMESTAMPNS, socket(7));
`receive(sock)` returns the datagram with that moment on the `time.monotonic()` clock.
"""

from __future__ import annotations

import socket
import struct
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # <asm-generic/socket.h>
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
TIMESPEC = struct.Struct("@qq")  # struct timespec: seconds, nanoseconds (64-bit Linux)


def stamp(sock: socket.socket) -> None:
    """Have the kernel note when each datagram arrives on `sock`."""
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)


def receive(sock: socket.socket, size: int = 65535) -> tuple[bytes, tuple[str, int], float]:
    """One datagram, its sender, and when it arrived on the `time.monotonic()` clock (when
    the socket was read, if the kernel gave no time)."""
    data, ancillary, _, address = sock.recvmsg(size, socket.CMSG_SPACE(TIMESPEC.size))
    now_monotonic, now_real = time.monotonic(), time.time()
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS and len(value) >= TIMESPEC.size:
            seconds, nanoseconds = TIMESPEC.unpack_from(value)
            age = max(0.0, now_real - (seconds + nanoseconds / 1e9))
            return data, address, now_monotonic - age
    return data, address, now_monotonic
