"""SIGHUP to a running `python -m minibgp` with a config that cannot be used: one log line
"config not reloaded, the running one stays: FILE:LINE: REASON", no traceback, the session
and the announced routes untouched; the next good config is applied as usual.

The speaker under test is a real process; its peer is a second speaker in the test's event loop
(over loopback, no root needed), which shows what the router would see.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from minibgp.config import load_config
from minibgp.speaker import Speaker
from tests.minibgp.test_speaker import A, B, config_text, free_port, received, until

REPO = Path(__file__).resolve().parents[2]
REFUSED = "config not reloaded, the running one stays: "


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    config: Path
    log: Path
    router: Speaker  # the peer, in this event loop
    good: str

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def opens_seen_by_router(self) -> int:
        link = next(iter(self.router.links.values()))
        return link.peer.connection.messages_received["OPEN"]


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    ports = (free_port(A), free_port(B))
    config, router_config = tmp_path / "server1.toml", tmp_path / "router.toml"
    good = config_text(64520, A, ports[0], B, 4290001234, ports[1], tmp_path / "a.sock",
                       ("169.254.0.1/32",))  # fmt: skip
    config.write_text(good)
    router_config.write_text(
        config_text(4290001234, B, ports[1], A, 64520, ports[0], tmp_path / "b.sock")
    )
    router = Speaker(load_config(router_config))
    await router.start()
    log = tmp_path / "minibgp.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "minibgp", "--config", str(config)],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=REPO,
    )  # fmt: skip
    try:
        yield Running(process, config, log, router, good)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(process.wait, 10)
        await router.shutdown()


def replace_file(path: Path, data: bytes) -> None:
    """Write a new config the way editors and config management do: a new file, renamed."""
    if path.is_dir():
        path.rmdir()
    new = path.with_suffix(".new")
    new.write_bytes(data)
    new.rename(path)


async def refused_after_sighup(running: Running, how_many_before: int) -> str:
    running.process.send_signal(signal.SIGHUP)
    await until(lambda: running.log_text().count(REFUSED) > how_many_before, timeout=10)
    line = running.log_text().split(REFUSED)[-1].split("\n")[0]
    return line


async def test_sighup_with_bad_configs_keeps_the_running_one(running: Running) -> None:
    await until(lambda: "169.254.0.1/32" in received(running.router), timeout=15)
    opens = running.opens_seen_by_router()
    path = running.config
    good = running.good.encode()
    bad_configs: list[tuple[bytes | None, str]] = [
        # a description saved as Latin-1
        (good.replace(b"[speaker]\n", b'[speaker]\n# caf\xe9\n'),
         f"{path}:2: not UTF-8: byte 0xe9 at column 6 (a TOML file is UTF-8)"),
        # tomllib alone would raise RecursionError in the signal handler
        (good.replace(b"hold_time = 3", b"hold_time = " + b"[" * 3000 + b"]" * 3000),
         f"{path}:13: invalid TOML: arrays or inline tables nested more than 32 deep"),
        (good.replace(b"hold_time = 3", b"hold_time = 2"),
         f"{path}:13: peer[0].hold_time: must be 0 or 3..65535 (RFC 4271 §4.2)"),
        (good.replace(b"asn = 64520", b"asn = 64520 x"),
         f"{path}:2: invalid TOML: Expected newline or end of document after a statement "
         "at column 13"),
        (good + b"#" * (2 << 20), f"{path}: larger than 1 MiB; is it the config?"),
        (None, f"{path}: is a directory, not a config file"),  # replaced by a directory
    ]  # fmt: skip
    for count, (data, message) in enumerate(bad_configs):
        if data is None:
            path.unlink()
            path.mkdir()
        else:
            replace_file(path, data)
        assert await refused_after_sighup(running, count) == message
        assert running.process.poll() is None
        assert set(received(running.router)) == {"169.254.0.1/32"}

    assert running.opens_seen_by_router() == opens  # never a session reset
    log = running.log_text()
    assert "Traceback" not in log and "Exception in callback" not in log

    # the speaker still takes a good config
    replace_file(path, good + b'\n[[announce]]\nprefix = "169.254.0.2/32"\n')
    running.process.send_signal(signal.SIGHUP)
    await until(lambda: "169.254.0.2/32" in received(running.router), timeout=10)
    assert running.opens_seen_by_router() == opens
    running.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(running.process.wait, 10) == 0


async def test_start_up_with_a_bad_config_is_one_line_and_status_2(tmp_path: Path) -> None:
    path = tmp_path / "server1.toml"
    path.write_bytes(b'[speaker]\nasn = 64520\nrouter_id = "\xc0\xa8"\n')
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "minibgp", "--config", str(path)],
        capture_output=True, text=True, timeout=30, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.endswith(f"{path}:3: not UTF-8: byte 0xc0 at column 14 (a TOML file is UTF-8)")
