"""minibgp tells systemd when it has started (listening, control socket open) and when it stops
(sd_notify, for a Type=notify unit); an abstract $NOTIFY_SOCKET works as a path does."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from lab.frr import wait_until
from tests.notify_socket import NotifySocket

REPO = Path(__file__).resolve().parents[2]
CONFIG = """\
[speaker]
asn = 64520
router_id = "192.0.2.1"
listen = false
control_socket = "{socket}"

[[peer]]
address = "192.0.2.2"
asn = 64530
passive = true
"""


def test_ready_with_the_control_socket_open_then_stopping(tmp_path: Path) -> None:
    socket_path = tmp_path / "minibgp.sock"
    config = tmp_path / "minibgp.toml"
    config.write_text(CONFIG.format(socket=socket_path))
    receiver = NotifySocket(f"@abdt-minibgp-{secrets.token_hex(4)}")
    process = subprocess.Popen(
        [sys.executable, "-m", "minibgp", "--config", str(config)],
        env=receiver.environ(), stderr=subprocess.DEVNULL, cwd=REPO,
    )  # fmt: skip
    try:
        ready = receiver.receive()
        assert ready.pid == process.pid
        assert ready.fields == {"READY": "1", "STATUS": "AS 64520, router id 192.0.2.1"}
        show = subprocess.run(
            [sys.executable, "-m", "minibgp", "show", "neighbors", "--json",
             "--socket", str(socket_path)],
            capture_output=True, text=True, timeout=10, cwd=REPO,
        )  # fmt: skip
        assert json.loads(show.stdout)["neighbors"][0]["address"] == "192.0.2.2"
        process.send_signal(signal.SIGTERM)
        assert receiver.receive().fields == {"STOPPING": "1"}
        assert process.wait(timeout=10) == 0
    finally:
        receiver.close()
        if process.poll() is None:
            process.kill()
            process.wait()


def test_log_lines_leave_the_time_to_the_journal(tmp_path: Path) -> None:
    """With standard error on the journal ($JOURNAL_STREAM names it), no time stamp."""
    config = tmp_path / "minibgp.toml"
    config.write_text(CONFIG.format(socket=tmp_path / "minibgp.sock"))
    log = tmp_path / "stderr"
    with log.open("wb") as stderr:
        stat = os.fstat(stderr.fileno())
        process = subprocess.Popen(
            [sys.executable, "-m", "minibgp", "--config", str(config)],
            env={**os.environ, "JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}"},
            stderr=stderr, cwd=REPO,
        )  # fmt: skip
    try:
        wait_until(lambda: "control socket" in log.read_text(), timeout=20, what="minibgp")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    assert log.read_text().splitlines()[0] == "INFO    minibgp: AS 64520, router id 192.0.2.1"
