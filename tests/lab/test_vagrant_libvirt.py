"""The host side of `make vagrant-check`: what LibvirtHost changes on the host it gives back."""

from __future__ import annotations

import grp
import os
from pathlib import Path

import pytest

from lab.vagrant import libvirt
from lab.vagrant.libvirt import LibvirtHost
from tests.conftest import require_root


def test_kvm_is_lent_to_the_qemu_users_group_and_given_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_root()  # changing a file's group to one root is not in
    device = tmp_path / "kvm"
    device.touch()
    own = device.stat().st_gid
    lent_to = next(g for g in ("nogroup", "daemon", "kvm") if grp.getgrnam(g).gr_gid != own)
    monkeypatch.setattr(libvirt, "KVM_DEVICE", device)
    monkeypatch.setattr(libvirt, "KVM_GROUP", lent_to)
    said: list[str] = []
    host = LibvirtHost(tmp_path, say=said.append)
    host._lend_kvm()
    assert device.stat().st_gid == grp.getgrnam(lent_to).gr_gid
    host._return_kvm()
    assert device.stat().st_gid == own
    assert said == [
        f"libvirt: {device} lent to group {lent_to} (it had group {own})",
        f"libvirt: {device} back to group {own}",
    ]


def test_kvm_already_in_the_group_or_missing_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = tmp_path / "kvm"
    device.touch()
    monkeypatch.setattr(libvirt, "KVM_DEVICE", device)
    monkeypatch.setattr(libvirt, "KVM_GROUP", grp.getgrgid(os.getgid()).gr_name)
    host = LibvirtHost(tmp_path, say=pytest.fail)
    host._lend_kvm()
    host._return_kvm()
    monkeypatch.setattr(libvirt, "KVM_DEVICE", tmp_path / "absent")
    host._lend_kvm()
    assert host.kvm_group is None
