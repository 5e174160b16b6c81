"""The health state machine on a fake clock: rise/fall, interval, timeout, all checks must pass,
immediate watcher failures, and no events without changes."""

from __future__ import annotations

import pytest

from minibgp.health.state import (
    CheckDown,
    CheckUp,
    HealthEvent,
    HealthState,
    PrefixDown,
    PrefixUp,
    ProbeRequest,
    Timing,
)

ANYCAST = "169.254.0.1/32"


class Driver:
    """Runs a HealthState on a fake clock; `results[check]` says what its probes answer:
    True/False at once, or None for no answer at all."""

    def __init__(self, state: HealthState, results: dict[str, bool | None]) -> None:
        self.state = state
        self.results = results
        self.now = 0.0
        self.events: list[tuple[float, HealthEvent]] = []
        self.started: list[tuple[float, str]] = []

    def run_until(self, end: float) -> list[HealthEvent]:
        first = len(self.events)
        for _ in range(10_000):
            for request in self.state.probes_to_start(now=self.now):
                self.started.append((self.now, request.check))
                self._answer(request)
            self.state.handle_timer(now=self.now)
            self._collect()
            timer = self.state.get_timer()
            if timer is None or timer > end:
                break
            self.now = max(self.now, timer)
        self.now = end
        return [event for _, event in self.events[first:]]

    def _answer(self, request: ProbeRequest) -> None:
        ok = self.results[request.check]
        if ok is not None:
            self.state.probe_result(request.check, request.probe_id, ok, "refused", now=self.now)

    def _collect(self) -> None:
        while (event := self.state.next_event()) is not None:
            self.events.append((self.now, event))


def one_check(timing: Timing, ok: bool | None = True) -> Driver:
    state = HealthState({"dns": timing}, {ANYCAST: ["dns"]})
    return Driver(state, {"dns": ok})


def test_a_check_passes_after_rise_successes_and_fails_after_fall_failures() -> None:
    driver = one_check(Timing(interval=1.0, rise=3, fall=2))
    assert driver.run_until(1.5) == []  # two successes: not yet
    assert driver.run_until(2.5) == [CheckUp("dns"), PrefixUp(ANYCAST)]
    assert driver.events[-1][0] == 2.0  # the third probe, at t=2
    driver.results["dns"] = False
    assert driver.run_until(3.5) == []  # one failure: still passing
    assert driver.run_until(4.5) == [CheckDown("dns", "refused"), PrefixDown(ANYCAST, ("dns",))]


def test_a_success_resets_the_failure_count() -> None:
    driver = one_check(Timing(interval=1.0, rise=1, fall=2))
    driver.run_until(0.5)
    for ok in (False, True, False, True, False, True):
        driver.results["dns"] = ok
        driver.run_until(driver.now + 1.0)
    assert driver.state.is_up(ANYCAST)
    assert [e for _, e in driver.events] == [CheckUp("dns"), PrefixUp(ANYCAST)]


def test_probes_start_every_interval() -> None:
    driver = one_check(Timing(interval=0.2, timeout=0.1))
    driver.run_until(1.0)
    times = [t for t, _ in driver.started]
    assert times == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])


def test_an_unanswered_probe_fails_at_its_timeout_and_a_late_answer_is_ignored() -> None:
    driver = one_check(Timing(interval=1.0, timeout=0.3, rise=1, fall=1))
    driver.run_until(0.5)
    assert driver.state.check_passing("dns")
    driver.results["dns"] = None  # the server hangs
    events = driver.run_until(1.5)
    assert events[0] == CheckDown("dns", "no answer within 0.3 s")
    assert driver.events[-1][0] == pytest.approx(1.3)  # the probe of t=1 timed out at 1.3
    assert (1.0, "dns") in driver.started
    driver.state.probe_result("dns", 2, True, now=1.4)  # probe 2 (t=1) answers after its deadline
    assert not driver.state.check_passing("dns")


def test_several_checks_must_all_pass() -> None:
    state = HealthState(
        {"dns": Timing(rise=1, fall=1), "process": Timing(rise=1, fall=1)},
        {ANYCAST: ["dns", "process"], "192.0.2.0/24": ["process"]},
    )
    driver = Driver(state, {"dns": False, "process": True})
    events = driver.run_until(0.5)
    assert events == [CheckUp("process"), PrefixUp("192.0.2.0/24")]
    assert not state.is_up(ANYCAST)
    driver.results["dns"] = True
    assert driver.run_until(1.5) == [CheckUp("dns"), PrefixUp(ANYCAST)]
    driver.results["process"] = False
    assert driver.run_until(2.5) == [
        CheckDown("process", "refused"),
        PrefixDown(ANYCAST, ("process",)),
        PrefixDown("192.0.2.0/24", ("process",)),
    ]


def test_a_watcher_failure_is_immediate_whatever_fall_is() -> None:
    driver = one_check(Timing(interval=1.0, rise=2, fall=5))
    driver.run_until(1.5)
    assert driver.state.is_up(ANYCAST)
    driver.state.watch_lost("dns", "the server closed the TCP connection", now=1.7)
    assert driver.run_until(1.7) == [
        CheckDown("dns", "the server closed the TCP connection"),
        PrefixDown(ANYCAST, ("dns",)),
    ]
    # Coming back takes `rise` passing probes again (t=2, t=3).
    assert driver.run_until(2.5) == []
    assert driver.run_until(3.5) == [CheckUp("dns"), PrefixUp(ANYCAST)]


def test_a_watcher_failure_while_failing_restarts_the_rise_count() -> None:
    driver = one_check(Timing(interval=1.0, rise=2, fall=1))
    driver.run_until(0.5)  # one success of two
    driver.state.watch_lost("dns", "process exited", now=0.6)
    assert driver.run_until(1.5) == []  # t=1: again one success of two
    assert driver.run_until(2.5) == [CheckUp("dns"), PrefixUp(ANYCAST)]


def test_no_change_means_no_event() -> None:
    driver = one_check(Timing(interval=0.5, rise=1, fall=1))
    assert driver.run_until(0.1) == [CheckUp("dns"), PrefixUp(ANYCAST)]
    assert driver.run_until(60.0) == []
    driver.results["dns"] = False
    driver.run_until(61.0)
    assert driver.run_until(120.0) == []
    driver.state.watch_lost("dns", "gone", now=120.0)  # already failing
    assert driver.run_until(120.0) == []


def test_a_prefix_without_checks_is_up_from_the_start() -> None:
    state = HealthState({}, {ANYCAST: []})
    assert state.is_up(ANYCAST)
    assert state.next_event() == PrefixUp(ANYCAST)
    assert state.get_timer() is None


def test_a_prefix_may_not_name_an_unknown_check() -> None:
    with pytest.raises(ValueError, match="unknown checks"):
        HealthState({}, {ANYCAST: ["dns"]})


def test_a_reconfiguration_keeps_the_state_of_unchanged_checks() -> None:
    """SIGHUP that changes one check: the prefixes of the others are not touched."""
    other = "169.254.0.2/32"
    timing = Timing(interval=1.0, rise=1, fall=1)
    state = HealthState({"dns": timing, "tcp": timing}, {ANYCAST: ["dns"], other: ["tcp"]})
    driver = Driver(state, {"dns": True, "tcp": True})
    driver.run_until(0.5)
    assert state.is_up(ANYCAST) and state.is_up(other)
    changed = Timing(interval=2.0, rise=2, fall=1)
    state.reconfigure({"dns": timing, "tcp": changed}, {ANYCAST: ["dns"], other: ["tcp"]}, {"dns"})
    # the changed check starts afresh (failing): only its prefix goes, until it passes again
    assert driver.run_until(0.5) == [PrefixDown(other, ("tcp",))]
    assert state.is_up(ANYCAST)
    assert driver.run_until(2.6) == [CheckUp("tcp"), PrefixUp(other)]
    assert [t for t, check in driver.started if check == "dns"] == [0.0, 1.0, 2.0]  # its pace


def test_a_reconfiguration_announces_a_new_prefix_of_a_passing_check() -> None:
    driver = one_check(Timing(interval=1.0, rise=1, fall=1))
    driver.run_until(0.5)
    driver.state.reconfigure(
        {"dns": Timing(interval=1.0, rise=1, fall=1)},
        {ANYCAST: ["dns"], "192.0.2.0/24": ["dns"], "198.51.100.0/24": []},
        {"dns"},
    )
    assert driver.run_until(0.5) == [PrefixUp("198.51.100.0/24"), PrefixUp("192.0.2.0/24")]


def test_each_check_counts_its_probes_transitions_and_last_latency() -> None:
    driver = one_check(Timing(interval=1.0, timeout=0.5, rise=1, fall=1))
    driver.run_until(0.5)
    check = driver.state.checks["dns"]
    assert (check.last_latency, check.probes_passed, check.transitions) == (0.0, 1, 1)
    driver.results["dns"] = None  # no answer: failed at the timeout, which is its latency
    driver.run_until(1.9)
    assert (check.last_latency, check.probes_failed, check.transitions) == (0.5, 1, 2)
    request = driver.state.probes_to_start(now=2.0)[0]
    driver.state.probe_result("dns", request.probe_id, True, latency=0.0123, now=2.25)
    assert (check.last_latency, check.passing, check.transitions) == (0.0123, True, 3)
    driver.state.watch_lost("dns", "the server closed the connection", now=2.5)
    assert (check.last_latency, check.transitions) == (0.0123, 4)  # a loss is not a probe
