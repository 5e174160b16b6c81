"""The one timer idiom of minibgp's asyncio shells (the shape of aioquic's asyncio protocol).

Every sans-I/O core (a peer's connections, a BFD session, the health checks, the drains) says
when it next needs the clock with `get_timer()`. After each pump the shell re-arms ONE
`loop.call_at` for that time; when it fires, the shell calls the core's `handle_timer(now=...)`
with the loop's clock and pumps again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class CoreTimer:
    """One `loop.call_at` for one core, re-armed from its `get_timer()` after each pump."""

    def __init__(self, loop: asyncio.AbstractEventLoop, on_due: Callable[[], None]) -> None:
        self._loop = loop
        self._on_due = on_due
        self._handle: asyncio.TimerHandle | None = None
        self._when: float | None = None

    def rearm(self, when: float | None) -> None:
        """Fire at `when` (the loop's clock), or never when None; a past time fires at once."""
        if when == self._when and self._handle is not None:
            return
        self.cancel()
        if when is not None:
            self._when = when
            self._handle = self._loop.call_at(when, self._fire)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = self._when = None

    def _fire(self) -> None:
        self._handle = self._when = None
        self._on_due()
