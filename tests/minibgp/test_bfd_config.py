"""A peer's `bfd` config value: defaults, the table form, and errors that name key and reason."""

from __future__ import annotations

import tomllib

import pytest

from minibgp.bfd.config import BfdConfigError, parse_bfd
from minibgp.bfd.session import SessionParameters


def peer_bfd(toml: str) -> object:
    return tomllib.loads(toml)["peer"][0].get("bfd")


def test_absent_or_false_means_no_bfd() -> None:
    assert parse_bfd(peer_bfd('[[peer]]\naddress = "192.0.2.1"')) is None
    assert parse_bfd(peer_bfd("[[peer]]\nbfd = false")) is None


def test_true_means_the_defaults() -> None:
    assert parse_bfd(peer_bfd("[[peer]]\nbfd = true")) == SessionParameters(300_000, 300_000, 3)


def test_the_table_form_is_in_milliseconds() -> None:
    value = peer_bfd("[[peer]]\nbfd = { min_tx = 100, min_rx = 200, multiplier = 5 }")
    assert parse_bfd(value) == SessionParameters(100_000, 200_000, 5)


@pytest.mark.parametrize(
    ("toml", "key", "reason"),
    [
        ('bfd = "yes"', "peer[0].bfd", "must be true, false or a table"),
        ("bfd = { min_tx = 0 }", "peer[0].bfd.min_tx", "must be 1..4294967"),
        ("bfd = { min_rx = 1.5 }", "peer[0].bfd.min_rx", "must be an integer"),
        ("bfd = { multiplier = 256 }", "peer[0].bfd.multiplier", "must be 1..255"),
        ("bfd = { multiplier = true }", "peer[0].bfd.multiplier", "must be an integer"),
        ("bfd = { interval = 100 }", "peer[0].bfd.interval", "unknown key"),
    ],
)
def test_errors_name_the_key_and_the_reason(toml: str, key: str, reason: str) -> None:
    with pytest.raises(BfdConfigError, match=reason) as caught:
        parse_bfd(peer_bfd(f"[[peer]]\n{toml}"), "peer[0].bfd")
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}: ")
