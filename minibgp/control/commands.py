"""What each control request means: the checks on it, and the answer (minibgp.control).

show neighbors [peer]   the sessions (views.neighbor_json), the drains in force
show routes [peer] [prefix] [limit]
                        per peer, what it sent us and what we sent it: a list header
                        ({peer, list: received|advertised, count, total}), then a line per
                        route (a route object, which starts {"prefix": ...), then at the end
                        {final: true}; `prefix`: that prefix and those inside it; `limit`: at
                        most that many routes a list. Made 500 routes at a time, the
                        event loop running in between: a million routes never hold the
                        sessions up
show announcements      every announcement, where it comes from, and whether it is
                        announced and why not (views.announcement_json)
show checks             every health check, its state and last result (views.check_json),
                        and why each prefix is or is not announced
announce                {prefix, and any of: as_path_prepend, med, communities,
                        large_communities, next_hop, peers}: announce a prefix, or change
                        what it is announced with (a key left out: kept; null: no MED,
                        next-hop self, every peer); minibgp.announcements
withdraw                {prefix}: stop announcing it until announce or restore
restore                 {prefix}: undo its runtime changes (back to the config)
drain                   graceful drain (RFC 8326, minibgp.drain): {prefixes, peers,
                        drain_time, wait}; answered step by step
undrain                 end every drain
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Protocol

from minibgp.adj_rib_in import AdjRibIn
from minibgp.adj_rib_out import MAX_AS_PATH_PREPEND
from minibgp.announcements import Announcements, Change
from minibgp.bfd.endpoint import BfdSessions
from minibgp.config import AnnounceConfig, Config, PeerConfig
from minibgp.control.server import Answer
from minibgp.control.text import render_announcement
from minibgp.control.views import (
    RouteEncoder,
    advertised_route_json,
    announcement_json,
    bfd_json,
    check_json,
    neighbor_json,
)
from minibgp.drain import Drain, Drains, DrainScope
from minibgp.health.runner import HealthMonitor
from minibgp.peer import Peer
from minibgp.router_id import is_on_local_interface
from minibgp.wire.attributes.communities import community_from_text
from minibgp.wire.attributes.large_community import large_community_from_text
from minibgp.wire.nlri import (
    Family,
    IPAddress,
    Prefix,
    covered_by,
    key_text,
    prefix_afi,
)

log = logging.getLogger("minibgp")

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
    health: HealthMonitor | None

    @property
    def links(self) -> Mapping[IPAddress, PeerLink]: ...
    def now(self) -> float: ...
    def refresh_routes(self) -> None: ...
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
            "show announcements": self.show_announcements,
            "show checks": self.show_checks,
            "announce": self.announce,
            "withdraw": self.withdraw,
            "restore": self.restore,
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
        try:
            _only_keys(request, "show routes", {"peer", "prefix", "limit"})
            within = None if request.get("prefix") is None else _prefix(request, "show routes")
            limit = request.get("limit")
            if limit is not None:
                limit = _integer(limit, "limit", 2**63)
        except ValueError as exc:
            return {"error": f"show routes: {exc}"}
        return self._route_lines(links, within, limit)

    async def _route_lines(
        self, links: list[PeerLink], within: Prefix | None, limit: int | None
    ) -> AsyncIterator[dict[str, Any] | str]:
        encoder = RouteEncoder()
        for link in links:
            peer = {"address": str(link.config.address), "asn": link.config.asn}
            rib = link.peer.rib_in
            keys = {family: await _keys_within(rib, family, within) for family in rib.families()}
            total = sum(len(k) for k in keys.values())
            yield _list_header(peer, "received", total, limit)
            left = total if limit is None else limit
            for family, family_keys in keys.items():
                for start in range(0, min(len(family_keys), left), ROUTES_AT_A_TIME):
                    part = family_keys[start : min(start + ROUTES_AT_A_TIME, left)]
                    lines = []
                    for key in part:
                        attributes = rib.attributes_of(family, key)
                        if attributes is not None:  # not withdrawn since the snapshot
                            lines.append(encoder.encode(key_text(key, family[0]), attributes))
                    if lines:
                        yield "\n".join(lines)
                    await asyncio.sleep(0)  # the sessions' turn
                left -= min(len(family_keys), left)
            advertised = [
                advertised_route_json(prefix, attributes)
                for prefix, attributes in link.peer.connection.advertised.items()
                if within is None or _inside(prefix, within)
            ]
            yield _list_header(peer, "advertised", len(advertised), limit)
            for route in advertised[:limit]:
                yield route
        yield {"final": True}

    def show_announcements(self, request: Request) -> Answer:
        announcements = self.speaker.announcements
        prefixes = {**announcements.configured, **announcements.runtime}
        return {"announcements": [self._announcement(prefix) for prefix in prefixes]}

    def show_checks(self, request: Request) -> Answer:
        health, now = self.speaker.health, self.speaker.now()
        checks = [] if health is None else [
            check_json(check, health.state.check_state(name), now=now)
            for name, check in health.checks.items()
        ]  # fmt: skip
        announcements = self.speaker.announcements.announcements()
        return {
            "checks": checks,
            "prefixes": [
                {
                    "prefix": str(announcement.prefix),
                    "checks": list(announcement.checks),
                    "state": self._state(announcement.prefix),
                }
                for announcement in announcements
            ],
        }

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

    # -- runtime announcements -------------------------------------------------------------------

    def announce(self, request: Request) -> Answer:
        try:
            _only_keys(request, "announce", {"prefix", *ANNOUNCE_ARGUMENTS})
            prefix = _prefix(request, "announce")
            change = announcement_change(request)
            self.speaker.announcements.announce(prefix, change)
        except ValueError as exc:
            return {"error": f"announce: {exc}"}
        self.speaker.refresh_routes()
        answer = self._announcement(prefix)
        log.info("runtime: announce %s", render_announcement(answer))
        if not is_on_local_interface(prefix):
            answer["warning"] = (
                f"{prefix}: no local interface has an address in it; traffic drawn to it will "
                f"be dropped (add it to a loopback: ip addr add {prefix} dev lo)"
            )
        return answer

    def withdraw(self, request: Request) -> Answer:
        return self._undo("withdraw", request, self.speaker.announcements.withdraw)

    def restore(self, request: Request) -> Answer:
        return self._undo("restore", request, self.speaker.announcements.restore)

    def _undo(self, command: str, request: Request, how: Callable[[Prefix], None]) -> Answer:
        try:
            _only_keys(request, command, {"prefix"})
            prefix = _prefix(request, command)
            how(prefix)
        except ValueError as exc:
            return {"error": f"{command}: {exc}"}
        self.speaker.refresh_routes()
        answer = self._announcement(prefix)
        log.info("runtime: %s %s", command, render_announcement(answer))
        return answer

    def _announcement(self, prefix: Prefix) -> dict[str, Any]:
        announcements = self.speaker.announcements
        announcement = announcements.runtime.get(prefix) or announcements.configured.get(prefix)
        return announcement_json(
            announcement or AnnounceConfig(prefix),
            announcements.source(prefix),
            self._state(prefix),
        )

    def _state(self, prefix: Prefix) -> str:
        """Why `prefix` is or is not announced; for checks that fail, their last reasons."""
        reasons = ""
        if (health := self.speaker.health) is not None:
            reasons = "; ".join(
                f"{name} fails ({health.state.check_state(name).last_reason})"
                for name in health.state.failing_checks(str(prefix))
            )
        return self.speaker.announcements.state(prefix, self.speaker.drains, reasons)

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


ANNOUNCE_ARGUMENTS = (
    "as_path_prepend", "med", "communities", "large_communities", "next_hop", "peers",
)  # fmt: skip


def announcement_change(arguments: Request) -> Change:
    """The change an `announce` request asks for; ValueError saying what is wrong."""
    change: dict[str, Any] = {}
    if "as_path_prepend" in arguments:
        change["as_path_prepend"] = _integer(
            arguments["as_path_prepend"], "as_path_prepend", MAX_AS_PATH_PREPEND
        )
    if "med" in arguments:
        med = arguments["med"]
        change["med"] = None if med is None else _integer(med, "med", 0xFFFFFFFF)
    if "communities" in arguments:
        texts = _strings(arguments["communities"], "communities")
        change["communities"] = tuple(community_from_text(t) for t in texts)
    if "large_communities" in arguments:
        texts = _strings(arguments["large_communities"], "large_communities")
        change["large_communities"] = tuple(large_community_from_text(t) for t in texts)
    if "next_hop" in arguments:
        next_hop = arguments["next_hop"]
        change["next_hop"] = None if next_hop is None else _address(next_hop, "next_hop")
    if "peers" in arguments:
        peers = arguments["peers"]
        if peers is not None:
            peers = tuple(_address(p, "peers") for p in _strings(peers, "peers"))
            if not peers:
                raise ValueError("peers: give at least one peer, or null for every peer")
        change["peers"] = peers
    return Change(**change)


def _only_keys(request: Request, command: str, allowed: set[str]) -> None:
    unknown = sorted(set(request) - allowed - {"command"})
    if unknown:
        raise ValueError(f"unknown argument {unknown[0]} (known: {', '.join(sorted(allowed))})")


def _prefix(request: Request, command: str) -> Prefix:
    if "prefix" not in request:
        raise ValueError("which prefix? (prefix is missing)")
    text = request["prefix"]
    if not isinstance(text, str):
        raise ValueError(f"prefix must be a string, not {text!r}")
    try:
        return ipaddress.ip_network(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a prefix ({exc})") from None


def _integer(value: object, name: str, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise ValueError(f"{name} must be an integer 0..{high}, not {value!r}")
    return value


def _strings(value: object, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} must be a list of strings, not {value!r}")
    return value


def _address(value: object, name: str) -> IPAddress:
    try:
        return ipaddress.ip_address(value)  # type: ignore[arg-type]
    except ValueError:
        raise ValueError(f"{name}: {value!r} is not an IPv4 or IPv6 address") from None


ROUTES_AT_A_TIME = 500  # a few milliseconds of work between two turns of the event loop


async def _keys_within(rib: AdjRibIn, family: Family, within: Prefix | None) -> list[bytes]:
    """The keys of `family` (a snapshot), or those of `within` and the prefixes inside it."""
    if within is None:
        return rib.keys(family)
    if family[0] != prefix_afi(within):
        return []
    covers, keys = covered_by(within), rib.keys(family)
    matching: list[bytes] = []
    for start in range(0, len(keys), 50 * ROUTES_AT_A_TIME):
        matching.extend(key for key in keys[start : start + 50 * ROUTES_AT_A_TIME] if covers(key))
        await asyncio.sleep(0)
    return matching


def _inside(prefix: Prefix, within: Prefix) -> bool:
    return prefix.version == within.version and prefix.subnet_of(within)  # type: ignore[arg-type]


def _list_header(peer: dict[str, Any], which: str, total: int, limit: int | None) -> dict[str, Any]:
    count = total if limit is None else min(total, limit)
    return {"peer": peer, "list": which, "count": count, "total": total}


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
