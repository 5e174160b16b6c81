"""Two minibgp speakers in one event loop, peering over loopback TCP (127.0.0.1 ↔ 127.0.0.2):
the `duo` fixture and what the tests read from it.

No root and no namespaces: each listens on its own address and a free port, and connects out
from its own address; each has its control socket in the test's temporary directory.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from minibgp.config import load_config
from minibgp.control.views import advertised_route_json, route_json
from minibgp.fsm import State
from minibgp.speaker import Speaker
from minibgp.transport import PeerLink

A, B = "127.0.0.1", "127.0.0.2"


def free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


def config_text(
    asn: int, me: str, port: int, peer: str, peer_asn: int, peer_port: int, socket_path: Path,
    announce: tuple[str, ...] = (), peer_extra: str = "",
) -> str:  # fmt: skip
    text = (
        f'[speaker]\nasn = {asn}\nrouter_id = "{me}"\nlisten = "{me}:{port}"\n'
        f'control_socket = "{socket_path}"\n\n'
        f'[[peer]]\naddress = "{peer}"\nasn = {peer_asn}\nport = {peer_port}\n'
        f'local_address = "{me}"\nconnect_retry = 0.2\nhold_time = 3\n{peer_extra}\n'
    )
    for prefix in announce:
        text += f'\n[[announce]]\nprefix = "{prefix}"\n'
    return text


@dataclass
class Duo:
    a: Speaker
    b: Speaker
    a_config: Path
    ports: tuple[int, int]
    tmp: Path

    def link(self, speaker: Speaker) -> PeerLink:
        return next(iter(speaker.links.values()))

    def rewrite_a(self, announce: tuple[str, ...], extra: str = "") -> None:
        self.a_config.write_text(
            config_text(64520, A, self.ports[0], B, 4290001234, self.ports[1],
                        self.tmp / "a.sock", announce) + extra
        )  # fmt: skip


async def until(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    """Yield to the event loop until `predicate()` holds (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.fixture
async def duo(tmp_path: Path) -> AsyncIterator[Duo]:
    ports = (free_port(A), free_port(B))
    a_config, b_config = tmp_path / "a.toml", tmp_path / "b.toml"
    a_config.write_text(
        config_text(64520, A, ports[0], B, 4290001234, ports[1], tmp_path / "a.sock",
                    ("169.254.0.1/32", "2001:db8:53::1/128"))
    )  # fmt: skip
    b_config.write_text(
        config_text(4290001234, B, ports[1], A, 64520, ports[0], tmp_path / "b.sock",
                    ("10.57.1.0/24",))
    )  # fmt: skip
    a, b = Speaker(load_config(a_config)), Speaker(load_config(b_config))
    await a.start()
    await b.start()
    duo = Duo(a, b, a_config, ports, tmp_path)
    try:
        yield duo
    finally:
        await b.shutdown()
        await a.shutdown()


def established(speaker: Speaker) -> bool:
    return all(link.peer.connection.state is State.Established for link in speaker.links.values())


def received(speaker: Speaker) -> dict[str, dict[str, object]]:
    """What the speaker's one peer sent it, as `show routes` gives each route."""
    (link,) = speaker.links.values()
    return {str(p): route_json(p, attributes) for p, attributes in link.peer.rib_in.routes()}


def advertised(speaker: Speaker) -> dict[str, dict[str, object]]:
    """What the speaker sent its one peer, as `show routes` gives each route."""
    (link,) = speaker.links.values()
    routes = link.peer.connection.advertised.items()
    return {str(p): advertised_route_json(p, attributes) for p, attributes in routes}
