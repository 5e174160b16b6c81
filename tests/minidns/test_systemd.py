"""minidns tells systemd when it listens, reloads and stops (sd_notify, for a Type=notify unit):
READY=1 comes from the main process once every address answers, also with --workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.frr import wait_until
from minidns.systemd import notify
from tests.minidns.differential import Query, exchange, free_port, make_query
from tests.notify_socket import NotifySocket

ZONE = """$ORIGIN example.com.
@   300 IN SOA ns1 hostmaster 1 3600 600 86400 300
@   300 IN NS  ns1
ns1 300 IN A   192.0.2.53
"""
SOA = Query("soa", make_query("example.com", "SOA"))


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    receiver = NotifySocket(tmp_path / "notify")
    yield receiver
    receiver.close()


def start(
    tmp_path: Path, receiver: NotifySocket, *extra: str
) -> tuple[subprocess.Popen[bytes], int]:
    zone = tmp_path / "example.com.zone"
    zone.write_text(ZONE)
    port = free_port()
    argv = [sys.executable, "-m", "minidns", "--zone", f"example.com={zone}",
            "--listen", f"127.0.0.1:{port}", *extra]  # fmt: skip
    return subprocess.Popen(argv, env=receiver.environ(), stderr=subprocess.DEVNULL), port


@pytest.mark.parametrize("workers", [1, 3])
def test_ready_once_listening_then_reload_status_then_stopping(
    tmp_path: Path, notify_socket: NotifySocket, workers: int
) -> None:
    process, port = start(tmp_path, notify_socket, "--workers", str(workers))
    try:
        ready = notify_socket.receive()
        assert ready.pid == process.pid  # systemd's NotifyAccess=main takes only this one
        assert ready.fields["READY"] == "1"
        expected = f"serving 1 zone on 127.0.0.1:{port}"
        assert ready.fields["STATUS"] == (expected if workers == 1 else f"{expected}, 3 workers")
        assert exchange(port, SOA) is not None  # ready means answering, at once
        if workers == 1:
            process.send_signal(signal.SIGHUP)
            assert notify_socket.receive().fields == {"STATUS": "serving 1 zone (reloaded)"}
        process.send_signal(signal.SIGTERM)
        assert notify_socket.receive().fields == {"STOPPING": "1"}
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_no_ready_when_it_cannot_listen(tmp_path: Path, notify_socket: NotifySocket) -> None:
    process, _ = start(tmp_path, notify_socket, "--listen", "192.0.2.1:53")  # not ours
    assert process.wait(timeout=20) == 2
    with pytest.raises(TimeoutError):
        notify_socket.receive(timeout=0.2)


def test_nothing_is_sent_outside_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False


def test_log_lines_leave_name_and_pid_to_the_journal(tmp_path: Path) -> None:
    """With standard error on the journal ($JOURNAL_STREAM names it), no `minidns[PID]`."""
    log = tmp_path / "stderr"
    for journal in (True, False):
        zone = tmp_path / "example.com.zone"
        zone.write_text(ZONE)
        with log.open("wb") as stderr:
            stat = os.fstat(stderr.fileno())
            env = {
                **os.environ,
                "JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}" if journal else "",
            }
            process = subprocess.Popen(
                [sys.executable, "-m", "minidns", "--zone", f"example.com={zone}",
                 "--listen", f"127.0.0.1:{free_port()}"],
                env=env, stderr=stderr,
            )  # fmt: skip
        wait_until(lambda: "serving 1 zone" in log.read_text(), timeout=20, what="minidns")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        first = log.read_text().splitlines()[0]
        expected = "INFO listening on" if journal else f"minidns[{process.pid}] INFO listening on"
        assert first.startswith(expected), first
