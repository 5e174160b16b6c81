"""Settling on a fake clock: each change recorded; the last one is the settle time."""

from __future__ import annotations

import pytest

from lab.catchment.settle import Change, Settling, Snapshot

START: Snapshot = {("client1", 4): "server1", ("client2", 4): "server2"}


def test_nothing_changes_settles_after_the_quiet_time_with_no_settle_time() -> None:
    settling = Settling(START, since=100.0, quiet=1.0)
    settling.observe(START, now=100.5)
    assert not settling.settled(now=100.5)
    settling.observe(START, now=101.0)
    assert settling.settled(now=101.0)
    result = settling.result(now=101.0)
    assert (result.settled, result.settle_time, result.changes, result.snapshots) == (
        True, 0.0, (), 2,
    )  # fmt: skip
    assert result.moved() == {}


def test_a_move_and_path_hunting_on_the_way() -> None:
    settling = Settling(START, since=10.0, quiet=1.0)
    settling.observe({("client1", 4): None, ("client2", 4): "server2"}, now=10.2)  # lost
    settling.observe({("client1", 4): "server2", ("client2", 4): "server2"}, now=10.3)
    settling.observe({("client1", 4): "server1", ("client2", 4): "server2"}, now=10.5)  # back
    settling.observe({("client1", 4): "server2", ("client2", 4): "server2"}, now=10.9)
    assert not settling.settled(now=11.8)
    settling.observe({("client1", 4): "server2", ("client2", 4): "server2"}, now=11.9)
    assert settling.settled(now=11.9)
    result = settling.result(now=11.9)
    assert result.settle_time == pytest.approx(0.9)
    assert [(round(c.at, 3), c.before, c.after) for c in result.changes] == [
        (0.2, "server1", None), (0.3, None, "server2"), (0.5, "server2", "server1"),
        (0.9, "server1", "server2"),
    ]  # fmt: skip
    assert result.moved() == {("client1", 4): ("server1", "server2")}
    assert result.final[("client2", 4)] == "server2"


def test_a_client_that_comes_back_has_not_moved() -> None:
    settling = Settling(START, since=0.0, quiet=0.5)
    settling.observe({("client1", 4): "server2"}, now=0.1)  # a client missing is unchanged
    settling.observe({("client1", 4): "server1"}, now=0.2)
    result = settling.result(now=0.2)
    assert not result.settled and result.moved() == {}
    assert result.changes[0] == Change(0.1, "client1", 4, "server1", "server2")


def test_a_client_not_in_the_start_is_no_change() -> None:
    settling = Settling(START, since=0.0, quiet=0.5)
    settling.observe({("client3", 6): "server1"}, now=0.1)
    assert settling.result(now=0.6).changes == ()
    assert settling.settled(now=0.6)
