"""Neighbors and routes as `show neighbors --json` and `show routes --json` give them."""

from __future__ import annotations

import json
from ipaddress import IPv4Network
from typing import Any

from minibgp.announcements import Source
from minibgp.bfd.endpoint import BfdSessions
from minibgp.config import AnnounceConfig, PeerConfig
from minibgp.health.checks import Check
from minibgp.health.state import CheckState
from minibgp.peer import Peer
from minibgp.wire.attributes import AttributeSet, PathAttribute
from minibgp.wire.attributes.communities import community_to_text
from minibgp.wire.nlri import IPAddress, Prefix, address_text, family_name


def neighbor_json(
    config: PeerConfig, peer: Peer, bfd: dict[str, Any] | None, *, now: float
) -> dict[str, Any]:
    """One peer and its session."""
    connection = peer.connection
    negotiated = connection.negotiated
    local = connection.local_address
    return {
        "address": str(config.address),
        "asn": config.asn,
        "description": config.description,
        "state": connection.state.value,
        "uptime": connection.uptime(now=now),
        "local_address": None if local is None else address_text(local),
        "peer_router_id": str(negotiated.peer_identifier) if negotiated else None,
        "hold_time": negotiated.hold_time if negotiated else None,
        "families": sorted(family_name(*f) for f in negotiated.families) if negotiated else [],
        "prefixes_received": len(peer.rib_in),
        "prefixes_advertised": len(connection.advertised),
        "messages_received": dict(connection.messages_received),
        "messages_sent": dict(connection.messages_sent),
        "last_error": connection.last_error,
        "password": bool(config.password),
        "ttl_security": config.ttl_security,
        "bfd": bfd,
    }


def route_json(prefix: Prefix, attributes: AttributeSet) -> dict[str, Any]:
    """A route: its prefix and the path attributes it came (or went) with."""
    path: list[int | str] = []
    for segment in attributes.as_path.segments:
        if segment.type.name == "AS_SEQUENCE":
            path.extend(segment.asns)
        else:
            path.append("{" + ",".join(map(str, segment.asns)) + "}")
    next_hop = attributes.next_hop
    origin = attributes.origin
    return {
        "prefix": str(prefix),
        "next_hop": address_text(next_hop) if next_hop else None,
        "as_path": path,
        "origin": origin.name if origin is not None else None,
        "med": attributes.med,
        "local_pref": attributes.local_pref,
        "communities": [community_to_text(c) for c in attributes.communities],
        "large_communities": [":".join(map(str, c)) for c in attributes.large_communities],
    }


class RouteEncoder:
    """Routes as JSON text, the same as `json.dumps(route_json(...))`, fast: the part of each
    attribute set is encoded once, however many routes share it (a full table has a few
    thousand sets for a million routes)."""

    def __init__(self) -> None:
        self._tails: dict[int, tuple[AttributeSet, str]] = {}

    def encode(self, prefix: str, attributes: AttributeSet) -> str:
        entry = self._tails.get(id(attributes))
        if entry is None or entry[0] is not attributes:
            route = route_json(IPv4Network(0), attributes)
            del route["prefix"]
            entry = (attributes, json.dumps(route)[1:])
            self._tails[id(attributes)] = entry
        return f'{{"prefix": "{prefix}", {entry[1]}'  # a prefix needs no escaping


def advertised_route_json(prefix: Prefix, attributes: tuple[PathAttribute, ...]) -> dict[str, Any]:
    """A route we sent, with the attributes it was sent with (our AS and its prepends, the
    next hop, GRACEFUL_SHUTDOWN while drained)."""
    return route_json(prefix, AttributeSet(attributes))


def announcement_json(
    announcement: AnnounceConfig, source: Source | None, state: str
) -> dict[str, Any]:
    """One announcement: its attributes, where it comes from, whether it is announced."""
    return {
        "prefix": str(announcement.prefix),
        "source": None if source is None else source.value,
        "state": state,
        "next_hop": None if announcement.next_hop is None else address_text(announcement.next_hop),
        "as_path_prepend": announcement.as_path_prepend,
        "med": announcement.med,
        "communities": [community_to_text(c) for c in announcement.communities],
        "large_communities": [":".join(map(str, c)) for c in announcement.large_communities],
        "peers": None if announcement.peers is None else [str(p) for p in announcement.peers],
        "checks": list(announcement.checks),
    }


def check_json(check: Check, state: CheckState, *, now: float) -> dict[str, Any]:
    """One health check: what it checks, whether it passes, what its last probe said."""
    last = state.last_result
    timing = check.timing
    return {
        "name": check.name,
        "checks": check.describe(),
        "passing": state.passing,
        "last": None
        if last is None
        else {"ok": last.ok, "reason": last.reason, "seconds_ago": round(now - last.at, 3)},
        "successes": state.successes,  # in a row, towards rise (while failing)
        "failures": state.failures,  # in a row, towards fall (while passing)
        "rise": timing.rise,
        "fall": timing.fall,
        "interval": timing.interval,
        "timeout": timing.timeout,
        "watched": check.watcher() is not None,
        "latency": state.last_latency,  # seconds the last probe took
        "probes_passed": state.probes_passed,
        "probes_failed": state.probes_failed,
        "transitions": state.transitions,  # between passing and failing
    }


def bfd_json(bfd: BfdSessions | None, address: IPAddress) -> dict[str, Any] | None:
    """The BFD session to `address`; None without BFD."""
    peer = next((p for p in bfd.peers if p.address == str(address)), None) if bfd else None
    if peer is None:
        return None
    session = peer.session
    detection = session.detection_time
    return {
        "state": session.state.name,
        "diagnostic": session.local_diag.name,
        "transmit_interval_ms": round(session.transmit_interval * 1000),
        "detection_time_ms": None if detection is None else round(detection * 1000),
    }
