"""Fixtures of the minibgp tests."""

from tests.minibgp.loopback import duo

__all__ = ["duo"]
