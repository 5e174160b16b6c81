"""What a `Connection` and a `Peer` tell the code driving them, one small class per kind of news.

Read them with `Connection.next_event()` (or `Peer.next_event()`, which hands them on with the
channel they happened on) after every call into the connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from minibgp.fsm import State

if TYPE_CHECKING:
    from minibgp.negotiation import Negotiated
    from minibgp.wire.context import CodecContext
    from minibgp.wire.messages import Notification, Open, Update


class ConnectionEvent:
    """Base class of everything `Connection.next_event()` returns."""


@dataclass(frozen=True)
class StateChanged(ConnectionEvent):
    """The FSM moved from `old` to `new` (RFC 4271 §8.2.2)."""

    old: State
    new: State


@dataclass(frozen=True)
class ConnectRequested(ConnectionEvent):
    """Open a TCP connection to the peer, then call `tcp_connected` or `tcp_failed`."""


@dataclass(frozen=True)
class CloseRequested(ConnectionEvent):
    """Close the TCP connection (or give up the attempt) once `data_to_send()` is written."""


@dataclass(frozen=True)
class SessionEstablished(ConnectionEvent):
    """The session reached Established; `negotiated` is what both OPENs agreed on."""

    peer_open: Open
    negotiated: Negotiated


@dataclass(frozen=True)
class SessionEnded(ConnectionEvent):
    """An Established session ended; every route learned from the peer is gone."""

    reason: str


@dataclass(frozen=True)
class UpdateReceived(ConnectionEvent):
    """An UPDATE that is not an End-of-RIB marker.

    RFC 7606 outcomes are on the update itself (`update.treat_as_withdraw`: its announced
    routes are to be handled as withdrawn).
    """

    update: Update


@dataclass(frozen=True)
class EndOfRibReceived(ConnectionEvent):
    """The peer finished sending its routes of one family (RFC 4724 §2)."""

    afi: int
    safi: int


@dataclass(frozen=True)
class RouteRefreshReceived(ConnectionEvent):
    """The peer asked for our routes of a family again (RFC 2918); they are being re-sent."""

    afi: int
    safi: int


@dataclass(frozen=True)
class NotificationReceived(ConnectionEvent):
    """The peer sent a NOTIFICATION and the connection is closing (RFC 4271 §6)."""

    notification: Notification


@dataclass(frozen=True)
class NotificationSent(ConnectionEvent):
    """We sent a NOTIFICATION; `reason` says why in words."""

    notification: Notification
    reason: str


@dataclass(frozen=True)
class MessageReceived(ConnectionEvent):
    """A message as it arrived, header included, before it is decoded: also a malformed or an
    unexpected one (only with `SessionSettings.trace`). `codec` is how the session reads it."""

    octets: bytes
    codec: CodecContext


@dataclass(frozen=True)
class MessageSent(ConnectionEvent):
    """A message as it was sent (only with `SessionSettings.trace`)."""

    octets: bytes
    codec: CodecContext


class PeerEvent:
    """Base class of what a `Peer` adds to its Connections' events."""


@dataclass(frozen=True)
class CollisionResolved(PeerEvent):
    """This channel lost a connection collision (RFC 4271 §6.8) and is being closed."""


@dataclass(frozen=True)
class ConnectionRefused(PeerEvent):
    """A connection from the peer was refused; `reason` says why."""

    reason: str


@dataclass(frozen=True)
class RoutesForgotten(PeerEvent):
    """The session ended, and the `count` routes the peer had sent are forgotten."""

    count: int
