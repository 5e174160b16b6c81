"""MULTI_EXIT_DISC (RFC 4271 §4.3 d, §5.1.4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from minibgp.wire.attributes.base import OPTIONAL_NON_TRANSITIVE, AttributeType, FourOctetValue
from minibgp.wire.errors import ErrorAction


@dataclass(frozen=True)
class MultiExitDisc(FourOctetValue):
    """Optional non-transitive: the MED, lower is preferred."""

    value: int

    type_code: ClassVar[int] = AttributeType.MULTI_EXIT_DISC
    flags: ClassVar[int] = OPTIONAL_NON_TRANSITIVE
    rfc: ClassVar[str] = "RFC 4271 §5.1.4"
    malformed_action: ClassVar[ErrorAction] = ErrorAction.TREAT_AS_WITHDRAW  # RFC 7606 §7.4
