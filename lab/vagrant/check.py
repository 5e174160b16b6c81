"""`make vagrant-check`: the seed's scenarios on six libvirt machines, then all of it destroyed.

    python -m lab.vagrant check [--mode python|reference|both]     (as root)

1. libvirtd and virtlogd (libvirt.py: started here when systemd does not run this machine);
2. KVM if it boots a kernel here, software emulation (TCG) otherwise;
3. the box (OUT/anycast-bookworm64.box, built first if missing) added to a Vagrant home of the
   check's own, so that nothing of the user's Vagrant set-up is touched;
4. `vagrant up --no-provision` (the six machines boot in parallel), then each machine's
   `vagrant provision`, in parallel, in python mode;
5. the seed's checks, through `vagrant ssh` as a user would run them: both clients reach the
   anycast address and get the MX and A answers; CH TXT id.server names each client's server;
   `vagrant halt server1` moves client1 to server2, `vagrant up server1` moves it back; server2
   reboots (`systemctl reboot` inside it) and client2 is answered all along, then by server2
   again (its anycast address, routes and services are back);
6. the servers and routers provisioned again in reference mode (the switch), the same checks;
7. everything destroyed, whatever happened: the machines, the networks, the box's volume, the
   storage pool if the check made it, libvirt's firewall chains, IP forwarding as it was.

It prints each command and its output, then a summary with the time of each phase and the
machines' peak memory; it returns True only if every check passed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..render import Mode
from ..topology import Topology, load
from .box import BOX_FILE, BOX_NAME, build_box
from .libvirt import LibvirtHost, kvm_works, names, virsh

REPO = Path(__file__).resolve().parents[2]
NAME = "anycast-check"  # ANYCAST_NAME: the prefix of the check's domains and networks
POOL = NAME  # ANYCAST_LIBVIRT_POOL: the check's own storage pool, for the box and the disks
POOL_DIR = f"/var/lib/libvirt/images/{POOL}"
POOL_XML = f"""<pool type='dir'>
  <name>{POOL}</name>
  <target><path>{POOL_DIR}</path></target>
</pool>
"""
INDENT = "    "
SSH_TIMEOUT = 120.0
WAIT = 180  # seconds a client waits for an expected answer (the routes move in seconds; a
# machine under emulation takes a minute or two to boot)
REBOOT_WAIT = 600


# --- what the topology says -------------------------------------------------------------------


def home_server(topology: Topology, client: str) -> str:
    """The server a client's queries reach when every server runs: its router's eBGP peer."""
    via = topology.node(client).routes[0].via
    router = topology.owner_of(via)
    assert router is not None, f"{client}'s next hop {via} is on no node"
    return next(n.node for n in topology.neighbors(router) if not n.internal)


def clients_of(topology: Topology, server: str) -> list[str]:
    return [c.name for c in topology.of_role("client") if home_server(topology, c.name) == server]


# --- the report --------------------------------------------------------------------------------


@dataclass
class Report:
    """What was run and seen; the checks and the time of each phase."""

    write: Callable[[str], None] = print
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    phases: list[tuple[str, float]] = field(default_factory=list)
    mode: str = ""

    def heading(self, text: str) -> None:
        self.write(f"\n── {text} " + "─" * max(0, 70 - len(text)))

    def say(self, text: str) -> None:
        self.write(text)

    def output(self, text: str) -> None:
        for line in text.rstrip().splitlines() or ["(no output)"]:
            self.write(INDENT + line)

    def check(self, ok: bool, claim: str) -> bool:
        (self.passed if ok else self.failed).append(
            f"[{self.mode}] {claim}" if self.mode else claim
        )
        self.write(f"  {'✔' if ok else '✘ FAILED:'} {claim}")
        return ok

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases.append((name, time.monotonic() - started))


class MemoryMeter:
    """The largest sum of the resident memory of the check's QEMU processes, sampled."""

    def __init__(self, marker: str, interval: float = 2.0) -> None:
        self.marker = f"guest={marker}".encode()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemoryMeter:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.sample())

    def sample(self) -> int:
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if self.marker not in (entry / "cmdline").read_bytes():
                    continue
                status = (entry / "status").read_text()
            except OSError:
                continue
            match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
            total += int(match.group(1)) * 1024 if match else 0
        return total


# --- vagrant ------------------------------------------------------------------------------------


@dataclass
class Vagrant:
    """The `vagrant` command on the check's own Vagrant home, state directory and names."""

    work: Path
    driver: str
    report: Report
    mode: Mode = "python"

    def environment(self, mode: Mode | None = None) -> dict[str, str]:
        return {
            **os.environ,
            "VAGRANT_HOME": str(self.work / "vagrant.d"),
            "VAGRANT_DOTFILE_PATH": str(self.work / "dot-vagrant"),
            "VAGRANT_DEFAULT_PROVIDER": "libvirt",
            "VAGRANT_CHECKPOINT_DISABLE": "1",
            "VAGRANT_NO_COLOR": "1",
            "ANYCAST_NAME": NAME,
            "ANYCAST_LIBVIRT_POOL": POOL,
            "ANYCAST_BOX": BOX_NAME,
            "ANYCAST_LIBVIRT_DRIVER": self.driver,
            "ANYCAST_MODE": mode or self.mode,
        }

    def run(
        self, *args: str, timeout: float = 3600, mode: Mode | None = None, log: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`vagrant ARGS` in the project; its output goes to `log` (in the work directory) or is
        returned. It runs in a process group of its own, ended whole on a timeout or an
        interruption: `vagrant ssh` leaves its ssh behind otherwise."""
        argv = ["vagrant", *args]
        if log is None:
            process = self._start(argv, mode, subprocess.PIPE)
        else:
            with (self.work / log).open("a") as out:
                out.write(f"\n$ {shlex.join(argv)}\n")
                out.flush()
                process = self._start(argv, mode, out)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:
            _end_group(process)
            raise
        return subprocess.CompletedProcess(argv, process.returncode, stdout or "", stderr or "")

    def _start(
        self, argv: list[str], mode: Mode | None, out: int | IO[str]
    ) -> subprocess.Popen[str]:
        return subprocess.Popen(
            argv, cwd=REPO, env=self.environment(mode), stdout=out,
            stderr=subprocess.PIPE if out is subprocess.PIPE else subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip

    def parallel(self, command: str, nodes: Iterable[str], mode: Mode) -> dict[str, int]:
        """`vagrant COMMAND NODE` for every node at once; each one's exit status."""
        processes = {}
        try:
            for node in nodes:
                with (self.work / f"{command}-{mode}-{node}.log").open("w") as out:
                    processes[node] = self._start(["vagrant", command, node], mode, out)
            return {node: process.wait() for node, process in processes.items()}
        except BaseException:
            for process in processes.values():
                _end_group(process)
            raise

    def ssh(self, node: str, command: str, timeout: float = SSH_TIMEOUT) -> tuple[int, str]:
        """`vagrant ssh NODE -c COMMAND`, printed with its output."""
        self.report.say(f"$ vagrant ssh {node} -c {shlex.quote(command)}")
        try:
            result = self.run("ssh", node, "-c", command, "--", "-q", timeout=timeout)
        except subprocess.TimeoutExpired:
            self.report.output(f"(no answer in {timeout:.0f} s)")
            return -1, ""
        output = (result.stdout + result.stderr).rstrip()
        self.report.output(output)
        return result.returncode, output


def _end_group(process: subprocess.Popen[str]) -> None:
    """End a process and everything it started (its process group), by its PID."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# --- the scenarios -----------------------------------------------------------------------------


def dig(question: str, short: bool = True) -> str:
    return f"dig {'+short ' if short else ''}+time=2 +tries=2 {question} @169.254.0.1"


def identity(vagrant: Vagrant, client: str, server: str) -> None:
    _, output = vagrant.ssh(client, dig("CH TXT id.server"))
    vagrant.report.check(output == f'"{server}"', f"id.server says {client} is served by {server}")


def wait_for_identity(vagrant: Vagrant, client: str, server: str, seconds: int) -> None:
    """Ask the anycast address who answers, once a second, until `server` does."""
    script = (
        f"for i in $(seq {seconds}); do "
        f"a=$({dig('CH TXT id.server')}); "
        f'if [ "$a" = \'"{server}"\' ]; then echo "$a (after $i s)"; exit 0; fi; sleep 1; '
        f'done; echo "still $a after {seconds} s"; exit 1'
    )
    status, _ = vagrant.ssh(client, script, timeout=seconds + SSH_TIMEOUT)
    vagrant.report.check(status == 0, f"{client} is answered by {server}")


def answers(vagrant: Vagrant, client: str) -> None:
    """The seed's two questions: example.com's MX and www.example.com's address."""
    _, output = vagrant.ssh(client, dig("example.com MX"))
    vagrant.report.check(output == "25 mail.example.com.", f"{client} gets example.com's MX")
    _, output = vagrant.ssh(client, dig("www.example.com A"))
    vagrant.report.check(output == "192.0.2.1", f"{client} gets www.example.com's address")


def run_scenarios(vagrant: Vagrant, topology: Topology) -> None:
    report = vagrant.report
    anycast = topology.service.address
    first, second = (s.name for s in topology.of_role("server")[:2])
    clients = [c.name for c in topology.of_role("client")]

    report.heading("each client is answered by its own server (once BGP has converged)")
    for client in clients:
        wait_for_identity(vagrant, client, home_server(topology, client), WAIT)

    report.heading("the anycast address from both clients")
    for client in clients:
        _, output = vagrant.ssh(client, f"ping -c 3 -i 0.5 -W 2 {anycast}")
        report.check(" 3 received" in output, f"{client} reaches {anycast} (3 of 3 replies)")
    for client in clients:
        answers(vagrant, client)
        identity(vagrant, client, home_server(topology, client))
    for router in topology.of_role("router"):
        vagrant.ssh(router.name, f"sudo vtysh -c 'show ip route {anycast}/32'")

    report.heading(f"vagrant halt {first}")
    report.say(f"$ vagrant halt {first}")
    result = vagrant.run("halt", first, log="halt-up.log")
    report.check(result.returncode == 0, f"{first} halted")
    for client in clients_of(topology, first):
        wait_for_identity(vagrant, client, second, WAIT)
        answers(vagrant, client)

    report.heading(f"vagrant up {first}")
    report.say(f"$ vagrant up {first}")
    result = vagrant.run("up", first, log="halt-up.log")
    report.check(result.returncode == 0, f"{first} is up again")
    for client in clients_of(topology, first):
        wait_for_identity(vagrant, client, first, WAIT)

    report.heading(f"a reboot inside {second}")
    vagrant.ssh(second, "sudo systemctl reboot")
    for client in clients_of(topology, second):
        wait_for_identity(vagrant, client, first, WAIT)  # while it is away
        answers(vagrant, client)
    for client in clients_of(topology, second):
        wait_for_identity(vagrant, client, second, REBOOT_WAIT)  # back, with its routes
    lab_route = next(
        (r for r in topology.node(second).routes if r.to == "default"), None
    )  # the route the reboot used to lose
    _, output = vagrant.ssh(second, "ip -4 route; ip -4 -br address show dev lo")
    if lab_route is not None:
        report.check(f"via {lab_route.via}" in output, f"{second}'s route to the lab is back")
    report.check(f"{anycast}/32" in output, f"{second}'s anycast address is back")


# --- the whole check ----------------------------------------------------------------------------


def run_check(
    modes: Iterable[Mode], work: Path, box: Path | None = None, write: Callable[[str], None] = print
) -> bool:
    """The check in each mode; everything it made is destroyed. True if every check passed."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    report = Report(write=write)
    topology = load()
    work = work.resolve()
    box = (box or work / BOX_FILE).resolve()
    check_dir = work / "check"
    check_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    memory = MemoryMeter(f"{NAME}_")
    driver = "?"
    try:
        if not box.exists():
            report.heading(f"the box: {box} is missing, building it")
            with report.phase("box (built)"):
                build_box(box.parent, say=report.say)
        with LibvirtHost(check_dir, say=report.say), memory:
            driver = "kvm" if kvm_works(box.parent / "vmlinuz") else "qemu"
            report.say(f"machines: {'KVM' if driver == 'kvm' else 'QEMU software emulation (TCG)'}")
            vagrant = Vagrant(check_dir, driver, report)
            _run_modes(vagrant, topology, list(modes), box)
    except Exception as error:  # a broken step ends the run, reported as a failure
        report.check(False, f"the check ran to the end ({type(error).__name__}: {error})")
    except BaseException:  # Ctrl-C, SIGTERM: everything is destroyed already; say so, and stop
        report.check(False, "the check ran to the end (interrupted)")
        raise
    finally:
        _summary(report, memory, driver, time.monotonic() - started)
    return not report.failed


def _run_modes(vagrant: Vagrant, topology: Topology, modes: list[Mode], box: Path) -> None:
    report = vagrant.report
    try:
        _remove_machines(vagrant)  # what an interrupted run left
        pool_xml = vagrant.work / "pool.xml"
        pool_xml.write_text(POOL_XML)
        virsh("pool-define", str(pool_xml))
        virsh("pool-build", POOL)
        virsh("pool-start", POOL)
        with report.phase("box added to the check's Vagrant home and storage pool"):
            result = vagrant.run(
                "box", "add", "--force", "--name", BOX_NAME, str(box), log="box.log"
            )
            if not report.check(result.returncode == 0, f"vagrant box add {BOX_NAME}"):
                return
            _seed_pool(vagrant)
        nodes = list(topology.nodes)
        report.heading(f"vagrant up --no-provision ({len(nodes)} machines, in parallel)")
        with report.phase("boot"):
            result = vagrant.run("up", "--no-provision", log="up.log")
        if not report.check(result.returncode == 0, f"{len(nodes)} machines up (up.log)"):
            return
        for index, mode in enumerate(modes):
            report.mode = mode
            vagrant.mode = mode
            # the clients are the same in both modes: provisioned once
            to_provision = nodes if index == 0 else [
                n.name for n in topology.nodes.values() if n.role != "client"
            ]  # fmt: skip
            report.heading(f"{mode} mode: vagrant provision {' '.join(to_provision)} (parallel)")
            label = "provisioning" if index == 0 else f"provisioning: switch to {mode}"
            with report.phase(f"{label} ({mode})"):
                statuses = vagrant.parallel("provision", to_provision, mode)
            for node, status in statuses.items():
                report.check(status == 0, f"{node} provisioned (provision-{mode}-{node}.log)")
            if any(statuses.values()):
                continue
            with report.phase(f"checks ({mode})"):
                run_scenarios(vagrant, topology)
    finally:
        report.mode = ""
        with report.phase("destroy"):
            _remove_machines(vagrant)


def _seed_pool(vagrant: Vagrant) -> None:
    """Put the box's disk into the storage pool as vagrant-libvirt would name it: `vagrant up`
    then finds it there instead of sending its gigabyte through libvirt in Ruby (minutes on a
    busy machine). Should the name differ in another version, vagrant-libvirt uploads it."""
    box_dir = BOX_NAME.replace("/", "-VAGRANTSLASH-")
    image = vagrant.work / "vagrant.d/boxes" / box_dir / "0/libvirt/box.img"
    volume = f"{box_dir}_vagrant_box_image_0_{int(image.stat().st_mtime)}_box.img"
    subprocess.run(["cp", "--reflink=auto", str(image), f"{POOL_DIR}/{volume}"], check=True)
    virsh("pool-refresh", POOL)


def _remove_machines(vagrant: Vagrant) -> None:
    """`vagrant destroy`, then whatever of the check's libvirt still knows: its domains, its
    networks, its storage pool with the box's volume; and the check's Vagrant home."""
    report = vagrant.report
    if (vagrant.work / "dot-vagrant").exists():
        vagrant.run("destroy", "--force", log="destroy.log", timeout=900)
    for domain in names("list", "--all"):
        if domain.startswith(f"{NAME}_"):
            virsh("destroy", domain, check=False)
            virsh("undefine", domain, "--remove-all-storage", check=False)
            report.say(f"removed domain {domain}")
    for network in names("net-list", "--all"):
        if network.startswith(f"{NAME}-"):
            virsh("net-destroy", network, check=False)
            virsh("net-undefine", network, check=False)
            report.say(f"removed network {network}")
    if POOL in names("pool-list", "--all"):
        virsh("pool-start", POOL, check=False)  # volumes are listed in an active pool only
        for line in virsh("vol-list", POOL, check=False).splitlines()[2:]:  # after the header
            if line.split():
                virsh("vol-delete", line.split()[0], "--pool", POOL, check=False)
        virsh("pool-destroy", POOL, check=False)
        virsh("pool-delete", POOL, check=False)
        virsh("pool-undefine", POOL, check=False)
        report.say(f"removed storage pool {POOL} and its volumes")
    for directory in ("dot-vagrant", "vagrant.d"):
        subprocess.run(["rm", "-rf", str(vagrant.work / directory)], check=False)


def _summary(report: Report, memory: MemoryMeter, driver: str, elapsed: float) -> None:
    report.heading("summary")
    accelerator = {"kvm": "KVM", "qemu": "TCG (software emulation)"}.get(driver, driver)
    report.say(
        f"machines: {accelerator}; peak memory of the machines {memory.peak / 2**30:.1f} GiB"
    )
    for name, seconds in report.phases:
        report.say(f"  {name:<45} {_minutes(seconds)}")
    report.say(f"  {'total':<45} {_minutes(elapsed)}")
    report.say(f"\n{len(report.passed)} checks passed, {len(report.failed)} failed")
    for claim in report.failed:
        report.say(f"  ✘ {claim}")


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s"
