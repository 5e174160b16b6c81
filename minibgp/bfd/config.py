"""A peer's `bfd` setting in the speaker's TOML config, read from the plain parsed value.

    [[peer]]
    address = "192.168.57.10"
    asn = 4290001234
    bfd = true                                   # defaults: 300 ms x 3
    # or
    bfd = { min_tx = 100, min_rx = 100, multiplier = 3 }

`min_tx` is the Desired Min TX Interval and `min_rx` the Required Min RX Interval, in
milliseconds (RFC 5880 §6.8.1); `multiplier` is Detect Mult. The peer is declared down after
its multiplier times the slower of our `min_rx` and its transmit interval (RFC 5880 §6.8.4).
`bfd = false` or no `bfd` key: no BFD session.

The speaker's config loader calls `parse_bfd(table.get("bfd"), "peer[0].bfd")`; errors are
`BfdConfigError`, whose message names the key and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minibgp.bfd.session import MAX_INTERVAL, SessionParameters

DEFAULT_INTERVAL_MS = 300
DEFAULT_MULTIPLIER = 3
KEYS = ("min_tx", "min_rx", "multiplier")


class BfdConfigError(ValueError):
    """A `bfd` setting that cannot be used; `key` is the dotted key, `reason` says why."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


def parse_bfd(value: Any, key: str = "bfd") -> SessionParameters | None:
    """The session parameters a `bfd` value asks for, or None for no BFD."""
    if value is None or value is False:
        return None
    if value is True:
        value = {}
    if not isinstance(value, Mapping):
        raise BfdConfigError(key, "must be true, false or a table {min_tx, min_rx, multiplier}")
    unknown = sorted(set(value) - set(KEYS))
    if unknown:
        raise BfdConfigError(f"{key}.{unknown[0]}", f"unknown key (known: {', '.join(KEYS)})")
    max_ms = MAX_INTERVAL // 1000
    min_tx = _integer(value, "min_tx", key, DEFAULT_INTERVAL_MS, 1, max_ms)
    min_rx = _integer(value, "min_rx", key, DEFAULT_INTERVAL_MS, 1, max_ms)
    multiplier = _integer(value, "multiplier", key, DEFAULT_MULTIPLIER, 1, 255)
    return SessionParameters(min_tx * 1000, min_rx * 1000, multiplier)


def _integer(
    table: Mapping[str, Any], name: str, key: str, default: int, low: int, high: int
) -> int:
    value = table.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BfdConfigError(f"{key}.{name}", f"must be an integer, not {value!r}")
    if not low <= value <= high:
        raise BfdConfigError(f"{key}.{name}", f"must be {low}..{high}")
    return value
