"""The host side of libvirt for `make vagrant-check`: its daemons, and undoing what it changed.

`LibvirtHost` makes libvirtd and virtlogd available: systemd starts them where systemd runs
the machine; elsewhere (a container, a sandbox) they are started here, in the foreground, and
ended by PID. On the way out it also undoes what libvirt changed on the host: the firewall
chains it added (LIBVIRT_*, and the iptables tables it had to create), and IP forwarding, which
its NAT network (the machines' management network) switches on. If /dev/kvm does not belong to
the `kvm` group (as Debian's udev rule makes it), it is lent to that group for the check:
libvirt probes QEMU as root, sees KVM, then finds that its QEMU user cannot open /dev/kvm,
calls its probe outdated and probes again, without end, and no machine starts.

Domains, networks and volumes are the check's to remove (check.py); this module removes what
only the daemons leave behind.
"""

from __future__ import annotations

import contextlib
import grp
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

URI = "qemu:///system"
SOCKET = Path("/run/libvirt/libvirt-sock")
FORWARDING = (
    Path("/proc/sys/net/ipv4/ip_forward"),
    Path("/proc/sys/net/ipv6/conf/all/forwarding"),
)
KVM_DEVICE = Path("/dev/kvm")
KVM_GROUP = "kvm"  # the group of libvirt's QEMU user (libvirt-qemu) on Debian
# libvirt's own chains (libvirt 9: LIBVIRT_INP, _OUT, _FWI, _FWO, _FWX, _PRT)
CHAIN_PREFIX = "LIBVIRT_"
# libvirtd probes QEMU's capabilities before it answers: tens of seconds on a busy machine.
START_TIMEOUT = 120.0
# Access over the UNIX socket for root, without polkit (which needs D-Bus and systemd).
LIBVIRTD_CONF = """# libvirtd for `make vagrant-check`, started by hand: root only, no polkit.
unix_sock_group = "root"
unix_sock_ro_perms = "0700"
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
"""


class LibvirtError(RuntimeError):
    """libvirtd could not be made available."""


def virsh(*args: str, check: bool = True) -> str:
    result = subprocess.run(
        ["virsh", "--connect", URI, *args], capture_output=True, text=True, timeout=120
    )
    if check and result.returncode != 0:
        raise LibvirtError(f"virsh {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def names(*args: str) -> list[str]:
    """`virsh <list command> --name` as a list."""
    return [line.strip() for line in virsh(*args, "--name", check=False).splitlines() if line]


@dataclass
class FirewallState:
    """The iptables chains and nftables tables there were before libvirt ran."""

    chains: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # tool -> (table, chain)
    tables: set[str] = field(default_factory=set)  # "family name"

    @classmethod
    def now(cls) -> FirewallState:
        state = cls()
        for tool in ("iptables", "ip6tables"):
            state.chains[tool] = _chains(tool)
        if shutil.which("nft"):
            listing = _output(["nft", "list", "tables"])
            state.tables = {line.removeprefix("table ").strip() for line in listing.splitlines()}
        return state


def _output(argv: list[str]) -> str:
    if not shutil.which(argv[0]):
        return ""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return result.stdout if result.returncode == 0 else ""


def _chains(tool: str) -> set[tuple[str, str]]:
    """(table, chain) of every chain `TOOL-save` lists."""
    found, table = set(), ""
    for line in _output([f"{tool}-save"]).splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":"):
            found.add((table, line[1:].split()[0]))
    return found


def remove_added_chains(before: FirewallState) -> list[str]:
    """Remove the LIBVIRT_* chains (and the jumps to them) that were not there `before`, then
    the tables created for them that are left empty. Returns what was removed."""
    removed = []
    for tool in ("iptables", "ip6tables"):
        added = {
            (table, chain)
            for table, chain in _chains(tool) - before.chains.get(tool, set())
            if chain.startswith(CHAIN_PREFIX)
        }
        for table in sorted({table for table, _ in added}):
            ours = {chain for t, chain in added if t == table}
            for rule in _output([f"{tool}-save", "-t", table]).splitlines():
                match = re.match(r"-A (\S+) (.*-j (\S+).*)$", rule)
                if match and match.group(3) in ours and match.group(1) not in ours:
                    subprocess.run(
                        [tool, "-t", table, "-D", match.group(1), *match.group(2).split()]
                    )
            for chain in sorted(ours):
                subprocess.run([tool, "-t", table, "-F", chain])
            for chain in sorted(ours):
                subprocess.run([tool, "-t", table, "-X", chain])
                removed.append(f"{tool} -t {table} {chain}")
    if shutil.which("nft"):
        for line in _output(["nft", "list", "tables"]).splitlines():
            table = line.removeprefix("table ").strip()
            if table in before.tables:
                continue
            if not re.search(r"^\s+(?!type |policy )\S", _rules(table), re.M):
                subprocess.run(["nft", "delete", "table", *table.split()])
                removed.append(f"nft table {table}")
    return removed


def _rules(table: str) -> str:
    """The body of an nftables table, without the chain headers: empty when it has no rule."""
    lines = []
    for line in _output(["nft", "list", "table", *table.split()]).splitlines():
        text = line.strip()
        if text and not text.startswith(("table ", "chain ", "}", "type ")):
            lines.append(line)
    return "\n".join(lines)


@dataclass
class LibvirtHost:
    """libvirtd and virtlogd for the length of a `with` block; then the host as it was."""

    work: Path
    say: object = print
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started_units: list[str] = field(default_factory=list)
    forwarding: dict[Path, str] = field(default_factory=dict)
    firewall: FirewallState = field(default_factory=FirewallState)
    kvm_group: int | None = None  # /dev/kvm's own group, while it is lent to KVM_GROUP

    def __enter__(self) -> LibvirtHost:
        self.forwarding = {path: path.read_text() for path in FORWARDING if path.exists()}
        self.firewall = FirewallState.now()
        self._lend_kvm()
        try:
            self._start()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop()

    def _say(self, text: str) -> None:
        self.say(text)  # type: ignore[operator]

    def _start(self) -> None:
        if _responds():
            self._say("libvirt: using the libvirtd that runs here")
            return
        if Path("/run/systemd/system").is_dir():  # systemd runs this machine
            for unit in ("virtlogd.service", "libvirtd.service"):
                active = subprocess.run(["systemctl", "is-active", "--quiet", unit]).returncode
                if active != 0:
                    subprocess.run(["systemctl", "start", unit], check=True)
                    self.started_units.append(unit)
            self._say(f"libvirt: started {', '.join(self.started_units) or 'nothing'} (systemd)")
        else:
            self.work.mkdir(parents=True, exist_ok=True)
            config = self.work / "libvirtd.conf"
            config.write_text(LIBVIRTD_CONF)
            logs = (self.work / "libvirtd.log").open("ab")
            pids = []
            for argv in (["virtlogd"], ["libvirtd", "--config", str(config)]):
                process = subprocess.Popen(argv, stdout=logs, stderr=logs, start_new_session=True)
                self.started.append(process)
                pids.append(f"{argv[0]} {process.pid}")
            logs.close()
            self._say(f"libvirt: started {', '.join(pids)} (systemd does not run this machine)")
        deadline = time.monotonic() + START_TIMEOUT
        while not _responds():
            if time.monotonic() > deadline:
                raise LibvirtError(f"libvirtd did not answer on {SOCKET} in {START_TIMEOUT:.0f} s")
            if any(p.poll() is not None for p in self.started):
                raise LibvirtError(f"libvirtd or virtlogd ended; see {self.work}/libvirtd.log")
            time.sleep(0.2)

    def _stop(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.started.clear()
        for unit in reversed(self.started_units):
            subprocess.run(["systemctl", "stop", unit], check=False)
        self.started_units.clear()
        for name in remove_added_chains(self.firewall):
            self._say(f"libvirt: removed {name}")
        for path, value in self.forwarding.items():
            if path.read_text() != value:
                path.write_text(value)
                self._say(f"libvirt: {path} back to {value.strip()}")
        self._return_kvm()

    def _lend_kvm(self) -> None:
        try:
            kvm = grp.getgrnam(KVM_GROUP).gr_gid
            own = KVM_DEVICE.stat().st_gid
        except (KeyError, OSError):
            return  # no kvm group, or no /dev/kvm: nothing for libvirt to disagree about
        if own != kvm:
            os.chown(KVM_DEVICE, -1, kvm)
            self.kvm_group = own
            self._say(f"libvirt: {KVM_DEVICE} lent to group {KVM_GROUP} (it had group {own})")

    def _return_kvm(self) -> None:
        if self.kvm_group is not None:
            os.chown(KVM_DEVICE, -1, self.kvm_group)
            self._say(f"libvirt: {KVM_DEVICE} back to group {self.kvm_group}")
            self.kvm_group = None


def _responds() -> bool:
    if not SOCKET.exists():
        return False
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        result = subprocess.run(
            ["virsh", "--connect", URI, "version"], capture_output=True, timeout=10
        )
        return result.returncode == 0
    return False


def kvm_works(kernel: Path, timeout: float = 30.0) -> bool:
    """Whether KVM boots a Linux kernel here: `kernel` must reach the point where it looks for
    its root filesystem (a nested hypervisor may offer /dev/kvm and fail on the way)."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK) or not kernel.exists():
        return False
    argv = [
        "qemu-system-x86_64", "-accel", "kvm", "-m", "256", "-nographic", "-no-reboot",
        "-kernel", str(kernel), "-append", "console=ttyS0 panic=-1",
    ]  # fmt: skip
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return b"VFS: Unable to mount root fs" in output
