"""Capabilities advertised in OPEN (RFC 5492), one small class each.

Every capability has the same interface: `code`, `pack_value()`, `unpack_value(value)` and
`describe()`. Capabilities we do not know are kept as `UnknownCapability` (RFC 5492 §3: ignored).
Graceful Restart is deliberately absent: advertising it makes routers keep a dead anycast
server's routes as stale.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Self

from minibgp.wire.errors import BGPError, ErrorCode, OpenErrorSubcode
from minibgp.wire.nlri import family_name

AS_TRANS = 23456  # RFC 6793 §9
MAX_ASN = 2**32 - 1  # RFC 6793: AS numbers are 4 octets

CAPABILITIES_OPTIONAL_PARAMETER = 2  # RFC 5492 §4
EXTENDED_LENGTH_MARKER = 255  # RFC 9072 §2


def _malformed(reason: str) -> BGPError:
    return BGPError(ErrorCode.OPEN_MESSAGE_ERROR, OpenErrorSubcode.UNSPECIFIC, reason=reason)


class Capability(ABC):
    """One capability: Capability Code, Length, Value (RFC 5492 §4)."""

    code: ClassVar[int]
    name: ClassVar[str]
    rfc: ClassVar[str]

    @abstractmethod
    def pack_value(self) -> bytes:
        """The Capability Value octets."""

    @classmethod
    @abstractmethod
    def unpack_value(cls, value: bytes) -> Self:
        """Parse the Capability Value octets; BGPError when malformed."""

    @abstractmethod
    def describe(self) -> str:
        """The value in words."""

    def capability_code(self) -> int:
        """The Capability Code (UnknownCapability overrides this)."""
        return self.code

    def pack(self) -> bytes:
        """Code, Length and Value."""
        value = self.pack_value()
        return bytes((self.capability_code(), len(value))) + value


@dataclass(frozen=True)
class Multiprotocol(Capability):
    """Multiprotocol Extensions: one address family the speaker can exchange (RFC 4760 §8)."""

    afi: int
    safi: int

    code: ClassVar[int] = 1
    name: ClassVar[str] = "Multiprotocol Extensions"
    rfc: ClassVar[str] = "RFC 4760 §8"

    def pack_value(self) -> bytes:
        return self.afi.to_bytes(2, "big") + b"\x00" + bytes((self.safi,))

    @classmethod
    def unpack_value(cls, value: bytes) -> Self:
        if len(value) != 4:
            raise _malformed(f"Multiprotocol capability of {len(value)} octets, not 4")
        return cls(int.from_bytes(value[:2], "big"), value[3])

    def describe(self) -> str:
        return f"{family_name(self.afi, self.safi)} (AFI {self.afi}, SAFI {self.safi})"


@dataclass(frozen=True)
class RouteRefreshCapability(Capability):
    """The speaker accepts ROUTE-REFRESH messages (RFC 2918 §2)."""

    code: ClassVar[int] = 2
    name: ClassVar[str] = "Route Refresh"
    rfc: ClassVar[str] = "RFC 2918 §2"

    def pack_value(self) -> bytes:
        return b""

    @classmethod
    def unpack_value(cls, value: bytes) -> Self:
        if value:
            raise _malformed("Route Refresh capability with a value")
        return cls()

    def describe(self) -> str:
        return "supported"


@dataclass(frozen=True)
class FourOctetAS(Capability):
    """Support for 4-octet AS numbers, carrying the speaker's real AS (RFC 6793 §3)."""

    asn: int

    code: ClassVar[int] = 65
    name: ClassVar[str] = "Support for 4-octet AS number"
    rfc: ClassVar[str] = "RFC 6793 §3"

    def pack_value(self) -> bytes:
        return self.asn.to_bytes(4, "big")

    @classmethod
    def unpack_value(cls, value: bytes) -> Self:
        if len(value) != 4:
            raise _malformed(f"4-octet AS capability of {len(value)} octets, not 4")
        return cls(int.from_bytes(value, "big"))

    def describe(self) -> str:
        return f"AS {self.asn}"


@dataclass(frozen=True)
class UnknownCapability(Capability):
    """A capability minibgp does not implement; kept so it can be shown, otherwise ignored."""

    unknown_code: int
    value: bytes

    code: ClassVar[int] = -1
    name: ClassVar[str] = "unknown capability"
    rfc: ClassVar[str] = "RFC 5492 §4"

    def capability_code(self) -> int:
        return self.unknown_code

    def pack_value(self) -> bytes:
        return self.value

    @classmethod
    def unpack_value(cls, value: bytes) -> Self:
        raise TypeError("use UnknownCapability(code, value)")

    def describe(self) -> str:
        known = OTHER_CAPABILITIES.get(self.unknown_code)
        value = f"0x{self.value.hex()}" if self.value else "empty"
        return (
            f"{known[0]} ({known[1]}), ignored, value {value}"
            if known
            else f"ignored, value {value}"
        )


# Capabilities other speakers send that minibgp recognises by name only (IANA registry).
OTHER_CAPABILITIES: dict[int, tuple[str, str]] = {
    5: ("Extended Next Hop Encoding", "RFC 8950"),
    6: ("BGP Extended Message", "RFC 8654"),
    9: ("BGP Role", "RFC 9234"),
    64: ("Graceful Restart", "RFC 4724"),
    69: ("ADD-PATH", "RFC 7911"),
    70: ("Enhanced Route Refresh", "RFC 7313"),
    71: ("Long-Lived Graceful Restart", "RFC 9494"),
    73: ("FQDN", "draft-walton-bgp-hostname-capability"),
    75: ("Software Version", "draft-abraitis-bgp-version-capability"),
    128: ("Route Refresh (pre-standard)", "Cisco"),
}


CAPABILITY_CLASSES: dict[int, type[Capability]] = {
    cls.code: cls for cls in (Multiprotocol, RouteRefreshCapability, FourOctetAS)
}


def decode_capabilities(data: bytes) -> list[Capability]:
    """The capabilities in one Capabilities Optional Parameter's value (RFC 5492 §4)."""
    capabilities: list[Capability] = []
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise _malformed("capability header cut short")
        code, length = data[offset], data[offset + 1]
        value = data[offset + 2 : offset + 2 + length]
        if len(value) != length:
            raise _malformed(f"capability {code} runs past its optional parameter")
        cls = CAPABILITY_CLASSES.get(code)
        capabilities.append(cls.unpack_value(value) if cls else UnknownCapability(code, value))
        offset += 2 + length
    return capabilities


@dataclass(frozen=True)
class OptionalParameter:
    """One Optional Parameter of an OPEN (RFC 4271 §4.2): its type and its value octets."""

    type: int
    value: bytes


@dataclass(frozen=True)
class OptionalParametersLength:
    """How long the Optional Parameters are: Opt Parm Len (RFC 4271 §4.2) and, when it says
    255 and the next octet is 255 too, the 2-octet extended length of RFC 9072 §2."""

    opt_parm_len: int
    extended_length: int | None  # None: not extended

    @property
    def length(self) -> int:
        return self.opt_parm_len if self.extended_length is None else self.extended_length


def optional_parameters_length(data: bytes) -> OptionalParametersLength:
    """The length of the Optional Parameters; `data` starts at Opt Parm Len and runs to the
    end of the OPEN. BGPError when it does not match what follows."""
    if not data:
        raise _malformed("OPEN without an Opt Parm Len")
    # RFC 9072 §2: Opt Parm Len 255 followed by type 255 announces 2-octet lengths.
    if data[0] == EXTENDED_LENGTH_MARKER and len(data) >= 2 and data[1] == EXTENDED_LENGTH_MARKER:
        if len(data) < 4:
            raise _malformed("extended optional parameters length cut short")
        length = OptionalParametersLength(data[0], int.from_bytes(data[2:4], "big"))
        left = len(data) - 4
    else:
        length, left = OptionalParametersLength(data[0], None), len(data) - 1
    if length.length != left:
        raise _malformed(f"Opt Parm Len {length.length} does not match the {left} octets left")
    return length


def optional_parameters(data: bytes) -> Iterator[OptionalParameter]:
    """Each Optional Parameter of an OPEN, in order (RFC 4271 §4.2, RFC 9072); `data` starts at
    Opt Parm Len. BGPError, when reached, where the lengths do not add up."""
    wide = optional_parameters_length(data).extended_length is not None
    offset, header = (4, 3) if wide else (1, 2)
    while offset < len(data):
        if offset + header > len(data):
            raise _malformed("optional parameter header cut short")
        param_type = data[offset]
        param_length = int.from_bytes(data[offset + 1 : offset + header], "big")
        value = data[offset + header : offset + header + param_length]
        if len(value) != param_length:
            raise _malformed(f"optional parameter {param_type} runs past Opt Parm Len")
        yield OptionalParameter(param_type, value)
        offset += header + param_length


def decode_optional_parameters(data: bytes) -> list[Capability]:
    """The capabilities in the Optional Parameters of an OPEN (RFC 4271 §4.2, RFC 5492).

    `data` starts at the Opt Parm Len octet and runs to the end of the message.
    """
    capabilities: list[Capability] = []
    for parameter in optional_parameters(data):
        if parameter.type != CAPABILITIES_OPTIONAL_PARAMETER:
            # RFC 4271 §6.2
            raise BGPError(
                ErrorCode.OPEN_MESSAGE_ERROR,
                OpenErrorSubcode.UNSUPPORTED_OPTIONAL_PARAMETER,
                reason=f"optional parameter type {parameter.type} is not Capabilities (2)",
            )
        capabilities.extend(decode_capabilities(parameter.value))
    return capabilities


def encode_optional_parameters(capabilities: list[Capability]) -> bytes:
    """Opt Parm Len and Optional Parameters carrying `capabilities`.

    Each capability goes in its own Capabilities parameter (RFC 5492 §4 allows either);
    RFC 9072 extended lengths are used only when the parameters exceed 255 octets.
    """
    packed = [c.pack() for c in capabilities]
    short = b"".join(bytes((CAPABILITIES_OPTIONAL_PARAMETER, len(p))) + p for p in packed)
    if len(short) < EXTENDED_LENGTH_MARKER:
        return bytes((len(short),)) + short
    wide = b"".join(
        bytes((CAPABILITIES_OPTIONAL_PARAMETER,)) + len(p).to_bytes(2, "big") + p for p in packed
    )
    return (
        bytes((EXTENDED_LENGTH_MARKER, EXTENDED_LENGTH_MARKER))
        + len(wide).to_bytes(2, "big")
        + wide
    )
