"""Machines for provisioning tests without a VM: systemd booted in a container (systemd-nspawn).

A container's root is this machine's own root filesystem under an overlay (what it writes goes
to a directory of the test), with none of this machine's services enabled: a Debian 12 system
with the packages `make test` installs, as on a box with the lab's packages pre-installed, whose
systemd starts only what the provisioning under test enables. Its network is a namespace of the
test's (lab.netns), linked only to the test's other containers. A reboot is a new boot on the
same disk in a fresh network namespace: addresses, routes and sysctls are gone, as after a
real reboot, unless the machine's own configuration puts them back.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

BOOT_TIMEOUT = 90.0
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Container:
    """One systemd-nspawn container booted from an overlay of this machine's root."""

    def __init__(self, name: str, workdir: Path, binds: dict[str, Path]) -> None:
        self.name = name
        self.workdir = workdir
        self.root = workdir / "root"
        self.binds = binds  # path in the container -> directory here (read-write)
        self.process: subprocess.Popen[bytes] | None = None
        self.leader = 0
        self._mounted = False

    def prepare(self) -> None:
        """Mount the overlay root; switch off every service this machine enables."""
        for directory in ("upper", "work", "root"):
            (self.workdir / directory).mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir=/,upperdir={self.workdir}/upper,workdir={self.workdir}/work",
             str(self.root)],
            check=True,
        )  # fmt: skip
        self._mounted = True
        for wants in (self.root / "etc/systemd/system").glob("*.wants"):
            for link in wants.iterdir():
                link.unlink()
        (self.root / "etc/hostname").write_text(self.name + "\n")
        (self.root / "etc/machine-id").write_text(uuid.uuid4().hex + "\n")
        for inside in self.binds:
            (self.root / inside.lstrip("/")).mkdir(parents=True, exist_ok=True)

    def boot(self, netns: str) -> None:
        """Boot systemd in the network namespace `netns`; return when the boot is over."""
        log = (self.workdir / "console.log").open("ab")
        argv = [
            "systemd-nspawn", "--quiet", "--boot", f"--directory={self.root}",
            f"--machine={self.name}", f"--network-namespace-path=/run/netns/{netns}",
            "--private-network",
            "--link-journal=no", "--register=no", "--keep-unit", "--console=read-only",
            *(f"--bind={here}:{inside}" for inside, here in self.binds.items()),
        ]  # fmt: skip
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        self.leader = self._wait_for_leader()
        deadline = time.monotonic() + BOOT_TIMEOUT
        state = ""
        while state not in ("running", "degraded") and time.monotonic() < deadline:
            time.sleep(0.1)  # "offline" (or no answer) until systemd has set itself up
            result = self.run("systemctl is-system-running --wait", BOOT_TIMEOUT)
            state = result.stdout.strip() or result.stderr.strip()
        if state not in ("running", "degraded"):
            raise RuntimeError(f"{self.name} did not boot ({state}): {self.console()}")

    def _wait_for_leader(self) -> int:
        assert self.process is not None
        deadline = time.monotonic() + BOOT_TIMEOUT
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"systemd-nspawn ended: {self.console()}")
            with contextlib.suppress(OSError):
                for pid in children.read_text().split():
                    if Path(f"/proc/{pid}/comm").read_text().strip() == "systemd":
                        return int(pid)
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: systemd did not start: {self.console()}")

    def run(self, command: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run a shell command as root inside the container (its namespaces, its root)."""
        argv = ["nsenter", "--target", str(self.leader), "--all", "--",
                "env", "-i", f"PATH={PATH}", "HOME=/root", "LANG=C.UTF-8",
                "sh", "-c", command]  # fmt: skip
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)

    def check(self, command: str, timeout: float = 60.0) -> str:
        """Run a command that must succeed; return its output."""
        result = self.run(command, timeout)
        assert result.returncode == 0, f"{self.name}$ {command}\n{result.stdout}{result.stderr}"
        return result.stdout

    def shutdown(self, timeout: float = 60.0) -> None:
        """Power off (SIGTERM makes systemd-nspawn shut the container down) and wait."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self.leader = 0

    def remove(self) -> None:
        """Shut down, unmount the root; the test's directory goes with the test's tmp_path."""
        self.shutdown()
        if self._mounted:
            subprocess.run(["umount", str(self.root)], check=False)
            if os.path.ismount(self.root):
                subprocess.run(["umount", "--lazy", str(self.root)], check=False)
            self._mounted = False

    def console(self) -> str:
        path = self.workdir / "console.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""
