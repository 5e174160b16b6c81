"""Health of anycast prefixes from their checks: rise/fall per check, all-must-pass per prefix.

A sans-I/O scheduler in the style of the protocol cores: the caller passes `now=` (seconds,
keyword-only and last) into every call, starts the probes `probes_to_start(now=)` asks for,
reports each result with `probe_result`, reports a watcher's loss with `watch_lost`, calls
`handle_timer(now=)` when `get_timer()` comes, and reads events with `next_event()`.

Rules:
- A check starts failing. It passes after `rise` consecutive successful probes and fails again
  after `fall` consecutive failures. A probe not answered within `timeout` failed; a result that
  comes later is ignored.
- A watcher's loss (a held-open connection closed, a watched process gone) fails the check at
  once, whatever `fall` is, and restarts the count towards `rise`.
- Probes of a check start every `interval` seconds; never two of one check at a time.
- A prefix is up while every one of its checks passes (a prefix without checks is always up).
  Events are emitted only for changes.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Timing:
    """When a check is probed and how many results change its state."""

    interval: float = 1.0  # seconds from one probe's start to the next
    timeout: float = 0.5  # seconds a probe may take before it counts as failed
    rise: int = 2  # consecutive successes to pass
    fall: int = 2  # consecutive failures to fail

    def __post_init__(self) -> None:
        if not (self.interval > 0 and self.timeout > 0):
            raise ValueError("interval and timeout must be positive")
        if self.rise < 1 or self.fall < 1:
            raise ValueError("rise and fall must be at least 1")


@dataclass(frozen=True)
class ProbeRequest:
    """Start probe `probe_id` of `check`; it counts as failed if not answered by `deadline`."""

    check: str
    probe_id: int
    deadline: float
    started: float  # when it was asked for: its latency runs from here


@dataclass(frozen=True)
class CheckUp:
    check: str


@dataclass(frozen=True)
class CheckDown:
    check: str
    reason: str


@dataclass(frozen=True)
class PrefixUp:
    """Every check of the prefix passes: announce it."""

    prefix: str


@dataclass(frozen=True)
class PrefixDown:
    """A check of the prefix fails: withdraw it. `failing` names the checks that fail."""

    prefix: str
    failing: tuple[str, ...]


HealthEvent = CheckUp | CheckDown | PrefixUp | PrefixDown


@dataclass(frozen=True)
class Result:
    """What a probe (or a watcher) last said: `ok`, why not, and when."""

    ok: bool
    reason: str
    at: float


@dataclass
class CheckState:
    """The rise/fall counter of one check, its last result, and what it counted so far."""

    timing: Timing
    passing: bool = False
    successes: int = 0  # consecutive, while failing
    failures: int = 0  # consecutive, while passing
    next_start: float = -math.inf  # the first probe is due at once
    in_flight: ProbeRequest | None = None
    last_reason: str = field(default="no probe has passed yet")
    last_result: Result | None = None  # of the last probe or watch
    last_latency: float | None = None  # seconds the last probe took (its timeout, unanswered)
    probes_passed: int = 0
    probes_failed: int = 0
    transitions: int = 0  # changes between passing and failing

    def record(self, ok: bool, reason: str, latency: float, *, now: float) -> bool:
        """Count one probe result; return True if the check changed between passing and
        failing."""
        self.last_result = Result(ok, reason, now)
        self.last_latency = latency
        if ok:
            self.probes_passed += 1
        else:
            self.probes_failed += 1
            self.last_reason = reason
        if self.passing:
            self.failures = 0 if ok else self.failures + 1
            if self.failures >= self.timing.fall:
                self.passing, self.failures = False, 0
                self.transitions += 1
                return True
        else:
            self.successes = self.successes + 1 if ok else 0
            if self.successes >= self.timing.rise:
                self.passing, self.successes = True, 0
                self.transitions += 1
                return True
        return False

    def lose_watch(self, reason: str, *, now: float) -> bool:
        """Fail at once; return True if the check was passing."""
        self.last_result = Result(False, reason, now)
        self.last_reason = reason
        was_passing = self.passing
        self.passing, self.successes, self.failures = False, 0, 0
        self.transitions += was_passing
        return was_passing


class HealthState:
    """The checks of a speaker and the prefixes that depend on them."""

    def __init__(self, checks: Mapping[str, Timing], prefixes: Mapping[str, Sequence[str]]) -> None:
        _check_prefixes(checks, prefixes)
        self._checks = {name: CheckState(timing) for name, timing in checks.items()}
        self._prefixes = {prefix: tuple(names) for prefix, names in prefixes.items()}
        self._prefix_up = {prefix: not names for prefix, names in self._prefixes.items()}
        self._events: deque[HealthEvent] = deque(
            PrefixUp(prefix) for prefix, up in self._prefix_up.items() if up
        )
        self._next_probe_id = 1

    def reconfigure(
        self,
        checks: Mapping[str, Timing],
        prefixes: Mapping[str, Sequence[str]],
        unchanged: Collection[str] = (),
    ) -> None:
        """New checks and prefixes (the config was reloaded). The checks named in `unchanged`
        keep their state (passing or not, counts, the probe in flight); the others start
        afresh, failing. Events say only what changed: a prefix whose checks are all unchanged
        is neither announced nor withdrawn again."""
        _check_prefixes(checks, prefixes)
        self._checks = {
            name: self._checks[name]
            if name in unchanged and name in self._checks
            else CheckState(timing)
            for name, timing in checks.items()
        }
        was_up = self._prefix_up
        self._prefixes = {prefix: tuple(names) for prefix, names in prefixes.items()}
        self._prefix_up = {prefix: was_up.get(prefix, False) for prefix in self._prefixes}
        for prefix, names in self._prefixes.items():
            if not names and not self._prefix_up[prefix]:
                self._prefix_up[prefix] = True
                self._events.append(PrefixUp(prefix))
        self._update_prefixes()

    # -- queries ---------------------------------------------------------------------------

    def is_up(self, prefix: str) -> bool:
        return self._prefix_up[prefix]

    def check_passing(self, check: str) -> bool:
        return self._checks[check].passing

    @property
    def checks(self) -> Mapping[str, CheckState]:
        """Every check's state, by name (read only)."""
        return self._checks

    def check_state(self, check: str) -> CheckState:
        """The state of one check (read only: `passing`, the counts, `last_result`)."""
        return self._checks[check]

    def failing_checks(self, prefix: str) -> tuple[str, ...]:
        """The checks of `prefix` that do not pass (none: it is up)."""
        return tuple(
            name for name in self._prefixes.get(prefix, ()) if not self._checks[name].passing
        )

    def in_flight(self, check: str) -> int | None:
        """The id of the probe of `check` still awaited, if any."""
        request = self._checks[check].in_flight
        return request.probe_id if request else None

    # -- input -----------------------------------------------------------------------------

    def probes_to_start(self, *, now: float) -> list[ProbeRequest]:
        """The probes due at `now`; each is in flight until its result or its deadline."""
        requests = []
        for name, check in self._checks.items():
            if check.in_flight is None and now >= check.next_start:
                deadline = now + check.timing.timeout
                request = ProbeRequest(name, self._next_probe_id, deadline, started=now)
                self._next_probe_id += 1
                check.in_flight = request
                check.next_start = now + check.timing.interval
                requests.append(request)
        return requests

    def probe_result(
        self,
        check: str,
        probe_id: int,
        ok: bool,
        reason: str = "",
        latency: float | None = None,
        *,
        now: float,
    ) -> None:
        """A probe finished, having taken `latency` seconds (default: since it was asked for);
        results of probes no longer awaited are ignored."""
        state = self._checks[check]
        request = state.in_flight
        if request is None or request.probe_id != probe_id:
            return
        state.in_flight = None
        if latency is None:
            latency = now - request.started
        self._record(check, ok, "" if ok else reason or "probe failed", latency, now=now)

    def watch_lost(self, check: str, reason: str, *, now: float) -> None:
        """The check's watcher saw its target go away: fail the check now."""
        if self._checks[check].lose_watch(reason, now=now):
            self._events.append(CheckDown(check, reason))
            self._update_prefixes()

    def handle_timer(self, *, now: float) -> None:
        """Fail the probes whose deadline has passed."""
        for name, state in self._checks.items():
            request = state.in_flight
            if request is not None and now >= request.deadline:
                state.in_flight = None
                reason = f"no answer within {state.timing.timeout:g} s"
                self._record(name, False, reason, now - request.started, now=now)

    # -- output ----------------------------------------------------------------------------

    def get_timer(self) -> float | None:
        """The next time a probe is due or a deadline passes."""
        times = [
            state.in_flight.deadline if state.in_flight else state.next_start
            for state in self._checks.values()
        ]
        return min(times, default=None)

    def next_event(self) -> HealthEvent | None:
        return self._events.popleft() if self._events else None

    # -- internals -------------------------------------------------------------------------

    def _record(self, check: str, ok: bool, reason: str, latency: float, *, now: float) -> None:
        state = self._checks[check]
        if state.record(ok, reason, latency, now=now):
            self._events.append(
                CheckUp(check) if state.passing else CheckDown(check, state.last_reason)
            )
            self._update_prefixes()

    def _update_prefixes(self) -> None:
        """Emit PrefixUp / PrefixDown for every prefix whose checks now say otherwise."""
        for prefix in self._prefixes:
            failing = self.failing_checks(prefix)
            up = not failing
            if up != self._prefix_up[prefix]:
                self._prefix_up[prefix] = up
                self._events.append(PrefixUp(prefix) if up else PrefixDown(prefix, failing))


def _check_prefixes(checks: Mapping[str, Timing], prefixes: Mapping[str, Sequence[str]]) -> None:
    for prefix, names in prefixes.items():
        unknown = [name for name in names if name not in checks]
        if unknown:
            raise ValueError(f"prefix {prefix} depends on unknown checks {unknown}")
