"""The lab's command line: what follows `--`, a reader that goes away, nothing to render."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lab.cli import split_node_command

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("argv", "own", "command"),
    [
        (["exec", "client1", "--name", "demo", "--", "hostname"],
         ["exec", "client1", "--name", "demo"], ["hostname"]),
        (["exec", "--name", "demo", "client1", "--", "dig", "--help"],
         ["exec", "--name", "demo", "client1"], ["dig", "--help"]),
        (["exec", "client1", "--name", "demo", "ping", "-c", "1", "x"],
         ["exec", "client1", "--name", "demo"], ["ping", "-c", "1", "x"]),
        (["exec", "client1", "ping", "--name", "x"], ["exec", "client1"], ["ping", "--name", "x"]),
        (["halt", "server1", "--name", "demo"], ["halt", "server1", "--name", "demo"], None),
    ],
)  # fmt: skip
def test_the_command_for_a_node_is_what_follows_the_node_and_the_labs_options(
    argv: list[str], own: list[str], command: list[str] | None
) -> None:
    assert split_node_command(argv) == (own, command)


def _lab(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lab", *args],
        cwd=REPO, capture_output=True, text=True, timeout=60, **kwargs,  # type: ignore[call-overload]
    )  # fmt: skip


@pytest.mark.parametrize("args", [["generate", "--routers", "20"], ["status", "--name", "nosuch"]])
def test_a_reader_that_goes_away_gets_no_traceback(args: list[str]) -> None:
    """`lab status | head -1`: the pipe is closed before the lab writes; no BrokenPipeError."""
    process = subprocess.Popen(
        [sys.executable, "-m", "lab", *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert stderr == ""


def test_rendering_a_client_says_there_is_nothing_to_render(tmp_path: Path) -> None:
    result = _lab("render", "--node", "client1", "--out", str(tmp_path / "client1"))
    assert result.returncode == 1
    assert "client1 is a client and runs no daemon" in result.stderr
    assert "nothing to render" in result.stderr
    assert not (tmp_path / "client1").exists()
