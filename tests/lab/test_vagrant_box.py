"""The box builder's pure parts (GRUB on a disk image, the official box's packages, the
mirror), and what the check reads from the topology."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from lab.topology import load
from lab.vagrant import grub
from lab.vagrant.box import apt_mirrors, standard_packages
from lab.vagrant.check import clients_of, home_server

SECTOR = grub.SECTOR


def disk_with_partition_table(path: Path, sectors: int = 4096) -> bytes:
    """A blank disk whose MBR holds a disk signature and one partition from sector 2048."""
    mbr = bytearray(SECTOR)
    mbr[0x1B8:0x1BC] = b"\xde\xad\xbe\xef"  # disk signature
    entry = struct.pack("<B3sB3sII", 0x80, b"\0\0\0", 0x83, b"\0\0\0", 2048, sectors - 2048)
    mbr[0x1BE : 0x1BE + 16] = entry
    mbr[0x1FE:] = b"\x55\xaa"
    path.write_bytes(bytes(mbr) + bytes(SECTOR * (sectors - 1)))
    return bytes(mbr)


def test_embed_puts_boot_img_in_the_mbr_and_core_img_after_it(tmp_path: Path) -> None:
    disk = tmp_path / "disk.raw"
    mbr = disk_with_partition_table(disk)
    boot_img = bytes(range(256)) * 2
    core_img = b"\x11" * (SECTOR * 3 + 100)  # 4 sectors once padded
    assert grub.embed(disk, boot_img, core_img, first_partition=2048) == 4
    image = disk.read_bytes()
    new_mbr = image[:SECTOR]
    assert new_mbr[:0x5C] == boot_img[:0x5C]  # boot.img's code
    assert struct.unpack_from("<Q", new_mbr, 0x5C)[0] == 1  # core.img from sector 1
    assert new_mbr[0x66:0x68] == b"\x90\x90"
    assert new_mbr[0x1B8:0x200] == mbr[0x1B8:0x200]  # signature and partition table kept
    core = image[SECTOR : SECTOR * 5]
    start, length, segment = struct.unpack_from("<QHH", core, SECTOR - 12)
    assert (start, length, segment) == (2, 3, 0x820)  # the rest of core.img, after diskboot
    assert core[SECTOR - 24 : SECTOR - 12] == bytes(12)  # the list's end
    assert core[SECTOR:] == b"\x11" * (SECTOR * 2 + 100) + bytes(SECTOR - 100)
    assert image[SECTOR * 5 :] == bytes(len(image) - SECTOR * 5)  # nothing else touched


def test_embed_refuses_a_core_img_that_reaches_the_first_partition(tmp_path: Path) -> None:
    disk = tmp_path / "disk.raw"
    disk_with_partition_table(disk)
    with pytest.raises(grub.GrubError, match="does not fit"):
        grub.embed(disk, bytes(SECTOR), bytes(SECTOR * 64), first_partition=64)
    with pytest.raises(grub.GrubError, match="not 512"):
        grub.embed(disk, bytes(100), bytes(SECTOR), first_partition=2048)


def test_the_official_box_set_is_every_package_of_priority_required_important_standard() -> None:
    index = "\n\n".join(
        f"Package: {name}\nVersion: 1\nPriority: {priority}"
        for name, priority in [
            ("bash", "required"),
            ("iproute2", "important"),
            ("bind9-dnsutils", "standard"),
            ("frr", "optional"),
            ("bash", "required"),  # the same package from another suite
        ]
    )
    assert standard_packages(index) == ["bash", "bind9-dnsutils", "iproute2"]


def test_the_mirror_is_the_one_apt_uses_here(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\nTypes: deb\nURIs: http://security.example/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n"
    )
    (tmp_path / "sources.list.d" / "other.list").write_text(
        "deb [arch=amd64] https://packages.example/apt stable main\n"
    )
    assert apt_mirrors(tmp_path) == (
        "http://mirror.example/debian",
        "http://security.example/debian-security",
    )
    one_line = tmp_path / "one-line"
    one_line.mkdir()
    (one_line / "sources.list").write_text("deb http://old.example/debian bookworm main\n")
    assert apt_mirrors(one_line) == (
        "http://old.example/debian",
        "http://deb.debian.org/debian-security",
    )


def test_the_check_knows_each_clients_server_from_the_topology() -> None:
    topology = load()
    assert home_server(topology, "client1") == "server1"
    assert home_server(topology, "client2") == "server2"
    assert clients_of(topology, "server2") == ["client2"]
