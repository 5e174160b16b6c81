"""What the log says about each peer: its sessions in plain words, and with `--trace` every
message as it was on the wire, field by field (minibgp.describe)."""

from __future__ import annotations

import logging

from minibgp.control.views import route_json
from minibgp.describe import describe_message
from minibgp.events import (
    CollisionResolved,
    ConnectionEvent,
    ConnectionRefused,
    EndOfRibReceived,
    MessageReceived,
    MessageSent,
    NotificationReceived,
    NotificationSent,
    PeerEvent,
    RouteRefreshReceived,
    RoutesForgotten,
    SessionEnded,
    SessionEstablished,
    StateChanged,
    UpdateReceived,
)
from minibgp.peer import Channel, Peer
from minibgp.wire.messages import AS_LOOP, Update
from minibgp.wire.nlri import family_name

log = logging.getLogger("minibgp")

DETAILED_UPDATE_LIMIT = 8  # UPDATEs with more prefixes than this are logged as counts


def log_event(peer: Peer, channel: Channel, event: ConnectionEvent | PeerEvent) -> None:
    """One line (or, traced, one message) about `event` on `channel` of `peer`."""
    name = f"peer {peer.address}"
    if isinstance(event, StateChanged):
        which = "" if channel is peer.main else " (the peer's second connection)"
        log.info("%s: %s -> %s%s", name, event.old.value, event.new.value, which)
    elif isinstance(event, SessionEstablished):
        negotiated = event.negotiated
        families = ", ".join(family_name(*f) for f in sorted(negotiated.families))
        log.info("%s: session Established (AS %d, BGP identifier %s, hold time %d s, %s)",
                 name, negotiated.peer_as, negotiated.peer_identifier, negotiated.hold_time,
                 families)  # fmt: skip
        advertised = channel.connection.advertised
        if advertised:
            log.info("%s: announced %s", name, ", ".join(map(str, advertised)))
        else:
            log.info("%s: nothing to announce", name)
    elif isinstance(event, SessionEnded):
        log.warning("%s: session down (%s)", name, event.reason)
    elif isinstance(event, RoutesForgotten) and event.count:
        log.info("%s: forgot the %d prefixes it sent", name, event.count)
    elif isinstance(event, UpdateReceived):
        _log_update(name, peer, event.update)
    elif isinstance(event, EndOfRibReceived):
        family = (event.afi, event.safi)
        log.info("%s: End-of-RIB for %s: %d prefixes held from this peer",
                 name, family_name(*family), peer.rib_in.count(family))  # fmt: skip
    elif isinstance(event, RouteRefreshReceived):
        log.info("%s: route refresh for %s", name, family_name(event.afi, event.safi))
    elif isinstance(event, NotificationReceived):
        log.warning("%s: received NOTIFICATION %s", name, event.notification)
    elif isinstance(event, NotificationSent):
        log.warning("%s: sent NOTIFICATION %s: %s", name, event.notification, event.reason)
    elif isinstance(event, CollisionResolved):
        log.info("%s: connection collision (RFC 4271 §6.8), closing one of the two", name)
    elif isinstance(event, ConnectionRefused):
        log.info("%s: refusing a connection from the peer: %s", name, event.reason)
    elif isinstance(event, MessageSent | MessageReceived):
        direction = "sent" if isinstance(event, MessageSent) else "received"
        log.info("%s: %s\n%s", name, direction, describe_message(event.octets, event.codec))


def _log_update(name: str, peer: Peer, update: Update) -> None:
    if update.treat_as_withdraw:
        log.warning("%s: malformed UPDATE treated as withdraw (RFC 7606): %s",
                    name, "; ".join(update.errors))  # fmt: skip
    for family, (reason, rule) in update.unusable.items():
        level = logging.INFO if rule == AS_LOOP else logging.WARNING  # a loop is no fault
        log.log(level, "%s: %s routes treated as withdrawn: %s (%s)",
                name, family_name(*family), reason, rule)  # fmt: skip
    for family, reason in update.ignored_families.items():
        log.warning("%s: %s routes ignored: %s (RFC 4760 §8)",
                    name, family_name(*family), reason)  # fmt: skip
    if not log.isEnabledFor(logging.INFO):
        return
    announced = sum(len(keys) for _, keys, _ in update.announced_groups())
    withdrawn = sum(len(keys) for _, keys in update.withdrawn_groups())
    if announced + withdrawn > DETAILED_UPDATE_LIMIT:
        log.debug("%s: received %d prefixes, %d withdrawn", name, announced, withdrawn)
        return
    for _afi, _safi, prefix in update.announced():
        attributes = peer.rib_in.get(prefix)
        summary = route_summary(route_json(prefix, attributes)) if attributes else ""
        log.info("%s: received %s (%s)", name, prefix, summary)
    for _afi, _safi, prefix in update.withdrawn_prefixes():
        log.info("%s: withdrew %s", name, prefix)  # the peer did; ours: "withdrawing"


def route_summary(route: dict[str, object]) -> str:
    """'AS path 4290001234, next hop 192.168.57.10, MED 0' (a `route_json`)."""
    as_path = route["as_path"]
    assert isinstance(as_path, list)
    parts = [
        "AS path " + (" ".join(map(str, as_path)) or "(empty)"),
        f"next hop {route['next_hop']}",
    ]
    if route["med"] is not None:
        parts.append(f"MED {route['med']}")
    for key, label in (("communities", "communities"), ("large_communities", "large communities")):
        values = route[key]
        if values:
            assert isinstance(values, list)
            parts.append(f"{label} " + " ".join(values))
    return ", ".join(parts)
