"""Network namespaces as hosts: create them, wire them with veth pairs, run processes in them,
and take everything down again.

A `Netns` is one host. A `Network` owns a set of hosts under one name prefix and remembers every
process it started, so that `teardown()` ends those processes by PID and deletes the namespaces,
also when a test fails half-way. `remove_stale(prefix)` cleans up after a run that crashed: it
ends the processes still inside namespaces of that prefix (found by `ip netns pids`) and deletes
the namespaces.

The namespaces are a closed world: nothing here links them to the machine's own namespace.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

IP = "ip"
FIRST_VETH_INDEX = 100  # interface indexes of the veth ends: 100, 101 for the first link, ...


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IP, *args], check=check, capture_output=True, text=True)


def list_namespaces() -> list[str]:
    """Names of every network namespace on the machine."""
    out = _ip("netns", "list").stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def pids_in(namespace: str) -> list[int]:
    """PIDs of the processes running in a namespace."""
    result = _ip("netns", "pids", namespace, check=False)
    return [int(pid) for pid in result.stdout.split() if pid.isdigit()]


def end_process(pid: int, grace: float = 2.0) -> None:
    """SIGTERM a process we started, then SIGKILL it if it has not gone after `grace` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _reap(pid)


def _alive(pid: int) -> bool:
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def remove_stale(prefix: str) -> list[str]:
    """End the processes in, and delete, every namespace whose name starts with `prefix`."""
    removed = []
    for name in list_namespaces():
        if not name.startswith(prefix):
            continue
        for pid in pids_in(name):
            end_process(pid, grace=1.0)
        _ip("netns", "delete", name, check=False)
        removed.append(name)
    return removed


class Netns:
    """One network namespace: a host of the lab or of a test."""

    def __init__(self, name: str, network: Network) -> None:
        self.name = name
        self._network = network

    def __repr__(self) -> str:
        return f"Netns({self.name!r})"

    def command(self, argv: Sequence[str]) -> list[str]:
        """`argv` prefixed so that it runs inside this namespace."""
        return [IP, "netns", "exec", self.name, *argv]

    def run(
        self, argv: Sequence[str], check: bool = True, timeout: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        """Run a command to completion inside the namespace and capture its output."""
        return subprocess.run(
            self.command(argv), check=check, capture_output=True, text=True, timeout=timeout
        )

    def ip(self, *args: str) -> str:
        """Run `ip ARGS` inside the namespace; return its standard output."""
        return _ip("-n", self.name, *args).stdout

    def popen(self, argv: Sequence[str], **kwargs: object) -> subprocess.Popen[bytes]:
        """Start a long-running process inside the namespace; the network ends it at teardown."""
        process = subprocess.Popen(self.command(argv), **kwargs)  # type: ignore[call-overload]
        self._network.processes.append(process)
        return process  # type: ignore[no-any-return]

    def adopt(self, pid: int) -> None:
        """Have the network end a process started in this namespace some other way (a daemon)."""
        self._network.adopted_pids.append(pid)

    def add_address(self, interface: str, cidr: str) -> None:
        self.ip("addr", "add", cidr, "dev", interface)

    def add_route(self, destination: str, via: str) -> None:
        self.ip("route", "replace", destination, "via", via)

    def sysctl(self, key: str, value: str) -> None:
        self.run(["sysctl", "-qw", f"{key}={value}"])


class Network:
    """A set of namespaces under one name prefix, and everything started in them."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.hosts: dict[str, Netns] = {}
        self.processes: list[subprocess.Popen[bytes]] = []
        self.adopted_pids: list[int] = []
        self.links = 0

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.teardown()

    def add_host(self, name: str) -> Netns:
        """Create the namespace `<prefix><name>` with its loopback up."""
        full_name = f"{self.prefix}{name}"
        if full_name in list_namespaces():
            raise RuntimeError(f"namespace {full_name} already exists (a stale run? remove it)")
        _ip("netns", "add", full_name)
        host = Netns(full_name, self)
        self.hosts[name] = host
        host.ip("link", "set", "lo", "up")
        return host

    def link(self, a: Netns, a_interface: str, b: Netns, b_interface: str) -> None:
        """Join two hosts with a veth pair, both ends up.

        The two ends get different interface indexes. A veth end whose index equals its peer's
        (as happens when each end is the first interface of a fresh namespace) has its carrier
        changes treated as not urgent by the kernel's linkwatch, which then reports them up to
        a second late: the routers would see a link go down only that much later.
        """
        index = FIRST_VETH_INDEX + 2 * self.links
        self.links += 1
        _ip(
            "link", "add", a_interface, "index", str(index), "netns", a.name,
            "type", "veth", "peer", "name", b_interface, "index", str(index + 1), "netns", b.name,
        )  # fmt: skip
        a.ip("link", "set", a_interface, "up")
        b.ip("link", "set", b_interface, "up")

    def teardown(self) -> None:
        """End every process started here (by PID), then delete every namespace."""
        for process in reversed(self.processes):
            if process.poll() is None:
                end_process(process.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1.0)
        for pid in reversed(self.adopted_pids):
            end_process(pid)
        for host in self.hosts.values():
            for pid in pids_in(host.name):  # anything a process of ours left behind
                end_process(pid, grace=1.0)
            _ip("netns", "delete", host.name, check=False)
        self.processes.clear()
        self.adopted_pids.clear()
        self.hosts.clear()
