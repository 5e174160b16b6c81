"""`make vagrant-box`: a Debian 12 box for vagrant-libvirt, built offline from the Debian mirror.

    python -m lab.vagrant box [--out build/vagrant]     (as root)

1. debootstrap a minimal Debian 12 root from the mirror this machine's apt uses;
2. install what the official debian/bookworm64 box has (every package of priority required,
   important or standard), what a Vagrant base box needs (kernel, GRUB, sshd, sudo, rsync,
   ifupdown with eth0 on DHCP), and the lab's packages, so that provisioning installs nothing;
   the lab's services stay disabled (provisioning enables what a machine runs);
3. make it a Vagrant base box: the `vagrant` user with Vagrant's insecure key and sudo, ssh host
   keys made on first boot, the serial console, this machine's extra CA certificates (from
   /usr/local/share/ca-certificates, when there are any: some networks re-sign TLS);
4. bake the python servers' virtualenv and a wheelhouse (the run-time and build dependencies),
   so that installing the project in a machine needs no network;
5. lay it on a qcow2 disk: one ext4 partition made by `mkfs.ext4 -d`, GRUB embedded by grub.py
   (no loop device, no mount), and pack box.img, metadata.json and a Vagrantfile into
   OUT/anycast-bookworm64.box. The kernel is kept next to it (OUT/vmlinuz) for the KVM probe.

`vagrant box add --name anycast-bgp-dns/bookworm64 OUT/anycast-bookworm64.box` makes it usable.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from . import grub
from .provision import VENV, WHEELHOUSE, all_packages, build_requirements, run_requirements

BOX_NAME = "anycast-bgp-dns/bookworm64"
BOX_FILE = "anycast-bookworm64.box"
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
DISK_MIB = 20 * 1024  # the official box's disk size; sparse, so it costs what is used
FIRST_SECTOR = 2048  # the partition's start: 1 MiB, room for GRUB's core.img before it
ROOT_LABEL = "debian-root"
STANDARD_PRIORITIES = ("required", "important", "standard")
BASE_BOX_PACKAGES = (
    "linux-image-amd64",
    "grub-pc",
    "openssh-server",
    "sudo",
    "rsync",
    "ifupdown",
    "isc-dhcp-client",
    "systemd-sysv",
)
# Installed by the lab's packages, started by provisioning where a machine runs them.
LAB_SERVICES = ("frr.service", "pdns.service")
# Units of the official box that cost an emulated machine minutes for nothing in the lab: the
# timers would run `apt-get update` at every machine's first boot (holding the dpkg lock while
# provisioning installs), e2scrub_reap looks for LVM snapshots at every boot (there is no LVM).
DISABLED_UNITS = ("apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_reap.service")
# eth0, eth1, ... in the order of the machine's networks; the serial console; a quiet boot (an
# emulated serial port is slow) and no CPU vulnerability mitigations: an emulated CPU pays for
# them at every system call and context switch (measured here: a boot to the login prompt under
# software emulation 135 s as Debian boots, 116 s quiet, 87 s quiet without mitigations). This
# box is for the lab's machines, not for running untrusted code.
KERNEL_ARGS = "net.ifnames=0 biosdevname=0 console=tty0 console=ttyS0,115200 quiet mitigations=off"
CA_DIR = Path("/usr/local/share/ca-certificates")
INSECURE_KEY_GLOBS = (  # Vagrant's well-known public key, shipped with Vagrant
    "/usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub",
    "/opt/vagrant/embedded/gems/gems/vagrant-*/keys/vagrant.pub",
    "/opt/vagrant/embedded/gems/vagrant-*/keys/vagrant.pub",
)
CHROOT_ENV = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "DEBIAN_FRONTEND": "noninteractive",
    "LC_ALL": "C.UTF-8",
    "HOME": "/root",
}


class BoxError(RuntimeError):
    """A step of the build failed; the message says which and why."""


def build_box(out: Path, say: Callable[[str], None] = print) -> Path:
    """Build OUT/anycast-bookworm64.box; returns its path."""
    if os.geteuid() != 0:
        raise BoxError("building the box needs root (debootstrap, chroot)")
    missing = [
        p
        for p in ("debootstrap", "qemu-img", "sfdisk", "mkfs.ext4", "unshare")
        if not shutil.which(p)
    ]
    if missing:
        raise BoxError(f"missing programs: {', '.join(missing)} (make vagrant-deps installs them)")
    out.mkdir(parents=True, exist_ok=True)
    root = out / "rootfs"
    timer = _Timer(say)
    mirror, security = apt_mirrors()
    with timer("debootstrap (minbase) from " + mirror):
        _debootstrap(root, mirror)
    try:
        with timer("packages: the official box's, a base box's, the lab's"):
            _install_packages(root, mirror, security)
        with timer("the vagrant user, sshd, network, GRUB settings, CA certificates"):
            _configure(root)
        with timer("the python servers' virtualenv and wheels"):
            _bake_python(root, out / "wheels")
        with timer("disk: ext4 + GRUB -> qcow2"):
            _make_disk(root, out)
        with timer("box"):
            box = _pack_box(out)
    finally:
        _remove_root(root)
    say(f"box: {box} ({box.stat().st_size / 2**20:.0f} MiB) in {timer.total:.0f} s")
    say(f"  vagrant box add --name {BOX_NAME} {box}")
    return box


# --- the mirror ----------------------------------------------------------------------------------


def apt_mirrors(sources: Path = Path("/etc/apt")) -> tuple[str, str]:
    """The Debian and Debian security mirrors this machine's apt uses (deb822 or one-line)."""
    mirror, security = DEFAULT_MIRROR, DEFAULT_SECURITY_MIRROR
    texts = [p.read_text() for p in sorted(sources.glob("sources.list.d/*.sources"))]
    for text in texts:
        for stanza in text.split("\n\n"):
            fields = dict(re.findall(r"^([\w-]+):\s*(.*)$", stanza, re.M))
            suites = fields.get("Suites", "").split()
            for uri in fields.get("URIs", "").split():
                if SUITE in suites:
                    mirror = uri
                elif f"{SUITE}-security" in suites:
                    security = uri
    lists = [sources / "sources.list", *sorted(sources.glob("sources.list.d/*.list"))]
    for path in lists:
        if not path.exists():
            continue
        for match in re.finditer(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", path.read_text(), re.M):
            uri, suite = match.groups()
            if suite == SUITE:
                mirror = uri
            elif suite == f"{SUITE}-security":
                security = uri
    return mirror.rstrip("/"), security.rstrip("/")


def standard_packages(packages_index: str) -> list[str]:
    """The packages of priority required, important or standard in an apt Packages index."""
    names = set()
    for stanza in packages_index.split("\n\n"):
        fields = dict(re.findall(r"^([\w-]+): (.*)$", stanza, re.M))
        if fields.get("Priority") in STANDARD_PRIORITIES and "Package" in fields:
            names.add(fields["Package"])
    return sorted(names)


# --- the steps -----------------------------------------------------------------------------------


def _debootstrap(root: Path, mirror: str) -> None:
    _remove_root(root)
    # in a private mount namespace: what debootstrap mounts in the root goes with it
    _run(["unshare", "--mount", "--", "debootstrap", "--variant=minbase", SUITE, str(root), mirror])


def _remove_root(root: Path) -> None:
    """Delete a root directory, refusing while anything is mounted in it."""
    mounts = Path("/proc/mounts").read_text().split("\n")
    inside = [line.split()[1] for line in mounts if line and line.split()[1].startswith(f"{root}/")]
    if inside:
        raise BoxError(f"{root} has file systems mounted in it: {', '.join(inside)}")
    shutil.rmtree(root, ignore_errors=True)


def _install_packages(root: Path, mirror: str, security: str) -> None:
    (root / "etc/apt/sources.list").unlink(missing_ok=True)
    (root / "etc/apt/sources.list.d/debian.sources").write_text(
        f"Types: deb\nURIs: {mirror}\nSuites: {SUITE} {SUITE}-updates\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        f"Types: deb\nURIs: {security}\nSuites: {SUITE}-security\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    policy = root / "usr/sbin/policy-rc.d"  # no service starts inside the build
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    _chroot(root, "apt-get", "update", "-qq")
    index = _chroot(root, "apt-cache", "dumpavail")
    packages = [*standard_packages(index), *BASE_BOX_PACKAGES, *all_packages()]
    # GRUB goes on the disk image later (grub.py); inside a machine, grub-pc's upgrades
    # re-install it on /dev/vda.
    _chroot(
        root, "debconf-set-selections", input="grub-pc grub-pc/install_devices_empty boolean true\n"
    )
    _chroot(
        root, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *sorted(set(packages))
    )
    _chroot(
        root,
        "debconf-set-selections",
        input="grub-pc grub-pc/install_devices multiselect /dev/vda\n",
    )
    _chroot(root, "apt-get", "clean")
    policy.unlink()
    (root / "etc/resolv.conf").unlink()


def _configure(root: Path) -> None:
    (root / "etc/hostname").write_text("bookworm\n")
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\tbookworm\n")
    (root / "etc/fstab").write_text(f"LABEL={ROOT_LABEL} / ext4 errors=remount-ro 0 1\n")
    (root / "etc/network/interfaces").write_text(
        "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\n"
        "allow-hotplug eth0\niface eth0 inet dhcp\n"
    )
    # The vagrant user: password "vagrant", Vagrant's insecure key, sudo without a password.
    _chroot(root, "useradd", "--create-home", "--uid", "1000", "--shell", "/bin/bash", "vagrant")
    _chroot(root, "chpasswd", input="vagrant:vagrant\nroot:vagrant\n")
    ssh = root / "home/vagrant/.ssh"
    ssh.mkdir(mode=0o700)
    (ssh / "authorized_keys").write_text(insecure_key())
    (ssh / "authorized_keys").chmod(0o600)
    _chroot(root, "chown", "-R", "vagrant:vagrant", "/home/vagrant/.ssh")
    sudoers = root / "etc/sudoers.d/vagrant"
    sudoers.write_text("vagrant ALL=(ALL) NOPASSWD:ALL\n")
    sudoers.chmod(0o440)
    (root / "etc/ssh/sshd_config.d/vagrant.conf").write_text("UseDNS no\n")
    # Each machine makes its own ssh host keys on its first boot.
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (root / "etc/systemd/system/ssh-host-keys.service").write_text(
        "[Unit]\nDescription=Make the ssh host keys\nBefore=ssh.service\n"
        "ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key\n\n"
        "[Service]\nType=oneshot\nExecStart=/usr/bin/ssh-keygen -A\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )
    _chroot(root, "systemctl", "enable", "--quiet", "ssh-host-keys.service")
    _chroot(root, "systemctl", "disable", "--quiet", *LAB_SERVICES, *DISABLED_UNITS)
    default_grub = root / "etc/default/grub"
    text = re.sub(
        r"^GRUB_CMDLINE_LINUX_DEFAULT=.*$",
        f'GRUB_CMDLINE_LINUX_DEFAULT="{KERNEL_ARGS}"',
        default_grub.read_text(),
        flags=re.M,
    )
    default_grub.write_text(re.sub(r"^GRUB_TIMEOUT=.*$", "GRUB_TIMEOUT=1", text, flags=re.M))
    certificates = sorted(CA_DIR.glob("*.crt")) if CA_DIR.is_dir() else []
    for certificate in certificates:
        shutil.copy(certificate, root / "usr/local/share/ca-certificates" / certificate.name)
    if certificates:
        _chroot(root, "update-ca-certificates")
    (root / "etc/machine-id").write_text("")  # made on first boot
    (root / "var/lib/dbus/machine-id").unlink(missing_ok=True)


def insecure_key() -> str:
    """Vagrant's insecure public key, which Vagrant swaps for a machine's own on first `up`."""
    for pattern in INSECURE_KEY_GLOBS:
        for path in sorted(Path("/").glob(pattern.lstrip("/"))):
            return path.read_text()
    raise BoxError("Vagrant's insecure key (keys/vagrant.pub) was not found: is vagrant installed?")


PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def wheelhouse_requirements(pyproject: Path = PYPROJECT) -> tuple[str, ...]:
    """What installing the project in a machine needs: its run-time dependencies, and what
    building it from its source needs."""
    return (*run_requirements(pyproject), *build_requirements(pyproject))


def _bake_python(root: Path, wheels: Path) -> None:
    shutil.rmtree(wheels, ignore_errors=True)
    _run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
         "--dest", str(wheels), *wheelhouse_requirements()],
    )  # fmt: skip
    wheelhouse = root / WHEELHOUSE.lstrip("/")
    shutil.copytree(wheels, wheelhouse)
    _chroot(root, "python3", "-m", "venv", VENV)
    _chroot(
        root, f"{VENV}/bin/pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-index", "--find-links", WHEELHOUSE, *wheelhouse_requirements(),
    )  # fmt: skip


def _make_disk(root: Path, out: Path) -> None:
    boot = root / "boot"
    kernels = sorted(boot.glob("vmlinuz-*"), key=lambda p: p.stat().st_mtime)
    if not kernels:
        raise BoxError("no kernel in the root's /boot")
    version = kernels[-1].name.removeprefix("vmlinuz-")
    shutil.copy(boot / f"vmlinuz-{version}", out / "vmlinuz")
    shutil.copy(boot / f"initrd.img-{version}", out / "initrd.img")
    modules = boot / "grub/i386-pc"
    modules.mkdir(parents=True, exist_ok=True)
    for module in (root / "usr/lib/grub/i386-pc").iterdir():
        if module.suffix in (".mod", ".lst"):
            shutil.copy(module, modules)
    (boot / "grub/grub.cfg").write_text(
        "serial --unit=0 --speed=115200\nterminal_input serial console\n"
        "terminal_output serial console\nset timeout=1\n"
        f'menuentry "Debian 12 ({version})" {{\n'
        f"  linux /boot/vmlinuz-{version} root=LABEL={ROOT_LABEL} ro {KERNEL_ARGS}\n"
        f"  initrd /boot/initrd.img-{version}\n}}\n"
    )
    _chroot(
        root, "grub-mkimage", "--format=i386-pc", "--output=/tmp/core.img",
        "--prefix=(hd0,msdos1)/boot/grub", "biosdisk", "part_msdos", "ext2",
    )  # fmt: skip
    core = (root / "tmp/core.img").read_bytes()
    (root / "tmp/core.img").unlink()
    boot_img = (root / "usr/lib/grub/i386-pc/boot.img").read_bytes()
    raw = out / "disk.raw"
    raw.unlink(missing_ok=True)
    with raw.open("wb") as f:
        f.truncate(DISK_MIB * 2**20)
    _run(["sfdisk", "--quiet", str(raw)], input=f"start={FIRST_SECTOR}, type=83, bootable\n")
    size_kib = (DISK_MIB * 2**20 - FIRST_SECTOR * grub.SECTOR) // 1024
    _run(
        ["mkfs.ext4", "-q", "-F", "-L", ROOT_LABEL, "-E", f"offset={FIRST_SECTOR * grub.SECTOR}",
         "-d", str(root), str(raw), f"{size_kib}k"],
    )  # fmt: skip
    grub.embed(raw, boot_img, core, FIRST_SECTOR)
    image = out / "box.img"
    image.unlink(missing_ok=True)
    _run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(image)])
    raw.unlink()


BOX_VAGRANTFILE = """# The lab's Debian 12 box for vagrant-libvirt (python -m lab.vagrant box).
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |libvirt|
    libvirt.disk_bus = "virtio"
  end
end
"""


def _pack_box(out: Path) -> Path:
    metadata = {"provider": "libvirt", "format": "qcow2", "virtual_size": DISK_MIB // 1024}
    (out / "metadata.json").write_text(json.dumps(metadata) + "\n")
    (out / "Vagrantfile").write_text(BOX_VAGRANTFILE)
    box = out / BOX_FILE
    partial = box.with_suffix(".partial")
    with tarfile.open(partial, "w") as tar:  # vagrant takes a plain tar; box.img is qcow2
        for name in ("metadata.json", "Vagrantfile", "box.img"):
            tar.add(out / name, arcname=name)
    partial.replace(box)
    for name in ("metadata.json", "Vagrantfile", "box.img"):
        (out / name).unlink()
    return box


# --- running commands ----------------------------------------------------------------------------


def _run(argv: list[str], input: str | None = None) -> str:
    result = subprocess.run(argv, input=input, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BoxError(
            f"{' '.join(argv[:6])}{' ...' if len(argv) > 6 else ''} failed "
            f"({result.returncode}):\n{(result.stdout + result.stderr)[-3000:]}"
        )
    return result.stdout


# In a private mount namespace: /proc, /sys and /dev mounted for the chroot vanish with it.
CHROOT_SCRIPT = (
    'mount -t proc proc "$0/proc" && mount -t sysfs sysfs "$0/sys" && '
    'mount --rbind /dev "$0/dev" && exec chroot "$0" "$@"'
)


def _chroot(root: Path, *argv: str, input: str | None = None) -> str:
    command = ["unshare", "--mount", "--", "sh", "-c", CHROOT_SCRIPT, str(root), *argv]
    result = subprocess.run(
        command, input=input, capture_output=True, text=True, check=False, env=CHROOT_ENV
    )
    if result.returncode != 0:
        raise BoxError(
            f"in the box's root: {' '.join(argv[:6])} failed ({result.returncode}):\n"
            f"{(result.stdout + result.stderr)[-3000:]}"
        )
    return result.stdout


class _Timer:
    """Times the build's steps and says how long each took."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.total = 0.0

    @contextmanager
    def __call__(self, what: str) -> Iterator[None]:
        started = time.monotonic()
        self.say(f"box: {what} ...")
        yield
        took = time.monotonic() - started
        self.total += took
        self.say(f"box: {what}: {took:.0f} s")
