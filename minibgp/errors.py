"""BGP errors: the NOTIFICATION codes and subcodes, and the one exception malformed input raises.

Every malformed message raises `BGPError`, which carries the NOTIFICATION Error Code, Error
Subcode and Data the RFCs prescribe (RFC 4271 §4.5, §6). The session turns it into a NOTIFICATION
in one place, with `BGPError.to_notification()`.

Path attribute errors that RFC 7606 does not punish with a session reset raise
`MalformedAttribute`, whose `action` says what to do instead (treat-as-withdraw, attribute
discard); the UPDATE decoder catches those and records the outcome on the `Update`.
"""

from __future__ import annotations

from enum import Enum, IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from minibgp.wire.messages import Notification


class ErrorCode(IntEnum):
    """NOTIFICATION Error Code (RFC 4271 §4.5, RFC 7313 §5)."""

    MESSAGE_HEADER_ERROR = 1
    OPEN_MESSAGE_ERROR = 2
    UPDATE_MESSAGE_ERROR = 3
    HOLD_TIMER_EXPIRED = 4
    FINITE_STATE_MACHINE_ERROR = 5
    CEASE = 6
    ROUTE_REFRESH_MESSAGE_ERROR = 7


class HeaderErrorSubcode(IntEnum):
    """Message Header Error subcodes (RFC 4271 §6.1)."""

    UNSPECIFIC = 0
    CONNECTION_NOT_SYNCHRONIZED = 1
    BAD_MESSAGE_LENGTH = 2
    BAD_MESSAGE_TYPE = 3


class OpenErrorSubcode(IntEnum):
    """OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492 §5)."""

    UNSPECIFIC = 0
    UNSUPPORTED_VERSION_NUMBER = 1
    BAD_PEER_AS = 2
    BAD_BGP_IDENTIFIER = 3
    UNSUPPORTED_OPTIONAL_PARAMETER = 4
    UNACCEPTABLE_HOLD_TIME = 6
    UNSUPPORTED_CAPABILITY = 7


class UpdateErrorSubcode(IntEnum):
    """UPDATE Message Error subcodes (RFC 4271 §6.3)."""

    UNSPECIFIC = 0
    MALFORMED_ATTRIBUTE_LIST = 1
    UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE = 2
    MISSING_WELL_KNOWN_ATTRIBUTE = 3
    ATTRIBUTE_FLAGS_ERROR = 4
    ATTRIBUTE_LENGTH_ERROR = 5
    INVALID_ORIGIN_ATTRIBUTE = 6
    INVALID_NEXT_HOP_ATTRIBUTE = 8
    OPTIONAL_ATTRIBUTE_ERROR = 9
    INVALID_NETWORK_FIELD = 10
    MALFORMED_AS_PATH = 11


class FsmErrorSubcode(IntEnum):
    """Finite State Machine Error subcodes (RFC 6608 §3)."""

    UNSPECIFIED = 0
    UNEXPECTED_MESSAGE_IN_OPENSENT = 1
    UNEXPECTED_MESSAGE_IN_OPENCONFIRM = 2
    UNEXPECTED_MESSAGE_IN_ESTABLISHED = 3


class CeaseSubcode(IntEnum):
    """Cease subcodes (RFC 4486 §4, RFC 8203 for the shutdown communication)."""

    MAXIMUM_NUMBER_OF_PREFIXES_REACHED = 1
    ADMINISTRATIVE_SHUTDOWN = 2
    PEER_DE_CONFIGURED = 3
    ADMINISTRATIVE_RESET = 4
    CONNECTION_REJECTED = 5
    OTHER_CONFIGURATION_CHANGE = 6
    CONNECTION_COLLISION_RESOLUTION = 7
    OUT_OF_RESOURCES = 8


class RouteRefreshErrorSubcode(IntEnum):
    """ROUTE-REFRESH Message Error subcodes (RFC 7313 §5)."""

    INVALID_MESSAGE_LENGTH = 1


_SUBCODES: dict[int, type[IntEnum]] = {
    ErrorCode.MESSAGE_HEADER_ERROR: HeaderErrorSubcode,
    ErrorCode.OPEN_MESSAGE_ERROR: OpenErrorSubcode,
    ErrorCode.UPDATE_MESSAGE_ERROR: UpdateErrorSubcode,
    ErrorCode.FINITE_STATE_MACHINE_ERROR: FsmErrorSubcode,
    ErrorCode.CEASE: CeaseSubcode,
    ErrorCode.ROUTE_REFRESH_MESSAGE_ERROR: RouteRefreshErrorSubcode,
}


def error_name(code: int, subcode: int) -> str:
    """Plain name of a NOTIFICATION code/subcode pair, e.g. 'Cease / Administrative Shutdown'."""
    try:
        code_name = _words(ErrorCode(code).name)
    except ValueError:
        return f"unknown error code {code} / subcode {subcode}"
    subcodes = _SUBCODES.get(code)
    if subcodes is None:
        return code_name if subcode == 0 else f"{code_name} / subcode {subcode}"
    try:
        return f"{code_name} / {_words(subcodes(subcode).name)}"
    except ValueError:
        return f"{code_name} / unknown subcode {subcode}"


def _words(enum_name: str) -> str:
    small = {"AS", "BGP", "NEXT", "HOP", "FSM", "OPEN", "UPDATE", "ROUTE", "REFRESH"}
    words = enum_name.split("_")
    return " ".join(w if w in small else w.capitalize() for w in words).replace(
        "NEXT HOP", "NEXT_HOP"
    )


class BGPError(Exception):
    """Malformed or unacceptable input; carries the NOTIFICATION that answers it."""

    def __init__(self, code: int, subcode: int, data: bytes = b"", reason: str = "") -> None:
        self.code = int(code)
        self.subcode = int(subcode)
        self.data = bytes(data)
        self.reason = reason or error_name(code, subcode)
        super().__init__(f"{error_name(code, subcode)}: {self.reason}")

    def to_notification(self) -> Notification:
        """The NOTIFICATION message to send for this error."""
        from minibgp.wire.messages import Notification

        return Notification(self.code, self.subcode, self.data)


class ErrorAction(Enum):
    """What RFC 7606 §2 says to do with an UPDATE whose path attributes are malformed."""

    SESSION_RESET = "session reset"
    TREAT_AS_WITHDRAW = "treat-as-withdraw"
    ATTRIBUTE_DISCARD = "attribute discard"


class MalformedAttribute(BGPError):
    """A path attribute that is malformed; `action` is the RFC 7606 outcome.

    `code`/`subcode`/`data` are those RFC 4271 §6.3 gives, used when the action is a session reset.
    """

    def __init__(
        self,
        action: ErrorAction,
        subcode: int,
        data: bytes = b"",
        reason: str = "",
    ) -> None:
        super().__init__(ErrorCode.UPDATE_MESSAGE_ERROR, subcode, data, reason)
        self.action = action
