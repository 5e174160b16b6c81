"""The asyncio runner of the health checks: it starts the probes and watchers `HealthState`
asks for and tells the speaker when a prefix should be announced or withdrawn.

    monitor = HealthMonitor(checks, {"169.254.0.1/32": ["dns-local"]}, on_change)
    monitor.start()                 # in the running loop
    ...                             # on_change("169.254.0.1/32", True) once the checks pass
    await monitor.close()

`on_change(prefix, up)` is called only when a prefix changes: announce when `up`, withdraw when
not. All decisions are `HealthState`'s; this module only moves time and results.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence

from minibgp.health.checks import Check, ProbeResult
from minibgp.health.state import (
    CheckDown,
    CheckUp,
    HealthState,
    PrefixDown,
    PrefixUp,
    ProbeRequest,
)

logger = logging.getLogger(__name__)

ChangeCallback = Callable[[str, bool], None]


class HealthMonitor:
    """Runs `checks` and reports, per prefix, whether all of its checks pass."""

    def __init__(
        self,
        checks: Sequence[Check],
        prefixes: Mapping[str, Sequence[str]],
        on_change: ChangeCallback,
    ) -> None:
        self.checks = {check.name: check for check in checks}
        self.state = HealthState({c.name: c.timing for c in checks}, prefixes)
        self.on_change = on_change
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._probes: dict[str, tuple[int, asyncio.Task[ProbeResult]]] = {}
        self._watchers: list[asyncio.Task[None]] = []

    def is_up(self, prefix: str) -> bool:
        return self.state.is_up(prefix)

    def start(self) -> None:
        """Start the watchers and the first probes (in the running event loop)."""
        self._loop = asyncio.get_running_loop()
        for name, check in self.checks.items():
            watcher = check.watcher()
            if watcher is not None:
                self._watchers.append(
                    self._loop.create_task(watcher.run(self._lost_callback(name)))
                )
        self._service()

    async def close(self) -> None:
        """Stop every probe, watcher and timer."""
        if self._timer is not None:
            self._timer.cancel()
        tasks = [task for _, task in self._probes.values()] + self._watchers
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._probes.clear()
        self._watchers.clear()
        self._loop = None

    # -- moving time and results -------------------------------------------------------------

    def _service(self) -> None:
        """Start due probes, drop abandoned ones, re-arm the timer, pass on the events."""
        loop = self._loop
        if loop is None:
            return
        now = loop.time()
        for request in self.state.probes_to_start(now):
            self._start_probe(request)
        for name, (probe_id, task) in list(self._probes.items()):
            if self.state.in_flight(name) != probe_id:  # timed out: the result is moot
                task.cancel()
                del self._probes[name]
        if self._timer is not None:
            self._timer.cancel()
        when = self.state.get_timer()
        self._timer = None if when is None else loop.call_at(max(when, now), self._on_timer)
        self._dispatch_events()

    def _on_timer(self) -> None:
        if self._loop is not None:
            self._timer = None
            self.state.handle_timer(self._loop.time())
            self._service()

    def _start_probe(self, request: ProbeRequest) -> None:
        assert self._loop is not None
        task = self._loop.create_task(self.checks[request.check].probe())
        self._probes[request.check] = (request.probe_id, task)
        task.add_done_callback(lambda done: self._probe_done(request, done))

    def _probe_done(self, request: ProbeRequest, task: asyncio.Task[ProbeResult]) -> None:
        if task.cancelled() or self._loop is None:
            return
        if self._probes.get(request.check, (None,))[0] == request.probe_id:
            del self._probes[request.check]
        error = task.exception()
        result = ProbeResult(False, f"probe failed: {error!r}") if error else task.result()
        if not result.ok:
            logger.debug("probe of %s failed: %s", request.check, result.reason)
        self.state.probe_result(
            request.check, request.probe_id, result.ok, self._loop.time(), result.reason
        )
        self._service()

    def _lost_callback(self, name: str) -> Callable[[str], None]:
        def lost(reason: str) -> None:
            if self._loop is not None:
                self.state.watch_lost(name, self._loop.time(), reason)
                self._service()

        return lost

    def _dispatch_events(self) -> None:
        while (event := self.state.next_event()) is not None:
            if isinstance(event, CheckUp):
                logger.info("check %s passes", event.check)
            elif isinstance(event, CheckDown):
                logger.warning("check %s fails: %s", event.check, event.reason)
            else:
                up = isinstance(event, PrefixUp)
                if isinstance(event, PrefixDown):
                    logger.warning("%s: withdraw (failing: %s)", event.prefix, event.failing)
                else:
                    logger.info("%s: announce", event.prefix)
                try:
                    self.on_change(event.prefix, up)
                except Exception:
                    logger.exception("health change callback for %s failed", event.prefix)
