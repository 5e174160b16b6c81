"""A client for an FRR daemon's vty socket: what `vtysh` does, without starting a process.

Each FRR daemon of the lab listens on `<run dir>/<daemon>.vty`. vtysh writes a command ended by a
NUL octet; the daemon answers with the command's output followed by three NUL octets and a
status octet (0: success). A connection keeps its place in the command tree, so `configure
terminal` followed by `router bgp 65001` works as it does in vtysh. A unix socket is reached by
its path, from any namespace: asking 100 routers for their BGP summary takes milliseconds.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

TIMEOUT = 10.0  # seconds for one command's answer
STATUS_SUCCESS = 0
STATUS_WARNING = 1  # e.g. a `no ...` for something that was not there


class VtyError(RuntimeError):
    """The daemon could not be reached, or refused a command (its message is included)."""


class Vty:
    """One connection to one daemon's vty socket."""

    def __init__(self, path: Path, timeout: float = TIMEOUT) -> None:
        self.path = path
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.settimeout(timeout)
        try:
            self._socket.connect(str(path))
        except OSError as error:
            self._socket.close()
            raise VtyError(f"{path}: {error.strerror or error}") from None

    def __enter__(self) -> Vty:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._socket.close()

    def run(self, command: str) -> tuple[int, str]:
        """(status, output) of one command."""
        try:
            self._socket.sendall(command.encode() + b"\0")
            received = bytearray()
            while len(received) < 4 or received[-4:-1] != b"\0\0\0":
                chunk = self._socket.recv(65536)
                if not chunk:
                    raise VtyError(f"{self.path}: closed while answering {command!r}")
                received += chunk
        except OSError as error:
            raise VtyError(f"{self.path}: {command!r}: {error.strerror or error}") from None
        return received[-1], received[:-4].decode(errors="replace")

    def command(self, command: str) -> str:
        """The output of a command that must succeed (VtyError otherwise)."""
        status, output = self.run(command)
        if status not in (STATUS_SUCCESS, STATUS_WARNING):
            raise VtyError(f"{self.path}: {command!r}: {output.strip() or f'status {status}'}")
        return output

    def json(self, command: str) -> Any:
        """The parsed output of a `... json` show command ({} when it printed nothing)."""
        output = self.command(command).strip()
        try:
            return json.loads(output) if output else {}
        except ValueError:
            raise VtyError(f"{self.path}: {command!r}: not JSON: {output[:200]!r}") from None

    def configure(self, *lines: str) -> None:
        """Enter configure mode, run each line (each must succeed), and leave it again."""
        self.command("enable")
        self.command("configure terminal")
        try:
            for line in lines:
                self.command(line)
        finally:
            self.run("end")
