"""Watchers: they see a failure the moment it happens, where a periodic probe would see it only
at its next run.

- `DnsConnectionWatch` holds a TCP connection to a DNS server open, sending a query now and then
  so that it stays in use (RFC 7766 §6.2.1: clients may keep connections open and reuse them).
  When the server process dies its kernel closes the connection, and we hear it at once.
- `ProcessWatch` watches a process (a PID, or the PID in a pidfile) through a pidfd
  (`os.pidfd_open`, Linux 5.3+), which becomes readable when the process exits.

A watcher's `run(on_lost)` runs until cancelled: it sets its watch up, calls `on_lost(reason)`
when the watched thing goes away, and then keeps trying to set the watch up again. It reports a
loss once per watch, not again while the thing stays away (the periodic probe says when it is
back). A watcher only sees things go away; a server that hangs is caught by the periodic probe.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

LostCallback = Callable[[str], None]


class Watcher(Protocol):
    async def run(self, on_lost: LostCallback) -> None: ...


class DnsConnectionWatch:
    """A TCP connection to a DNS server, kept open; lost when the server closes it and a new
    one cannot be opened or is closed before it answers."""

    def __init__(
        self,
        host: str,
        port: int,
        make_query: Callable[[], bytes],
        keepalive_interval: float = 1.0,
        retry_interval: float = 0.5,
        connect_timeout: float = 1.0,
    ) -> None:
        self.host = host
        self.port = port
        self.make_query = make_query
        self.keepalive_interval = keepalive_interval
        self.retry_interval = retry_interval
        self.connect_timeout = connect_timeout
        self.connected = asyncio.Event()  # set while an answered connection is held

    async def run(self, on_lost: LostCallback) -> None:
        holding = False  # a connection was answered and no loss has been reported since
        last_quick_reconnect = -math.inf
        while True:
            try:
                async with asyncio.timeout(self.connect_timeout):
                    reader, writer = await asyncio.open_connection(self.host, self.port)
            except (OSError, TimeoutError) as error:
                if holding:
                    on_lost(f"TCP connection to {self.host}:{self.port} closed: {error}")
                    holding = False
                await asyncio.sleep(self.retry_interval)
                continue
            try:
                answered = await self._hold(reader, writer)
            finally:
                self.connected.clear()
                writer.close()
            if not answered:  # closed (or broke) before answering anything
                if holding:
                    on_lost(f"TCP connection to {self.host}:{self.port} closed")
                    holding = False
                await asyncio.sleep(self.retry_interval)
                continue
            holding = True
            # RFC 7766 §6.2.3: a server may close a connection it finds idle or has used long
            # enough. Reconnecting at once tells that apart from a dead server, whose port
            # refuses; a server that keeps closing connections is reconnected to less often.
            loop = asyncio.get_running_loop()
            wait = last_quick_reconnect + self.retry_interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            last_quick_reconnect = loop.time()

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Keep the connection in use until the server closes it (or it breaks); return whether
        the server answered on it."""
        answered = False
        with contextlib.suppress(OSError):
            while True:
                query = self.make_query()
                writer.write(len(query).to_bytes(2, "big") + query)  # RFC 1035 §4.2.2 framing
                await writer.drain()
                try:
                    async with asyncio.timeout(self.keepalive_interval):
                        while await reader.read(4096):
                            # Answers are only proof of life; their content is the probe's job.
                            if not answered:
                                answered = True
                                self.connected.set()
                        break  # end of file: the server closed
                except TimeoutError:
                    continue
        return answered


class ProcessWatch:
    """A process given by PID or by a pidfile; lost when the process exits."""

    def __init__(
        self,
        pid: int | None = None,
        pidfile: Path | None = None,
        retry_interval: float = 0.5,
    ) -> None:
        if (pid is None) == (pidfile is None):
            raise ValueError("give either a pid or a pidfile")
        self.pid = pid
        self.pidfile = pidfile
        self.retry_interval = retry_interval
        self.watching: int | None = None  # the PID being watched now

    async def run(self, on_lost: LostCallback) -> None:
        while True:
            pid = current_pid(self.pid, self.pidfile)
            if pid is None or not process_alive(pid):
                await asyncio.sleep(self.retry_interval)
                continue
            self.watching = pid
            try:
                await wait_for_exit(pid, self.retry_interval)
            finally:
                self.watching = None
            on_lost(f"process {pid} exited")
            if self.pidfile is None:
                return  # a PID, once gone, does not come back (and may be reused)


async def wait_for_exit(pid: int, poll_interval: float) -> None:
    """Return when process `pid` has exited: at once through a pidfd, else by polling."""
    loop = asyncio.get_running_loop()
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except (AttributeError, OSError):  # no pidfd (not Linux 5.3+): poll instead
        while process_alive(pid):
            await asyncio.sleep(poll_interval)
        return
    exited: asyncio.Future[None] = loop.create_future()

    def on_readable() -> None:
        if not exited.done():
            exited.set_result(None)

    loop.add_reader(pidfd, on_readable)
    try:
        await exited
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)


def current_pid(pid: int | None, pidfile: Path | None) -> int | None:
    """`pid`, or the PID written in `pidfile` (None if it is missing or not a number)."""
    if pid is not None:
        return pid
    assert pidfile is not None
    try:
        text = pidfile.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def process_alive(pid: int) -> bool:
    """True if `pid` runs (a zombie, exited but not yet reaped, does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
