"""The asyncio runner of the health checks: it starts the probes and watchers `HealthState`
asks for and tells the speaker when a prefix should be announced or withdrawn.

    monitor = HealthMonitor(checks, {"169.254.0.1/32": ["dns-local"]}, on_change)
    monitor.start()                 # in the running loop
    ...                             # on_change("169.254.0.1/32", True) once the checks pass
    monitor.reconfigure(checks, prefixes)   # SIGHUP: unchanged checks keep their state
    await monitor.close()

`on_change(prefix, up)` is called only when a prefix changes: announce when `up`, withdraw when
not. All decisions are `HealthState`'s; this module only moves time and results.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
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
from minibgp.timer import CoreTimer

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
        self._timer: CoreTimer | None = None
        self._probes: dict[str, tuple[int, asyncio.Task[ProbeResult]]] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._stopping: list[asyncio.Task[object]] = []  # cancelled, awaited by close()

    def is_up(self, prefix: str) -> bool:
        return self.state.is_up(prefix)

    def start(self) -> None:
        """Start the watchers and the first probes (in the running event loop)."""
        self._loop = asyncio.get_running_loop()
        self._timer = CoreTimer(self._loop, self._on_timer)
        for name in self.checks:
            self._start_watcher(name)
        self._service()

    def reconfigure(self, checks: Sequence[Check], prefixes: Mapping[str, Sequence[str]]) -> None:
        """New checks and prefixes (SIGHUP). A check whose definition is unchanged keeps its
        state, its probe in flight and its watcher: prefixes that depend only on unchanged
        checks are neither withdrawn nor announced again."""
        new = {check.name: check for check in checks}
        unchanged = {name for name, check in new.items() if self.checks.get(name) == check}
        for name in set(self.checks) - unchanged:
            self._stop(name)
        self.checks = new
        self.state.reconfigure({c.name: c.timing for c in checks}, prefixes, unchanged)
        if self._loop is not None:
            for name in set(new) - unchanged:
                self._start_watcher(name)
            self._service()

    async def close(self) -> None:
        """Stop every probe, watcher and timer."""
        if self._timer is not None:
            self._timer.cancel()
        for name in list(self.checks):
            self._stop(name)
        for task in self._stopping:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._stopping.clear()
        self._loop = None

    # -- moving time and results -------------------------------------------------------------

    def _service(self) -> None:
        """Start due probes, drop abandoned ones, re-arm the timer, pass on the events."""
        loop = self._loop
        if loop is None or self._timer is None:
            return
        now = loop.time()
        for request in self.state.probes_to_start(now=now):
            self._start_probe(request)
        for name, (probe_id, task) in list(self._probes.items()):
            if self.state.in_flight(name) != probe_id:  # timed out: the result is moot
                task.cancel()
                del self._probes[name]
        self._timer.rearm(self.state.get_timer())
        self._dispatch_events()

    def _on_timer(self) -> None:
        if self._loop is not None:
            self.state.handle_timer(now=self._loop.time())
            self._service()

    def _start_probe(self, request: ProbeRequest) -> None:
        assert self._loop is not None
        task = self._loop.create_task(self.checks[request.check].probe())
        self._probes[request.check] = (request.probe_id, task)
        # A stopwatch for the probe's latency: the loop's clock may tick in milliseconds (uvloop).
        started = time.perf_counter()
        task.add_done_callback(
            lambda done: self._probe_done(request, done, time.perf_counter() - started)
        )

    def _probe_done(
        self, request: ProbeRequest, task: asyncio.Task[ProbeResult], latency: float
    ) -> None:
        if task.cancelled() or self._loop is None:
            return
        if self._probes.get(request.check, (None,))[0] == request.probe_id:
            del self._probes[request.check]
        error = task.exception()
        result = ProbeResult(False, f"probe failed: {error!r}") if error else task.result()
        if not result.ok:
            logger.debug("probe of %s failed: %s", request.check, result.reason)
        if request.check in self.checks:
            self.state.probe_result(
                request.check,
                request.probe_id,
                result.ok,
                result.reason,
                latency,
                now=self._loop.time(),
            )
        self._service()

    def _start_watcher(self, name: str) -> None:
        assert self._loop is not None
        watcher = self.checks[name].watcher()
        if watcher is not None:
            self._watchers[name] = self._loop.create_task(watcher.run(self._lost_callback(name)))

    def _stop(self, name: str) -> None:
        """Cancel the probe and the watcher of check `name` (close() awaits them)."""
        tasks: list[asyncio.Task[object]] = []
        if name in self._probes:
            tasks.append(self._probes.pop(name)[1])
        if name in self._watchers:
            tasks.append(self._watchers.pop(name))
        for task in tasks:
            task.cancel()
        self._stopping = [t for t in self._stopping if not t.done()] + tasks

    def _lost_callback(self, name: str) -> Callable[[str], None]:
        def lost(reason: str) -> None:
            if self._loop is not None and name in self.checks:
                self.state.watch_lost(name, reason, now=self._loop.time())
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
