"""LOCAL_PREF (RFC 4271 §4.3 e, §5.1.5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from minibgp.wire.attributes.base import WELL_KNOWN, AttributeType, FourOctetValue
from minibgp.wire.errors import ErrorAction


@dataclass(frozen=True)
class LocalPref(FourOctetValue):
    """Well-known (between internal peers): the degree of preference, higher is preferred."""

    value: int

    type_code: ClassVar[int] = AttributeType.LOCAL_PREF
    flags: ClassVar[int] = WELL_KNOWN
    rfc: ClassVar[str] = "RFC 4271 §5.1.5"
    malformed_action: ClassVar[ErrorAction] = ErrorAction.TREAT_AS_WITHDRAW  # RFC 7606 §7.5
