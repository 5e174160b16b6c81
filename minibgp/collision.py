"""Connection collision resolution (RFC 4271 §6.8), as pure functions.

Two speakers that both connect at once end up with two TCP connections for one session. When
an OPEN arrives on one of them, the other connection to the same peer decides: an Established
one always wins; one in OpenConfirm (whose peer BGP Identifier is known) is compared by BGP
Identifier; one still in Connect, Active or OpenSent does not collide yet.

The shell, which owns both `Connection` objects, asks `collision_loser()` (or, with states and
identifiers at hand, `resolve_collision()`) as soon as an OPEN arrives on either, and tells the
loser `Connection.collision_lost(now)`: it sends Cease / Connection Collision Resolution
(RFC 4486 §4, subcode 7) and closes.
"""

from __future__ import annotations

from enum import Enum
from ipaddress import IPv4Address
from typing import TYPE_CHECKING

from minibgp.fsm import State

if TYPE_CHECKING:
    from minibgp.connection import Connection


class Initiator(Enum):
    """Which side opened a TCP connection."""

    LOCAL = "local"  # we connected to the peer (outbound)
    REMOTE = "remote"  # the peer connected to us (inbound)


class Survivor(Enum):
    """Which of two colliding connections goes on."""

    EXISTING = "existing"  # the connection that was already there
    NEW = "new"  # the connection on which the OPEN just arrived


def surviving_initiator(
    local_identifier: IPv4Address,
    remote_identifier: IPv4Address,
    local_as: int,
    remote_as: int,
) -> Initiator:
    """Whose connection survives a collision: the one the higher BGP Identifier opened.

    RFC 4271 §6.8 compares the identifiers "as 4-octet unsigned integers"; when they are equal
    (possible between ASes, RFC 6286 §2.3), the connection opened by the larger AS survives.
    """
    local_key = (int(local_identifier), local_as)
    remote_key = (int(remote_identifier), remote_as)
    return Initiator.LOCAL if local_key > remote_key else Initiator.REMOTE


def resolve_collision(
    existing_state: State,
    existing_initiator: Initiator,
    local_identifier: IPv4Address,
    remote_identifier: IPv4Address,
    local_as: int,
    remote_as: int,
) -> Survivor | None:
    """Which connection goes on after an OPEN from the peer arrived on a new connection.

    `existing_state` and `existing_initiator` describe the other connection to the same peer
    (the new one was opened by the other side). None: no collision yet, keep both.
    """
    if existing_state is State.Established:
        # RFC 4271 §6.8: a collision with an Established connection closes the new one.
        return Survivor.EXISTING
    if existing_state is not State.OpenConfirm:
        # RFC 4271 §6.8: only OpenConfirm connections, whose peer identifier is known, collide.
        return None
    winner = surviving_initiator(local_identifier, remote_identifier, local_as, remote_as)
    return Survivor.EXISTING if winner is existing_initiator else Survivor.NEW


def collision_loser(
    new: Connection, new_initiator: Initiator, existing: Connection
) -> Connection | None:
    """Which of two connections to the same peer must go, now that `new` received an OPEN.

    `new_initiator` says who opened `new`; `existing` was opened by the other side. None when
    there is no collision (yet).
    """
    negotiated = new.negotiated
    if negotiated is None:
        return None
    existing_initiator = Initiator.REMOTE if new_initiator is Initiator.LOCAL else Initiator.LOCAL
    survivor = resolve_collision(
        existing.state,
        existing_initiator,
        new.settings.router_id,
        negotiated.peer_identifier,
        new.settings.local_as,
        negotiated.peer_as,
    )
    if survivor is None:
        return None
    return new if survivor is Survivor.EXISTING else existing
