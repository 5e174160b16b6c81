"""The vty client speaks FRR's vtysh protocol: NUL-ended commands, output then 0 0 0 status."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.vty import Vty, VtyError

ANSWERS = {
    b"show bgp summary json": (0, b'{"ipv4Unicast": {"tableVersion": 7}}'),
    b"show nothing json": (0, b""),
    b"show bogus": (2, b"% Unknown command: show bogus\n"),
    b"no neighbor 10.0.0.9": (1, b"% Specify remote-as or peer-group commands first\n"),
}


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[Path, list[bytes]]]:
    """A unix socket that answers like an FRR daemon, in chunks, and records the commands."""
    path = tmp_path / "bgpd.vty"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    received: list[bytes] = []

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            buffer = b""
            while True:
                data = connection.recv(4096)
                if not data:
                    return
                buffer += data
                while b"\0" in buffer:
                    command, buffer = buffer.split(b"\0", 1)
                    received.append(command)
                    status, output = ANSWERS.get(command, (0, b""))
                    answer = output + b"\0\0\0" + bytes([status])
                    for i in range(0, len(answer), 5):  # the answer arrives in pieces
                        connection.sendall(answer[i : i + 5])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield path, received
    server.close()
    thread.join(timeout=5)


def test_commands_get_their_output_and_status(daemon: tuple[Path, list[bytes]]) -> None:
    path, received = daemon
    with Vty(path) as vty:
        assert vty.json("show bgp summary json") == {"ipv4Unicast": {"tableVersion": 7}}
        assert vty.json("show nothing json") == {}
        assert vty.run("show bogus") == (2, "% Unknown command: show bogus\n")
        with pytest.raises(VtyError, match="Unknown command: show bogus"):
            vty.command("show bogus")
        vty.configure("router bgp 65001", "no neighbor 10.0.0.9")  # a warning is no failure
    assert received == [
        b"show bgp summary json", b"show nothing json", b"show bogus", b"show bogus",
        b"enable", b"configure terminal", b"router bgp 65001", b"no neighbor 10.0.0.9", b"end",
    ]  # fmt: skip


def test_a_daemon_that_is_not_there_is_a_vty_error(tmp_path: Path) -> None:
    with pytest.raises(VtyError, match=r"bgpd\.vty"):
        Vty(tmp_path / "bgpd.vty")
