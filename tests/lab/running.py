"""A lab brought up for a module's tests, and taken down after them with nothing left."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from lab.lab import Lab
from lab.render import Mode
from lab.topology import TOPOLOGIES, load
from tests.conftest import tagged
from tests.lab.test_lab_up_down import assert_nothing_left


@contextlib.contextmanager
def running_lab(name: str, topology: str, mode: Mode) -> Iterator[Lab]:
    """The shipped `topology` up in `mode` under the test-tagged `name` (anything left by an
    earlier run taken down first)."""
    lab = Lab(tagged(name), load(TOPOLOGIES / topology))
    lab.down()
    lab.up(mode)
    try:
        yield lab
    finally:
        lab.down()
        assert_nothing_left(lab)
