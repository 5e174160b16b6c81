"""The wheel installed into a fresh virtualenv (tests/wheel.py), and its console scripts run
there for real, away from the checkout: `minidns` answers a query, two `minibgp` speakers peer on
loopback and exchange a route."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dnslib import DNSRecord

from tests.minidns.differential import Query, exchange, free_port, make_query
from tests.wheel import Installed

REPO = Path(__file__).resolve().parents[2]
# The speaker and the DNS server with their dependencies, without the lab's extra (plotting).
INSTALLED_SIZE_LIMIT = 30 * 1024 * 1024
# What the installed size counts: every file each distribution's RECORD lists, but for the tools
# a fresh virtualenv comes with.
SIZE_SCRIPT = """
import importlib.metadata, json, os
sizes = {}
for dist in importlib.metadata.distributions():
    name = dist.metadata["Name"]
    if name in ("pip", "setuptools"):
        continue
    paths = [str(f.locate()) for f in dist.files or []]
    sizes[name] = sum(os.path.getsize(p) for p in paths if os.path.isfile(p))
print(json.dumps(sizes))
"""

ZONE = """$ORIGIN example.com.
$TTL 300
@    IN SOA ns1 hostmaster 1 3600 600 86400 300
@    IN NS  ns1
@    IN MX  25 mail
ns1  IN A   192.0.2.53
www  IN A   192.0.2.1
"""


def test_the_wheel_holds_the_speaker_and_the_dns_server_and_no_generic_top_level_name(
    installed_wheel: Installed,
) -> None:
    names = zipfile.ZipFile(installed_wheel.wheel).namelist()
    top_level = {
        name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")
    }
    assert top_level == {"minibgp", "minidns", "anycast_lab"}  # the lab under our own name
    assert any(name.startswith("minidns/_udpbatch") and name.endswith(".so") for name in names)
    # every package of the checkout is in the wheel, and every file of the lab's
    for package in ("minibgp", "minidns"):
        for init in (REPO / package).rglob("__init__.py"):
            assert str(init.relative_to(REPO)) in names
    for path in (REPO / "lab").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            assert f"anycast_lab/{path.relative_to(REPO / 'lab')}" in names


def test_installed_size_without_the_lab_extra_is_at_most_30_mb(installed_wheel: Installed) -> None:
    sizes = json.loads(installed_wheel.run(installed_wheel.bin("python"), "-c", SIZE_SCRIPT).stdout)
    assert "matplotlib" not in sizes and "numpy" not in sizes
    total = sum(sizes.values())
    print(f"installed: {total / 1e6:.1f} MB", sizes)
    assert total <= INSTALLED_SIZE_LIMIT, sizes


@pytest.mark.parametrize("program", ["minibgp", "minidns", "anycast-lab"])
def test_console_script_help(installed_wheel: Installed, program: str) -> None:
    result = installed_wheel.run(installed_wheel.bin(program), "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {program}")
    assert "--help" in result.stdout


def test_the_lab_without_its_extra_says_what_to_install(installed_wheel: Installed) -> None:
    """`anycast-lab` is `python -m lab`; plotting and the live page need the `lab` extra."""
    result = installed_wheel.run(installed_wheel.bin("anycast-lab"), "failover", "--png", "x.png")
    assert result.returncode == 2
    assert "needs matplotlib, from the lab extra: pip install 'anycast-bgp-dns[lab]'" in (
        result.stderr
    )
    rendered = installed_wheel.run(
        installed_wheel.bin("anycast-lab"), "render", "--node", "server1", "--out", "server1"
    )
    assert rendered.returncode == 0, rendered.stderr
    assert "minibgp.toml" in rendered.stdout


def test_minidns_answers_a_query_on_loopback(installed_wheel: Installed, tmp_path: Path) -> None:
    zone = tmp_path / "example.com.zone"
    zone.write_text(ZONE)
    port = free_port()
    argv = [installed_wheel.bin("minidns"), "--zone", f"example.com={zone}",
            "--listen", f"127.0.0.1:{port}", "--identity", "wheel"]  # fmt: skip
    with _running(argv, tmp_path / "minidns.log") as process:
        response = _wait_for_answer(port, process)
        answer = DNSRecord.parse(response)
        assert [str(rr.rdata) for rr in answer.rr] == ["25 mail.example.com."]
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=10) == 0


SPEAKER = """\
[speaker]
asn = {asn}
router_id = "{address}"
listen = "{address}:{port}"
control_socket = "{socket}"

[[peer]]
address = "{peer_address}"
asn = {peer_asn}
port = {peer_port}
local_address = "{address}"
connect_retry = 1
passive = {passive}
{announce}
"""


def test_two_minibgp_speakers_peer_on_loopback_and_exchange_a_route(
    installed_wheel: Installed, tmp_path: Path
) -> None:
    """Port numbers over 1024: no root needed. A announces 169.254.0.1/32; B receives it, and
    hears A's Cease when A stops."""
    port_a, port_b = free_port(), free_port()
    socket_a, socket_b = tmp_path / "a.sock", tmp_path / "b.sock"
    config_a, config_b = tmp_path / "a.toml", tmp_path / "b.toml"
    config_a.write_text(SPEAKER.format(
        asn=64520, address="127.0.0.1", port=port_a, socket=socket_a, peer_address="127.0.0.2",
        peer_asn=4290001234, peer_port=port_b, passive="false",
        announce='[[announce]]\nprefix = "169.254.0.1/32"',
    ))  # fmt: skip
    config_b.write_text(SPEAKER.format(
        asn=4290001234, address="127.0.0.2", port=port_b, socket=socket_b, peer_address="127.0.0.1",
        peer_asn=64520, peer_port=port_a, passive="true", announce="",
    ))  # fmt: skip
    minibgp = installed_wheel.bin("minibgp")
    assert installed_wheel.run(minibgp, "check", "--config", str(config_a)).returncode == 0
    with (
        _running([minibgp, "--config", str(config_b)], tmp_path / "b.log") as speaker_b,
        _running([minibgp, "--config", str(config_a)], tmp_path / "a.log") as speaker_a,
    ):

        def b_routes() -> str:
            return installed_wheel.run(minibgp, "show", "routes", "--socket", str(socket_b)).stdout

        _wait(lambda: "169.254.0.1/32" in b_routes(), "B to receive A's route", speaker_b)
        show = installed_wheel.run(
            minibgp, "show", "neighbors", "--json", "--socket", f"{socket_a}"
        )
        (neighbor,) = json.loads(show.stdout)["neighbors"]
        assert neighbor["state"] == "Established" and neighbor["asn"] == 4290001234
        os.kill(speaker_a.pid, signal.SIGTERM)
        assert speaker_a.wait(timeout=10) == 0
        _wait(lambda: "Cease" in (tmp_path / "b.log").read_text(), "B to log A's Cease", speaker_b)


@contextlib.contextmanager
def _running(argv: list[str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A program started for a test, ended by its PID (SIGTERM, then SIGKILL) when done; its
    log printed when the test fails."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=log_path.parent)
    try:
        yield process
    except BaseException:
        print(f"---- {log_path.name} ----\n{log_path.read_text(errors='replace')}")
        raise
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait(
    check: Callable[[], bool], what: str, process: subprocess.Popen[bytes], timeout: float = 20
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited with {process.returncode} while waiting for {what}"
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _wait_for_answer(port: int, process: subprocess.Popen[bytes]) -> bytes:
    query = Query("mx", make_query("example.com", "MX"))
    answers: list[bytes] = []

    def answered() -> bool:
        response = exchange(port, query, timeout=0.5)
        if response is not None:
            answers.append(response)
        return bool(answers)

    _wait(answered, "minidns to answer", process)
    return answers[0]
