"""Real FRR daemons (zebra, bgpd, bfdd) in a namespace, each with its own config, pid, log and vty
socket files in one run directory, and `vtysh` pointed at them.

FRR drops privileges to the `frr` user, so the run directory is world-writable, the config
world-readable, and every directory above the run directory must be searchable by others.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from .netns import Netns

FRR_LIBEXEC = Path("/usr/lib/frr")


class FrrRouter:
    """FRR running in one namespace. `start()` writes `config` and starts the daemons."""

    def __init__(
        self,
        host: Netns,
        run_dir: Path,
        config: str,
        daemons: tuple[str, ...] = ("zebra", "bgpd"),
        bgpd_args: tuple[str, ...] = (),
        popen_options: dict[str, Any] | None = None,
    ) -> None:
        self.host = host
        self.run_dir = run_dir
        self.config = config
        self.daemons = daemons
        self.bgpd_args = bgpd_args
        self.popen_options = popen_options or {}  # e.g. start_new_session for the lab's daemons
        self.processes: dict[str, subprocess.Popen[bytes]] = {}  # daemon name -> its process

    @property
    def config_path(self) -> Path:
        return self.run_dir / "frr.conf"

    def start(self, timeout: float = 10.0) -> None:
        """Write the config and start the daemons one after the other, each once the one
        before is ready."""
        self.write_config()
        for daemon in self.daemons:
            self.spawn(daemon)
            self.wait_ready(daemon, timeout)

    def write_config(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.chmod(0o777)
        self.config_path.write_text(self.config)
        self.config_path.chmod(0o644)

    def spawn(self, daemon: str) -> subprocess.Popen[bytes]:
        """Start one daemon without waiting for it (see `wait_ready`)."""
        d = self.run_dir
        argv = [
            str(FRR_LIBEXEC / daemon),
            "-f", str(self.config_path),
            "-i", str(d / f"{daemon}.pid"),
            "--vty_socket", str(d),
            "--log", f"file:{d / f'{daemon}.log'}",
        ]  # fmt: skip
        if daemon != "bgpd" or "-Z" not in self.bgpd_args:
            argv += ["-z", str(d / "zserv.api")]
        if daemon == "bgpd":
            argv += list(self.bgpd_args)
        if daemon == "bfdd":
            argv += ["--bfdctl", str(d / "bfdd.sock")]
        with (d / f"{daemon}.out").open("wb") as out:
            process = self.host.popen(argv, stdout=out, stderr=-2, **self.popen_options)
        self.processes[daemon] = process
        return process

    def wait_ready(self, daemon: str, timeout: float = 10.0) -> None:
        """Wait until a daemon answers on its vty socket (zebra: and serves its clients)."""
        paths = [self.run_dir / f"{daemon}.vty"]
        if daemon == "zebra":
            paths.append(self.run_dir / "zserv.api")
        deadline = time.monotonic() + timeout
        while not all(path.exists() for path in paths):
            process = self.processes.get(daemon)
            if time.monotonic() > deadline or (process is not None and process.poll() is not None):
                log = (self.run_dir / f"{daemon}.out").read_text(errors="replace")
                raise RuntimeError(f"FRR {daemon} in {self.host.name} did not start: {log}")
            time.sleep(0.02)

    def vtysh(self, *commands: str, check: bool = True) -> str:
        """Run vtysh commands against this router's daemons; return the output."""
        argv = ["vtysh", "--vty_socket", str(self.run_dir)]
        for command in commands:
            argv += ["-c", command]
        return self.host.run(argv, check=check).stdout

    def vtysh_json(self, command: str) -> Any:
        """Run one `... json` show command and parse its output ({} when empty)."""
        out = self.vtysh(command).strip()
        return json.loads(out) if out else {}

    def log(self, daemon: str = "bgpd") -> str:
        path = self.run_dir / f"{daemon}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def wait_until(predicate: Any, timeout: float, interval: float = 0.05, what: str = "") -> Any:
    """Poll `predicate()` until it returns a truthy value (returned) or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)
