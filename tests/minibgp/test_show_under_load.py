"""`show routes` of a large table never holds the sessions up: minibgp, holding 600,000 routes
from a peer, writes them all as JSON while the peer checks that its KEEPALIVEs keep coming every
second, and `show neighbors` keeps answering (bench/show_under_load.py; the million-route figure
is that bench's)."""

from __future__ import annotations

from pathlib import Path

from bench.show_under_load import measure

# Enough routes that the answer takes longer than the KEEPALIVE interval even on a fast, idle
# machine (1.6 s on the bench's): a show that held the event loop would then miss a KEEPALIVE.
ROUTES = 600_000


def test_show_routes_of_a_large_table_keeps_the_keepalives_flowing(tmp_path: Path) -> None:
    result = measure(ROUTES, tmp_path, verify=True)
    assert result.show_routes_received == ROUTES  # the whole table, as one JSON document
    assert result.show_routes_seconds > result.keepalive_interval, "too fast to tell: more routes"
    # The KEEPALIVEs keep their interval (1 s), within what a loaded test machine adds, and
    # `show neighbors` answers at once. Built all at once, as it was, the answer held the event
    # loop for seconds: no KEEPALIVE, no other answer meanwhile.
    assert result.keepalives_during_show >= 1
    assert result.longest_keepalive_gap < result.keepalive_interval + 0.75
    assert max(result.show_neighbors_seconds) < 0.75
