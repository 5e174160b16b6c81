"""The systemd side of the sd_notify protocol, for tests: a datagram socket to name in
$NOTIFY_SOCKET, and the messages that arrive on it with the PID of their sender."""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Notification:
    pid: int
    fields: dict[str, str]


class NotifySocket:
    """Listens where $NOTIFY_SOCKET says: a path, or an abstract name (`@name`)."""

    def __init__(self, address: str | Path) -> None:
        self.address = str(address)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        bind_to = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        self.sock.bind(bind_to)

    def environ(self) -> dict[str, str]:
        return {**os.environ, "NOTIFY_SOCKET": self.address}

    def receive(self, timeout: float = 20.0) -> Notification:
        """The next message; raises TimeoutError when none comes within `timeout` seconds."""
        self.sock.settimeout(timeout)
        data, ancillary, _flags, _address = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = 0
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid, _uid, _gid = struct.unpack("iII", value[:12])
        fields = dict(line.split("=", 1) for line in data.decode().splitlines())
        return Notification(pid, fields)

    def close(self) -> None:
        self.sock.close()
