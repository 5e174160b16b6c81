"""A Debian 12 container booted with systemd as PID 1 (systemd-nspawn), in a network namespace
of the test's own, for testing the units in deploy/ as an operator would run them.

The Debian root is made once with debootstrap (about two minutes, ~300 MB) and kept in
`DEBIAN_ROOT_CACHE`; each container boots an overlay of it whose changes live in memory and are
gone with it. This machine need not run systemd itself:
nspawn is started without registering with a host systemd (`--register=no --keep-unit`), and
commands reach the container's systemd through `nsenter` into its namespaces.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

DEBIAN_ROOT_CACHE = Path(
    os.environ.get("ABDT_DEBIAN_ROOT_CACHE", "/var/cache/anycast-bgp-dns/nspawn")
)
SUITE = "bookworm"
PACKAGES = ("systemd", "systemd-sysv", "dbus", "python3", "python3-venv", "iproute2", "procps")


def debian_root() -> Path:
    """A Debian 12 root with systemd and Python, made with debootstrap the first time."""
    key = hashlib.sha256(" ".join((SUITE, *PACKAGES)).encode()).hexdigest()[:12]
    root = DEBIAN_ROOT_CACHE / f"{SUITE}-{key}"
    if (root / ".complete").exists():
        return root
    DEBIAN_ROOT_CACHE.mkdir(parents=True, exist_ok=True)
    with (DEBIAN_ROOT_CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be making it right now
        if (root / ".complete").exists():
            return root
        partial = root.with_name(root.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        argv = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE,
                str(partial), *_host_mirror()]  # fmt: skip
        result = subprocess.run(argv, capture_output=True, text=True, timeout=1200)
        if result.returncode != 0:
            raise RuntimeError(f"debootstrap failed:\n{result.stdout[-3000:]}{result.stderr}")
        (partial / ".complete").touch()
        partial.rename(root)
    return root


def _host_mirror() -> list[str]:
    """The Debian mirror this machine's apt uses (none found: debootstrap's default)."""
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        found = re.search(r"^URIs:\s*(\S+)", sources.read_text(), re.MULTILINE)
        if found:
            return [found.group(1)]
    legacy = Path("/etc/apt/sources.list")
    if legacy.exists():
        found = re.search(rf"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+{SUITE}\s", legacy.read_text(), re.M)
        if found:
            return [found.group(1)]
    return []


class Container:
    """An overlay of the Debian root at `directory`/root, booted in the network namespace
    `netns`; `remove()` ends it and unmounts everything."""

    def __init__(self, name: str, directory: Path, netns: str) -> None:
        self.name = name
        self.root = directory / "root"
        self.changes = directory / "changes"  # a tmpfs: the overlay's upper and work directories
        self.netns = netns
        self.log_path = directory / "console.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.init_pid = 0  # the container's PID 1, as this machine numbers it
        lower = debian_root()
        self.root.mkdir()
        self.changes.mkdir()
        _mount("-t", "tmpfs", "-o", "mode=0755", "tmpfs", str(self.changes))
        (self.changes / "upper").mkdir()
        (self.changes / "work").mkdir()
        options = f"lowerdir={lower},upperdir={self.changes}/upper,workdir={self.changes}/work"
        try:
            _mount("-t", "overlay", "-o", options, "overlay", str(self.root))
        except subprocess.CalledProcessError:
            _umount(self.changes)
            raise

    def path(self, inside: str) -> Path:
        """A path of the container's file system, seen from this machine."""
        return self.root / inside.lstrip("/")

    def write(self, inside: str, text: str, mode: int = 0o644) -> None:
        path = self.path(inside)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)

    def spawn(self, argv: list[str], binds: dict[Path, str] | None = None,
              timeout: float = 300) -> subprocess.CompletedProcess[str]:  # fmt: skip
        """Run one command in the container's file system, not booted and with no network."""
        options = [f"--bind-ro={host}:{inside}" for host, inside in (binds or {}).items()]
        return subprocess.run(
            ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--private-network",
             f"--machine={self.name}", "--directory", str(self.root), *options, "--", *argv],
            check=True, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def boot(self, timeout: float = 60) -> None:
        """Boot with systemd as PID 1; return once the boot is over ("running" or "degraded")."""
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--boot",
                 "--console=passive", f"--machine={self.name}", "--directory", str(self.root),
                 f"--network-namespace-path=/run/netns/{self.netns}",
                 "--capability=CAP_NET_ADMIN"],  # its own network: addresses on its loopback
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self.init_pid:
            self._check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"container {self.name} did not start")
            self.init_pid = self._find_init()
            time.sleep(0.1)
        state = ""
        while state not in ("running", "degraded"):  # before systemd listens: no answer
            self._check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"container {self.name} boot: {state!r}\n{self.console()}")
            waited = self.run(["systemctl", "is-system-running", "--wait"], check=False,
                              timeout=max(1, deadline - time.monotonic()))  # fmt: skip
            state = waited.stdout.strip()
            time.sleep(0.1)

    def _find_init(self) -> int:
        """The nspawn process's child that is PID 1 of its own PID namespace."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        with contextlib.suppress(OSError):
            for pid in children.read_text().split():
                status = Path(f"/proc/{pid}/status").read_text()
                found = re.search(r"^NSpid:\s+(.*)$", status, re.MULTILINE)
                if found and found.group(1).split()[-1] == "1":
                    return int(pid)
        return 0

    def _check_alive(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"systemd-nspawn exited:\n{self.console()}")

    def run(self, argv: list[str], check: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:  # fmt: skip
        """Run a command in the booted container (its mount, PID, network... namespaces)."""
        return subprocess.run(
            ["nsenter", f"--target={self.init_pid}", "--all", "--", *argv],
            check=check, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def systemctl(self, *args: str, check: bool = True) -> str:
        return self.run(["systemctl", "--no-pager", *args], check=check).stdout

    def show(self, unit: str, *properties: str) -> dict[str, str]:
        """`systemctl show UNIT -p ...` as a dict."""
        text = self.systemctl("show", unit, *(f"--property={p}" for p in properties))
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    def journal(self, unit: str) -> str:
        return self.run(["journalctl", "--no-pager", "-o", "cat", "-u", unit], check=False).stdout

    def console(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    def poweroff(self, timeout: float = 30) -> None:
        """Shut the container down cleanly; kill it (its PID 1, so all of it) if that hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(subprocess.SubprocessError):
            self.run(["systemctl", "poweroff"], check=False, timeout=10)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.init_pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def remove(self) -> None:
        self.poweroff()
        _umount(self.root)
        _umount(self.changes)


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


def _umount(path: Path) -> None:
    subprocess.run(["umount", str(path)], check=False, capture_output=True, timeout=30)
