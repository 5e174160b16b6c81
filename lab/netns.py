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
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

IP = "ip"
NETNS_DIR = Path("/run/netns")  # where `ip netns add` keeps a handle on each namespace
CLONE_NEWNET = 0x40000000  # setns(2): the handle must be a network namespace
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
    """SIGTERM a process we started, SIGKILL it after `grace` seconds; return once it is gone."""
    end_processes([pid], grace)


KILL_WAIT = 5.0  # seconds to wait for SIGKILLed processes to be gone before giving up


def end_processes(pids: Iterable[int], grace: float = 2.0) -> list[int]:
    """End processes together: SIGTERM to all, SIGKILL to those still there after `grace`
    seconds; return once every one has exited. Returns the PIDs still there after a further
    `KILL_WAIT` seconds (none, unless the kernel is stuck on one)."""
    pending = [pid for pid in dict.fromkeys(pids) if _alive(pid)]
    for pid in pending:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    pending = _wait_gone(pending, grace)
    for pid in pending:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return _wait_gone(pending, KILL_WAIT)


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait up to `timeout` seconds for the processes to exit; return those still running."""
    deadline = time.monotonic() + timeout
    while True:
        pids = [pid for pid in pids if _alive(pid)]
        if not pids or time.monotonic() >= deadline:
            return pids
        time.sleep(0.01)


def _alive(pid: int) -> bool:
    """Whether the process exists and has not ended (a zombie has)."""
    _reap(pid)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(") ", 1)[1][:1] != "Z"


def _reap(pid: int) -> None:
    """Collect the exit status of a child of ours, so that it leaves no zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def remove_stale(prefix: str) -> list[str]:
    """End the processes in, and delete, every namespace whose name starts with `prefix`."""
    removed = [name for name in list_namespaces() if name.startswith(prefix)]
    end_processes([pid for name in removed for pid in pids_in(name)], grace=1.0)
    for name in removed:
        _ip("netns", "delete", name, check=False)
    return removed


_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"setns: {os.strerror(error)}")


@contextlib.contextmanager
def entered(namespace: str) -> Iterator[None]:
    """Run the body with the calling thread inside `namespace` (other threads stay where they
    are); a socket made there belongs to that namespace for good."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        target = os.open(NETNS_DIR / namespace, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)


def socket_in(
    namespace: str, family: int, kind: int = socket.SOCK_DGRAM, protocol: int = 0
) -> socket.socket:
    """A socket in `namespace`, made from this process: no `ip netns exec` process needed."""
    with entered(namespace):
        return socket.socket(family, kind, protocol)


def write_sysctls(namespace: str, settings: dict[str, str]) -> None:
    """Set `net.*` sysctls of a namespace (written under /proc/sys from inside it)."""
    with entered(namespace):
        for key, value in settings.items():
            Path("/proc/sys", *key.split(".")).write_text(value)


def ip_batch(commands: Sequence[str], namespace: str | None = None) -> None:
    """Run `ip` commands (one per line, as `ip -batch` takes them) in one process."""
    ip_batches({namespace: commands})


def ip_batches(batches: Mapping[str | None, Sequence[str]]) -> None:
    """`ip_batch` for several namespaces at once (None: the machine's own), in parallel."""
    processes = []
    for namespace, commands in batches.items():
        argv = [IP, *(["-n", namespace] if namespace else []), "-batch", "-"]
        process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert process.stdin is not None
        process.stdin.write("\n".join(commands) + "\n")
        process.stdin.close()
        processes.append((namespace, process))
    errors = []
    for namespace, process in processes:
        assert process.stderr is not None and process.stdout is not None
        error = process.stderr.read()
        process.stdout.read()
        if process.wait() != 0:
            errors.append(f"{namespace or 'ip'}: {error.strip()}")
    if errors:
        raise RuntimeError("ip -batch failed: " + "; ".join(errors))


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

    def add_address(self, interface: str, cidr: str) -> None:
        self.ip("addr", "add", cidr, "dev", interface)

    def sysctl(self, key: str, value: str) -> None:
        self.run(["sysctl", "-qw", f"{key}={value}"])

    def socket(self, family: int, kind: int = socket.SOCK_DGRAM) -> socket.socket:
        """A socket inside this namespace."""
        return socket_in(self.name, family, kind)


class Network:
    """A set of namespaces under one name prefix, and everything started in them."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.hosts: dict[str, Netns] = {}
        self.processes: list[subprocess.Popen[bytes]] = []
        self.links = 0

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.teardown()

    def add_host(self, name: str) -> Netns:
        """Create the namespace `<prefix><name>` with its loopback up."""
        return self.add_hosts([name])[name]

    def add_hosts(self, names: Sequence[str]) -> dict[str, Netns]:
        """Create a namespace `<prefix><name>` for each name, loopbacks up (two `ip` processes
        in all, whatever the number)."""
        full_names = [f"{self.prefix}{name}" for name in names]
        existing = set(list_namespaces()) & set(full_names)
        if existing:
            raise RuntimeError(
                f"namespace {sorted(existing)[0]} already exists (a stale run? remove it)"
            )
        ip_batch([f"netns add {full_name}" for full_name in full_names])
        hosts = {
            name: Netns(full_name, self) for name, full_name in zip(names, full_names, strict=True)
        }
        self.hosts.update(hosts)
        ip_batches({host.name: ["link set lo up"] for host in hosts.values()})
        return hosts

    def link(self, a: Netns, a_interface: str, b: Netns, b_interface: str) -> None:
        """Join two hosts with a veth pair, both ends up."""
        self.link_many([(a, a_interface, b, b_interface)])

    def link_many(self, pairs: Sequence[tuple[Netns, str, Netns, str]]) -> None:
        """Join pairs of hosts with veth pairs, every end up.

        The two ends get different interface indexes. A veth end whose index equals its peer's
        (as happens when each end is the first interface of a fresh namespace) has its carrier
        changes treated as not urgent by the kernel's linkwatch, which then reports them up to
        a second late: the routers would see a link go down only that much later.
        """
        commands = []
        up: dict[str | None, list[str]] = {}
        for a, a_interface, b, b_interface in pairs:
            index = FIRST_VETH_INDEX + 2 * self.links
            self.links += 1
            commands.append(
                f"link add {a_interface} index {index} netns {a.name} type veth "
                f"peer name {b_interface} index {index + 1} netns {b.name}"
            )
            up.setdefault(a.name, []).append(f"link set {a_interface} up")
            up.setdefault(b.name, []).append(f"link set {b_interface} up")
        ip_batch(commands)
        ip_batches(up)

    def teardown(self) -> None:
        """End every process started here (by PID), then delete every namespace."""
        end_processes([process.pid for process in self.processes if process.poll() is None])
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1.0)
        for host in self.hosts.values():  # anything a process of ours left behind
            end_processes(pids_in(host.name), grace=1.0)
            _ip("netns", "delete", host.name, check=False)
        self.processes.clear()
        self.hosts.clear()
