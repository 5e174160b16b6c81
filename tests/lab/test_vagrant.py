"""The Vagrantfile is valid and reads the same topology as the namespace lab."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lab.render import topology_json
from lab.topology import load
from tests.conftest import require_programs

REPO = Path(__file__).resolve().parents[2]


def test_the_committed_topology_json_is_rendered_from_topology_toml() -> None:
    committed = (REPO / "lab" / "topology.json").read_text()
    assert committed == topology_json(load()), (
        "lab/topology.json is stale: python -m lab render --format json > lab/topology.json"
    )


def _environment(mode: str, tmp_path: Path) -> dict[str, str]:
    """ANYCAST_MODE set, and vagrant's .vagrant directory kept out of the repository."""
    return {
        **os.environ,
        "ANYCAST_MODE": mode,
        "VAGRANT_CHECKPOINT_DISABLE": "1",
        "VAGRANT_DOTFILE_PATH": str(tmp_path / ".vagrant"),
    }


@pytest.mark.interop
@pytest.mark.parametrize("mode", ["python", "reference"])
def test_vagrant_validate_passes(mode: str, tmp_path: Path) -> None:
    require_programs("vagrant")
    environment = _environment(mode, tmp_path)
    result = subprocess.run(
        ["vagrant", "validate", "--ignore-provider"],
        cwd=REPO, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Vagrantfile validated successfully" in result.stdout
    for node in load().nodes:
        assert f"==> {node}:" in result.stdout  # one machine per node of the topology


@pytest.mark.interop
def test_vagrant_refuses_an_unknown_mode(tmp_path: Path) -> None:
    require_programs("vagrant")
    environment = _environment("bogus", tmp_path)
    result = subprocess.run(
        ["vagrant", "validate", "--ignore-provider"],
        cwd=REPO, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "ANYCAST_MODE must be python or reference" in result.stderr
