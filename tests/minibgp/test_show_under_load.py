"""`show routes` of a large table never holds the sessions up: minibgp, holding 200,000 routes
from a peer, writes them all as JSON while the peer checks that its KEEPALIVEs keep coming every
second, and `show neighbors` keeps answering (bench/show_under_load.py; the million-route figure
is that bench's)."""

from __future__ import annotations

from pathlib import Path

from bench.show_under_load import measure


def test_show_routes_of_a_large_table_keeps_the_keepalives_flowing(tmp_path: Path) -> None:
    result = measure(200_000, tmp_path, verify=True)
    assert result.show_routes_received == 200_000  # the whole table, as one JSON document
    # The KEEPALIVEs keep their interval (1 s), within what a loaded test machine adds, and
    # `show neighbors` answers at once. Built all at once, as it was, the answer held the event
    # loop for seconds: no KEEPALIVE, no other answer meanwhile.
    assert result.keepalives_during_show >= 1
    assert result.longest_keepalive_gap < result.keepalive_interval + 0.75
    assert max(result.show_neighbors_seconds) < 0.75
