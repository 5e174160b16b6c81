"""What each control request means: the checks on it, and the answer (minibgp.control).

show neighbors [peer]   the sessions (views.neighbor_json), the drains in force
show routes [peer]      per peer, what it sent us and what we sent it (views.routes_json)
drain                   graceful drain (RFC 8326, minibgp.drain): {prefixes, peers,
                        drain_time, wait}; answered step by step
undrain                 end every drain
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Protocol

from minibgp.announcements import Announcements
from minibgp.bfd.endpoint import BfdSessions
from minibgp.config import Config, PeerConfig
from minibgp.control.server import Answer
from minibgp.control.views import bfd_json, neighbor_json, routes_json
from minibgp.drain import Drain, Drains, DrainScope
from minibgp.peer import Peer
from minibgp.wire.nlri import IPAddress

Request = dict[str, Any]


class PeerLink(Protocol):
    """One configured peer, as the speaker holds it."""

    @property
    def config(self) -> PeerConfig: ...
    @property
    def peer(self) -> Peer: ...


class Controlled(Protocol):
    """What the control socket may see and ask of a running speaker."""

    config: Config
    router_id: ipaddress.IPv4Address
    drains: Drains
    announcements: Announcements
    bfd: BfdSessions | None

    @property
    def links(self) -> Mapping[IPAddress, PeerLink]: ...
    def now(self) -> float: ...
    def start_drain(self, scope: DrainScope, drain_time: float) -> Drain: ...
    def undrain(self) -> None: ...
    async def drain_done(self, drain: Drain) -> bool: ...


class Commands:
    """The control socket's handler for one speaker."""

    def __init__(self, speaker: Controlled) -> None:
        self.speaker = speaker
        self._commands: dict[str, Callable[[Request], Answer]] = {
            "show neighbors": self.show_neighbors,
            "show routes": self.show_routes,
            "drain": self.drain,
            "undrain": self.undrain,
        }

    def handle(self, request: Request) -> Answer:
        """The answer to `request` (an error answer when it cannot be done)."""
        command = self._commands.get(request["command"])
        if command is None:
            return {"error": f"unknown command; known: {', '.join(self._commands)}"}
        return command(request)

    # -- show ------------------------------------------------------------------------------------

    def show_neighbors(self, request: Request) -> Answer:
        links = self._links(request)
        if isinstance(links, str):
            return {"error": links}
        return self.neighbors(links)

    def show_routes(self, request: Request) -> Answer:
        links = self._links(request)
        if isinstance(links, str):
            return {"error": links}
        return {"peers": [routes_json(link.config, link.peer) for link in links]}

    def neighbors(self, links: list[PeerLink] | None = None) -> dict[str, Any]:
        """The answer of `show neighbors`, also the last step of a drain."""
        speaker, now = self.speaker, self.speaker.now()
        if links is None:
            links = list(speaker.links.values())
        return {
            "asn": speaker.config.speaker.asn,
            "router_id": str(speaker.router_id),
            "drained": bool(speaker.drains),
            "drains": speaker.drains.to_json(now=now),
            "neighbors": [
                neighbor_json(link.config, link.peer, bfd_json(speaker.bfd, link.config.address),
                              now=now)
                for link in links
            ],
        }  # fmt: skip

    def _links(self, request: Request) -> list[PeerLink] | str:
        """The peers a request is about (`peer`: one of them), or why there are none."""
        links = list(self.speaker.links.values())
        peer = request.get("peer")
        if peer:
            links = [link for link in links if str(link.config.address) == str(peer)]
            if not links:
                return f"{peer} is not a configured peer"
        return links

    # -- drain (RFC 8326) ------------------------------------------------------------------------

    def drain(self, request: Request) -> Answer:
        error = _drain_request_error(request) or self._unknown_drain_target(request)
        if error:
            return {"error": error}
        return self._drain_steps(request)

    def undrain(self, request: Request) -> Answer:
        links = self._links(request)
        if isinstance(links, str):
            return {"error": links}
        self.speaker.undrain()
        return self.neighbors(links)

    async def _drain_steps(self, request: Request) -> AsyncIterator[dict[str, Any]]:
        """Start the drain, then report each step (unless `wait` is false)."""
        speaker = self.speaker
        drain_time = request.get("drain_time", speaker.config.speaker.drain_time)
        drain = speaker.start_drain(_drain_scope(request), float(drain_time))
        wait = request.get("wait", True)
        yield {"step": drain.phase.value, "drain": drain.to_json(now=speaker.now()),
               "final": not wait}  # fmt: skip
        if not wait:
            return
        done = await speaker.drain_done(drain)
        yield {
            "step": "withdrawn" if done else "undrained",
            "drain": drain.to_json(now=speaker.now()),
            "final": True,
            **self.neighbors(),
        }

    def _unknown_drain_target(self, request: Request) -> str | None:
        """Why a drain names a peer or prefix this speaker does not have, or None: a typo there
        must not look like a drain that worked."""
        for peer in request.get("peers") or ():
            if ipaddress.ip_address(peer) not in self.speaker.links:
                return f"drain: {peer} is not a configured peer"
        for prefix in request.get("prefixes") or ():
            if not self.speaker.announcements.announced(ipaddress.ip_network(prefix)):
                return f"drain: {prefix} is not announced"
        return None


def _drain_request_error(request: Request) -> str | None:
    """Why a `drain` request cannot be done, or None."""
    for key in ("prefixes", "peers"):
        value = request.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not value:
            return f"drain: {key} must be a non-empty list"
        try:
            for item in value:
                (ipaddress.ip_network if key == "prefixes" else ipaddress.ip_address)(item)
        except (TypeError, ValueError) as exc:
            return f"drain: {key}: {exc}"
    drain_time = request.get("drain_time", 0)
    if isinstance(drain_time, bool) or not isinstance(drain_time, int | float) or drain_time < 0:
        return "drain: drain_time must be a number of seconds (0 or more)"
    if not isinstance(request.get("wait", True), bool):
        return "drain: wait must be true or false"
    return None


def _drain_scope(request: Request) -> DrainScope:
    prefixes, peers = request.get("prefixes"), request.get("peers")
    return DrainScope(
        prefixes=None if prefixes is None else frozenset(map(ipaddress.ip_network, prefixes)),
        peers=None if peers is None else frozenset(map(ipaddress.ip_address, peers)),
    )
