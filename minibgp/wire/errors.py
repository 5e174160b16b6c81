"""BGP errors: the NOTIFICATION codes and subcodes, and the one exception malformed input raises.

Every malformed message raises `BGPError`, which carries the NOTIFICATION Error Code, Error
Subcode and Data the RFCs prescribe (RFC 4271 §4.5, §6). The session turns it into a NOTIFICATION
in one place, with `Notification.from_error()` (minibgp.wire.messages).

Path attribute errors that RFC 7606 does not punish with a session reset raise
`MalformedAttribute`, whose `action` says what to do instead (treat-as-withdraw, attribute
discard); the UPDATE decoder catches those and records the outcome on the `Update`.
"""

from __future__ import annotations

from enum import Enum, IntEnum


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
    """Cease subcodes (RFC 4486 §4; RFC 8203 for the shutdown communication)."""

    MAXIMUM_NUMBER_OF_PREFIXES_REACHED = 1
    ADMINISTRATIVE_SHUTDOWN = 2
    PEER_DE_CONFIGURED = 3
    ADMINISTRATIVE_RESET = 4
    CONNECTION_REJECTED = 5
    OTHER_CONFIGURATION_CHANGE = 6
    CONNECTION_COLLISION_RESOLUTION = 7
    OUT_OF_RESOURCES = 8
    HARD_RESET = 9  # RFC 8538 §3
    BFD_DOWN = 10  # RFC 9384 §2


class RouteRefreshErrorSubcode(IntEnum):
    """ROUTE-REFRESH Message Error subcodes (RFC 7313 §5)."""

    INVALID_MESSAGE_LENGTH = 1


# The names the RFCs give each code and subcode, for logs and `--trace`.
_CODE_NAMES: dict[int, str] = {
    ErrorCode.MESSAGE_HEADER_ERROR: "Message Header Error",
    ErrorCode.OPEN_MESSAGE_ERROR: "OPEN Message Error",
    ErrorCode.UPDATE_MESSAGE_ERROR: "UPDATE Message Error",
    ErrorCode.HOLD_TIMER_EXPIRED: "Hold Timer Expired",
    ErrorCode.FINITE_STATE_MACHINE_ERROR: "Finite State Machine Error",
    ErrorCode.CEASE: "Cease",
    ErrorCode.ROUTE_REFRESH_MESSAGE_ERROR: "ROUTE-REFRESH Message Error",
}
_SUBCODE_NAMES: dict[int, dict[int, str]] = {
    ErrorCode.MESSAGE_HEADER_ERROR: {
        0: "Unspecific",
        1: "Connection Not Synchronized",
        2: "Bad Message Length",
        3: "Bad Message Type",
    },
    ErrorCode.OPEN_MESSAGE_ERROR: {
        0: "Unspecific",
        1: "Unsupported Version Number",
        2: "Bad Peer AS",
        3: "Bad BGP Identifier",
        4: "Unsupported Optional Parameter",
        6: "Unacceptable Hold Time",
        7: "Unsupported Capability",
    },
    ErrorCode.UPDATE_MESSAGE_ERROR: {
        0: "Unspecific",
        1: "Malformed Attribute List",
        2: "Unrecognized Well-known Attribute",
        3: "Missing Well-known Attribute",
        4: "Attribute Flags Error",
        5: "Attribute Length Error",
        6: "Invalid ORIGIN Attribute",
        8: "Invalid NEXT_HOP Attribute",
        9: "Optional Attribute Error",
        10: "Invalid Network Field",
        11: "Malformed AS_PATH",
    },
    ErrorCode.FINITE_STATE_MACHINE_ERROR: {
        0: "Unspecified Error",
        1: "Receive Unexpected Message in OpenSent State",
        2: "Receive Unexpected Message in OpenConfirm State",
        3: "Receive Unexpected Message in Established State",
    },
    ErrorCode.CEASE: {
        1: "Maximum Number of Prefixes Reached",
        2: "Administrative Shutdown",
        3: "Peer De-configured",
        4: "Administrative Reset",
        5: "Connection Rejected",
        6: "Other Configuration Change",
        7: "Connection Collision Resolution",
        8: "Out of Resources",
        9: "Hard Reset",
        10: "BFD Down",
    },
    ErrorCode.ROUTE_REFRESH_MESSAGE_ERROR: {1: "Invalid Message Length"},
}


def error_name(code: int, subcode: int) -> str:
    """Plain name of a NOTIFICATION code/subcode pair, e.g. 'Cease / Administrative Shutdown'."""
    code_name = _CODE_NAMES.get(code)
    if code_name is None:
        return f"unknown error code {code} / subcode {subcode}"
    subcodes = _SUBCODE_NAMES.get(code)
    if subcodes is None:
        return code_name if subcode == 0 else f"{code_name} / subcode {subcode}"
    return f"{code_name} / {subcodes.get(subcode, f'unknown subcode {subcode}')}"


class BGPError(Exception):
    """Malformed or unacceptable input; carries the NOTIFICATION that answers it."""

    def __init__(self, code: int, subcode: int, data: bytes = b"", reason: str = "") -> None:
        self.code = int(code)
        self.subcode = int(subcode)
        self.data = bytes(data)
        self.reason = reason or error_name(code, subcode)
        super().__init__(f"{error_name(code, subcode)}: {self.reason}")


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
