"""What a `Connection` tells the code driving it, one small class per kind of news.

Read them with `Connection.next_event()` after every call into the connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from minibgp.fsm import State

if TYPE_CHECKING:
    from minibgp.negotiation import Negotiated
    from minibgp.wire.messages import Message, Notification, Open, Update


class Event:
    """Base class of everything `Connection.next_event()` returns."""


@dataclass(frozen=True)
class StateChanged(Event):
    """The FSM moved from `old` to `new` (RFC 4271 §8.2.2)."""

    old: State
    new: State


@dataclass(frozen=True)
class ConnectRequested(Event):
    """Open a TCP connection to the peer, then call `tcp_connected` or `tcp_failed`."""


@dataclass(frozen=True)
class CloseRequested(Event):
    """Close the TCP connection (or give up the attempt) once `data_to_send()` is written."""


@dataclass(frozen=True)
class SessionEstablished(Event):
    """The session reached Established; `negotiated` is what both OPENs agreed on."""

    peer_open: Open
    negotiated: Negotiated


@dataclass(frozen=True)
class SessionDown(Event):
    """An Established session ended; every route learned from the peer is gone."""

    reason: str


@dataclass(frozen=True)
class UpdateReceived(Event):
    """An UPDATE that is not an End-of-RIB marker.

    RFC 7606 outcomes are on the update itself (`update.treat_as_withdraw`: its announced
    routes are to be handled as withdrawn).
    """

    update: Update


@dataclass(frozen=True)
class EndOfRibReceived(Event):
    """The peer finished sending its routes of one family (RFC 4724 §2)."""

    afi: int
    safi: int


@dataclass(frozen=True)
class RouteRefreshReceived(Event):
    """The peer asked for our routes of a family again (RFC 2918); they are being re-sent."""

    afi: int
    safi: int


@dataclass(frozen=True)
class NotificationReceived(Event):
    """The peer sent a NOTIFICATION and the connection is closing (RFC 4271 §6)."""

    notification: Notification


@dataclass(frozen=True)
class NotificationSent(Event):
    """We sent a NOTIFICATION; `reason` says why in words."""

    notification: Notification
    reason: str


@dataclass(frozen=True)
class MessageReceived(Event):
    """Any message received (only with `SessionSettings.trace`)."""

    message: Message


@dataclass(frozen=True)
class MessageSent(Event):
    """Any message sent (only with `SessionSettings.trace`)."""

    message: Message
