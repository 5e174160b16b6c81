"""The Vagrantfile: valid for VirtualBox and for libvirt in both modes, and fed by the topology.

`vagrant validate` checks the settings of the provider it is given. VirtualBox is not
installed where the tests run: a stand-in VBoxManage answers its version, which is all that
validation asks of it (the VirtualBox settings themselves are checked by Vagrant's plugin).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lab.topology import load
from lab.vagrant.machines import MACHINES_FILE, machines_json
from tests.conftest import require, require_programs

REPO = Path(__file__).resolve().parents[2]
VBOXMANAGE = '#!/bin/sh\n[ "$1" = --version ] && echo 7.0.14r161095\n'


def test_the_committed_machines_json_is_rendered_from_the_topology() -> None:
    assert MACHINES_FILE.read_text() == machines_json(load()), (
        "lab/vagrant/machines.json is stale: "
        "python -m lab.vagrant machines > lab/vagrant/machines.json"
    )


def vagrant(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """`vagrant ARGS` in the project, with its state kept out of the repository."""
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir(exist_ok=True)
    (stand_ins / "VBoxManage").write_text(VBOXMANAGE)
    (stand_ins / "VBoxManage").chmod(0o755)
    environment = {
        **os.environ,
        "PATH": f"{stand_ins}:{os.environ['PATH']}",
        "VAGRANT_CHECKPOINT_DISABLE": "1",
        "VAGRANT_DOTFILE_PATH": str(tmp_path / ".vagrant"),
        **settings,
    }
    return subprocess.run(
        ["vagrant", *args], cwd=REPO, env=environment, capture_output=True, text=True, timeout=120
    )


def require_vagrant_libvirt() -> None:
    require_programs("vagrant")
    plugins = subprocess.run(["vagrant", "plugin", "list"], capture_output=True, text=True)
    require("vagrant-libvirt" in plugins.stdout, "the vagrant-libvirt plugin is not installed")


@pytest.mark.interop
@pytest.mark.parametrize("mode", ["python", "reference"])
@pytest.mark.parametrize("provider", ["virtualbox", "libvirt"])
def test_vagrant_validates_the_vagrantfile_for_each_provider(
    provider: str, mode: str, tmp_path: Path
) -> None:
    require_vagrant_libvirt()
    result = vagrant(tmp_path, "validate", VAGRANT_DEFAULT_PROVIDER=provider, ANYCAST_MODE=mode)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Vagrantfile validated successfully" in result.stdout


@pytest.mark.interop
def test_vagrant_lists_one_machine_per_node_of_the_topology(tmp_path: Path) -> None:
    require_vagrant_libvirt()
    result = vagrant(tmp_path, "status", VAGRANT_DEFAULT_PROVIDER="libvirt")
    assert result.returncode == 0, result.stderr
    listed = [line.split()[0] for line in result.stdout.splitlines() if "not created" in line]
    assert listed == list(load().nodes)


@pytest.mark.interop
@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("ANYCAST_MODE", "bogus", "ANYCAST_MODE must be python or reference"),
        ("ANYCAST_LIBVIRT_DRIVER", "xen", "ANYCAST_LIBVIRT_DRIVER must be kvm or qemu"),
        ("ANYCAST_NAME", "Lab 1", "ANYCAST_NAME must be lower-case letters"),
    ],
)
def test_vagrant_refuses_a_bad_setting(
    setting: str, value: str, message: str, tmp_path: Path
) -> None:
    require_programs("vagrant")
    result = vagrant(tmp_path, "validate", "--ignore-provider", **{setting: value})
    assert result.returncode != 0
    assert message in result.stderr
