"""GRUB for BIOS written into a disk image file, as `grub-bios-setup` does on a real disk.

grub-bios-setup wants a block device; a box is built in a plain file, without a loop device.
The layout is GRUB's own (include/grub/i386/pc/boot.h): boot.img's 440 octets of code go into
the MBR, keeping the disk's partition table; core.img goes into the gap between the MBR and the
first partition, from sector 1; boot.img is told where core.img's first sector is, and that
first sector (diskboot.img) is told where the rest of core.img is.
"""

from __future__ import annotations

import struct
from pathlib import Path

SECTOR = 512
KERNEL_SECTOR = 0x5C  # boot.img: the 64-bit LBA of core.img's first sector
DRIVE_CHECK = 0x66  # boot.img: a jump that trusts the BIOS's drive number only for floppies
WINDOWS_NT_MAGIC = 0x1B8  # the disk signature, then the partition table, up to...
PART_END = 0x1FE  # ...the boot signature 55 AA
BLOCKLIST_ENTRY = struct.Struct("<QHH")  # diskboot.img, from its end: start LBA, sectors, segment
KERNEL_SEGMENT = 0x800 + SECTOR // 16  # where diskboot.img loads the rest of core.img
CORE_START = 1  # core.img's first sector


class GrubError(ValueError):
    """The images do not fit together (wrong size, no room before the first partition)."""


def embed(disk: Path, boot_img: bytes, core_img: bytes, first_partition: int) -> int:
    """Write GRUB into `disk`, whose first partition starts at sector `first_partition`.

    Returns the number of sectors core.img takes.
    """
    if len(boot_img) != SECTOR:
        raise GrubError(f"boot.img is {len(boot_img)} octets, not {SECTOR}")
    sectors = -(-len(core_img) // SECTOR)
    if CORE_START + sectors > first_partition:
        raise GrubError(
            f"core.img ({sectors} sectors) does not fit before the first partition "
            f"(sector {first_partition})"
        )
    core = bytearray(core_img.ljust(sectors * SECTOR, b"\0"))
    # diskboot.img's first blocklist entry: the rest of core.img, right after diskboot.img;
    # the entry before it (all zero) ends the list.
    entry = SECTOR - BLOCKLIST_ENTRY.size
    BLOCKLIST_ENTRY.pack_into(core, entry, CORE_START + 1, sectors - 1, KERNEL_SEGMENT)
    BLOCKLIST_ENTRY.pack_into(core, entry - BLOCKLIST_ENTRY.size, 0, 0, 0)
    with disk.open("r+b") as f:
        mbr = bytearray(f.read(SECTOR))
        boot = bytearray(boot_img)
        boot[WINDOWS_NT_MAGIC:PART_END] = mbr[WINDOWS_NT_MAGIC:PART_END]
        boot[PART_END:SECTOR] = b"\x55\xaa"
        struct.pack_into("<Q", boot, KERNEL_SECTOR, CORE_START)
        boot[DRIVE_CHECK : DRIVE_CHECK + 2] = b"\x90\x90"  # a hard disk: no floppy probing
        f.seek(0)
        f.write(boot)
        f.seek(CORE_START * SECTOR)
        f.write(core)
    return sectors
