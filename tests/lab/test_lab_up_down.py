"""Bringing the lab up and down leaves the machine as it was: no namespace, no process, no file.

Also when something fails half-way, when the process that ran `lab up` is killed with SIGKILL,
and when two labs run side by side. Every test uses its own lab name, so none touches a user's lab.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import nodes
from lab.lab import Lab
from lab.netns import list_namespaces
from lab.render import Mode
from tests.conftest import require_programs, require_root, tagged

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]


def _require() -> None:
    require_root()
    require_programs("/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh", "pdns_server", "dig")


def lab_processes(lab: Lab) -> list[str]:
    """Processes whose command line names the lab's state directory or namespaces."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(lab.state_dir) in cmdline or lab.prefix in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found


def assert_nothing_left(lab: Lab) -> None:
    assert [name for name in list_namespaces() if name.startswith(lab.prefix)] == []
    assert lab_processes(lab) == []
    assert not lab.state_dir.exists()


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    """A lab named after the test; torn down (and checked) in the finalizer, pass or fail."""
    _require()
    the_lab = Lab(tagged(f"t{request.node.name[5:19]}"))
    the_lab.down()
    yield the_lab
    the_lab.down()
    assert_nothing_left(the_lab)


SERVER_DAEMONS = {"reference": {"zebra", "bgpd", "pdns_server"}, "python": {"minibgp", "minidns"}}
# bfdd only where there is BFD: to minibgp, in python mode
ROUTER_DAEMONS = {"reference": {"zebra", "bgpd"}, "python": {"zebra", "bgpd", "bfdd"}}


@pytest.mark.parametrize("mode", ["reference", "python"])
def test_up_status_exec_down_leave_nothing(lab: Lab, mode: Mode) -> None:
    assert lab.up(mode) is True
    assert lab.up(mode) is False  # the second `up` only says it is up
    assert {lab.prefix + n for n in lab.topology.nodes} <= set(list_namespaces())
    assert lab.preferences() == {"router1": "server1", "router2": "server2"}
    daemons = lab.state.daemons
    assert {d.name for d in lab.daemons_of("server1")} == SERVER_DAEMONS[mode]
    assert {d.name for d in lab.daemons_of("router1")} == ROUTER_DAEMONS[mode]
    assert all(d.is_running() for d in daemons)

    result = subprocess.run(
        [sys.executable, "-m", "lab", "exec", "--name", lab.name, "client1", "--",
         "dig", "+short", "example.com", "MX", "@169.254.0.1"],
        capture_output=True, text=True, cwd=REPO, timeout=30,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (0, "25 mail.example.com.\n")
    failing = subprocess.run(
        [sys.executable, "-m", "lab", "exec", "--name", lab.name, "client1", "--", "false"],
        cwd=REPO, timeout=30,
    )  # fmt: skip
    assert failing.returncode == 1  # the command's exit code is passed through

    status = subprocess.run(
        [sys.executable, "-m", "lab", "status", "--name", lab.name],
        capture_output=True, text=True, cwd=REPO, timeout=30, check=True,
    ).stdout  # fmt: skip
    assert "router1 prefers server1" in status and "router2 prefers server2" in status
    assert "router1  server1 Established, router2 Established" in status
    assert "server1  router1 Established" in status  # as FRR or minibgp on server1 sees it

    lab.down()
    assert not any(d.is_running() for d in daemons)
    assert_nothing_left(lab)


def test_a_failure_half_way_through_up_tears_everything_down(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_start = nodes.start_all
    started = []

    def start_the_routers_then_fail(hosts, topology, mode, run_dir, record):  # type: ignore[no-untyped-def]
        routers = {name: host for name, host in hosts.items() if name.startswith("router")}
        started.extend(real_start(routers, topology, mode, run_dir, record))
        raise RuntimeError("simulated failure while starting server1")

    monkeypatch.setattr("lab.lab.start_all", start_the_routers_then_fail)
    with pytest.raises(RuntimeError, match="simulated"):
        lab.up("reference")
    assert started and not any(d.is_running() for d in started)  # the routers had started
    assert_nothing_left(lab)


def test_an_exception_inside_a_with_block_tears_the_lab_down(lab: Lab) -> None:
    with pytest.raises(ZeroDivisionError), lab:
        lab.up("reference", wait=False)
        daemons = lab.state.daemons
        _ = 1 / 0  # a test failing half-way
    assert not any(d.is_running() for d in daemons)
    assert_nothing_left(lab)


def test_down_after_the_up_process_was_killed(lab: Lab) -> None:
    up = subprocess.Popen(
        [sys.executable, "-m", "lab", "up", "--mode", "reference", "--name", lab.name],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait until some daemons run, then crash `up`
        try:
            if len(json.loads(lab.state_file.read_text())["daemons"]) >= 3:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    os.kill(up.pid, signal.SIGKILL)
    up.wait()
    assert lab_processes(lab), "the killed `up` had started daemons"
    result = subprocess.run(
        [sys.executable, "-m", "lab", "down", "--name", lab.name],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert_nothing_left(lab)


def test_two_labs_side_by_side_do_not_collide(lab: Lab) -> None:
    with Lab(lab.name + "b") as other:
        other.down()
        lab.up("reference")
        other.up("reference")
        other.halt("server1")
        other.wait_for_preferences({"router1": "server2", "router2": "server2"}, timeout=10)
        for each, expected in ((lab, '"server1"'), (other, '"server2"')):
            answer = each.host("client1").run(
                ["dig", "+short", "CH", "TXT", "id.server", "@169.254.0.1"]
            )
            assert answer.stdout.strip() == expected
        lab.down()
        assert other.is_up()
        assert other.preferences()["router2"] == "server2"
    assert_nothing_left(other)


def test_halting_a_router_cuts_its_client_off_until_it_starts_again(lab: Lab) -> None:
    lab.up("python")
    lab.halt("router1")
    ping = ["ping", "-c", "1", "-W", "1", "169.254.0.1"]
    assert lab.host("client1").run(ping, check=False).returncode != 0
    status = subprocess.run(
        [sys.executable, "-m", "lab", "status", "--name", lab.name],
        capture_output=True, text=True, cwd=REPO, timeout=30, check=True,
    ).stdout  # fmt: skip
    assert "router1 is halted" in status
    [router1_line] = [line for line in status.splitlines() if line.startswith("router1 ")]
    assert router1_line.split()[2:] == ["down", "-"]  # links down, no daemons
    lab.start("router1")
    lab.wait_for_preferences(lab.normal_preferences(), timeout=20)
    lab.wait_for_reachability(timeout=10)  # raises TimeoutError if client1 stays cut off


# A process that ignores SIGTERM and, holding 400 MB, takes a moment to exit once SIGKILLed.
STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "kept = b'x' * 400_000_000; print('ready', flush=True); time.sleep(120)"
)


def _start_stubborn(lab: Lab, node: str) -> int:
    process = lab.host(node).popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    return process.pid


def test_down_returns_only_once_every_process_has_exited(lab: Lab) -> None:
    lab.up("python", wait=False)
    recorded = _start_stubborn(lab, "client1")  # a daemon of the lab's state
    lab.state.daemons.append(nodes.Daemon.of("client1", "stubborn", recorded))
    lab.state.save(lab.state_file)
    stray = _start_stubborn(lab, "client2")  # only found in the namespace
    daemons = list(lab.state.daemons)
    started = time.monotonic()
    lab.down()
    took = time.monotonic() - started
    assert nodes.process_start_time(recorded) is None  # exited (at most a zombie) ...
    assert nodes.process_start_time(stray) is None  # ... the moment `down` returned
    assert not any(d.is_running() for d in daemons)
    assert took < 20  # SIGKILL after a few seconds, not a wait for SIGTERM forever


def test_start_returns_once_the_clients_are_served_by_the_started_server_again(lab: Lab) -> None:
    lab.up("python")
    lab.halt("server1")
    lab.wait_for_preferences({"router1": "server2", "router2": "server2"}, timeout=20)
    result = subprocess.run(
        [sys.executable, "-m", "lab", "start", "server1", "--name", lab.name],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answers = lab.ask(timeout=1.0)  # at once: `start` waited for the route back
    assert {client: answer.site for client, answer in answers.items()} == {
        "client1": "server1",
        "client2": "server2",
    }


def test_a_started_server_can_use_its_ipv6_addresses_at_once(lab: Lab) -> None:
    """No duplicate address detection on any interface, link-local included: a server started
    again must be able to resolve its router's address (from its link-local address) as soon as
    its route is announced, else it drops IPv6 replies for a second."""
    lab.up("python")
    for node in lab.topology.nodes.values():
        for interface in node.interfaces:
            setting = f"/proc/sys/net/ipv6/conf/{interface.name}/accept_dad"
            assert lab.host(node.name).run(["cat", setting]).stdout.strip() == "0", interface
    lab.halt("server1")
    lab.start("server1", wait=False)
    assert lab.host("server1").ip("-6", "addr", "show", "tentative") == ""
    assert "scope link" in lab.host("server1").ip("-6", "addr", "show", "dev", "eth-router1")


def test_exec_takes_the_lab_name_after_the_node_and_up_refuses_another_mode(lab: Lab) -> None:
    lab.up("python", wait=False)
    result = subprocess.run(
        [sys.executable, "-m", "lab", "exec", "client1", "--name", lab.name, "--",
         "ip", "-br", "addr", "show", "eth-router1"],
        cwd=REPO, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "192.168.60.70/24" in result.stdout
    again = subprocess.run(
        [sys.executable, "-m", "lab", "up", "--mode", "reference", "--name", lab.name],
        cwd=REPO, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert again.returncode == 1
    assert f"lab {lab.name!r} is up in python mode, not reference" in again.stderr
    assert lab.is_up() and lab.mode == "python"  # left as it was
