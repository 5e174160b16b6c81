"""Telling systemd how the service is doing: the sd_notify protocol, for a `Type=notify` unit.

systemd names a datagram socket in $NOTIFY_SOCKET (a path, or an abstract name starting with
`@`); one datagram of newline-separated `NAME=value` lines says "READY=1" (started: listening),
"STOPPING=1", "STATUS=text" (what `systemctl status` shows). See sd_notify(3). Outside systemd
the variable is unset and nothing is sent.
"""

from __future__ import annotations

import os
import socket


def notify(*assignments: str) -> bool:
    """Send `assignments` (e.g. "READY=1", "STATUS=serving") to systemd; False if not sent."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address.startswith(("/", "@")):
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.sendto("\n".join(assignments).encode(), address)
        except OSError:
            return False
    return True
