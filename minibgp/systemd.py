"""Running under systemd: telling it how the service is doing, and logging to its journal.

- The sd_notify protocol, for a `Type=notify` unit (sd_notify(3)): systemd names a datagram
  socket in $NOTIFY_SOCKET (a path, or an abstract name starting with `@`); one datagram of
  newline-separated `NAME=value` lines says "READY=1" (started: listening), "STOPPING=1",
  "STATUS=text" (what `systemctl status` shows). Outside systemd nothing is sent.
- $JOURNAL_STREAM names (device:inode) the stream systemd connected to the journal: when it is
  standard error, the journal stamps each line with the time and the PID, so the log need not.
"""

from __future__ import annotations

import os
import socket
import sys


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


def stderr_is_journal() -> bool:
    """Whether standard error goes to systemd's journal."""
    try:
        stat = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return os.environ.get("JOURNAL_STREAM") == f"{stat.st_dev}:{stat.st_ino}"
