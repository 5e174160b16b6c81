"""UDP: blocking receive loops, each in a thread of its own, between a socket and a DnsService.

Each datagram is a query and each answer one datagram back, with no readiness polling in between:
the receive call blocks, and it releases the GIL, so two threads on one socket overlap their
system calls. Measured with dnsperf on a 2-CPU machine (bench/dns_perf.py, docs/minidns.md):
one thread beat a uvloop datagram protocol by 10-20 %, two threads added 5-15 %, four lost.

Two ways to move the datagrams, the same answers either way:

- batches (the default, when the optional C extension `minidns._udpbatch` was built): one
  recvmmsg(2) takes every query already waiting, up to `batch`, and one sendmmsg(2) sends their
  answers. At 100k+ queries per second the system calls are most of what a cached answer costs;
  batching them made minidns 11-25 % faster in the same run (median 14 %).
- one datagram per call: Python's own `recvfrom` and `sendto`, when the extension is missing or
  `batch` is 1.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from minidns.badinput import BadInput
from minidns.service import DnsService

if TYPE_CHECKING:  # prometheus-client is imported only when --metrics asks for it
    from minidns.metrics import QueryCounts, ServerCounts

try:
    from minidns import _udpbatch
except ImportError:  # not built: no compiler when it was installed, or not Linux
    _udpbatch = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

MAX_UDP_MESSAGE = 65535
DEFAULT_BATCH = 64  # datagrams per system call: enough for every query waiting at 200k q/s
MAX_BATCH = 1024  # the extension's limit (MAX_COUNT in _udpbatch.c)


def batching_available() -> bool:
    """Whether the C extension that receives and sends in batches is built."""
    return _udpbatch is not None


class UdpReceiver:
    """One UDP socket served by `threads` blocking receive loops.

    `batch` is how many datagrams one system call may move: 1 uses Python's socket calls; more
    needs the C extension and falls back to 1, with a warning, when it is not built.
    """

    def __init__(
        self,
        service: DnsService,
        sock: socket.socket,
        threads: int = 2,
        batch: int = DEFAULT_BATCH,
        counts: ServerCounts | None = None,
    ) -> None:
        if not 1 <= batch <= MAX_BATCH:
            raise ValueError(f"batch must be 1 to {MAX_BATCH}, got {batch}")
        if batch > 1 and _udpbatch is None:
            log.warning("minidns._udpbatch is not built: one UDP datagram per system call")
            batch = 1
        self.service = service
        self.socket = sock
        self.batch = batch
        loop: Callable[[QueryCounts | None], None] = (
            self._batch_loop if batch > 1 else self._single_loop
        )
        self._threads = [
            threading.Thread(
                target=loop,
                args=(counts.udp_thread() if counts is not None else None,),
                name=f"udp {self.port}",
                daemon=True,
            )
            for _ in range(threads)
        ]

    @property
    def port(self) -> int:
        return int(self.socket.getsockname()[1])

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        """Wake the receive loops (Linux: shutdown() on a UDP socket does) and close the socket."""
        with contextlib.suppress(OSError):  # ENOTCONN, yet every blocked receive returns
            self.socket.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=1.0)
        self.socket.close()

    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def _single_loop(self, counts: QueryCounts | None) -> None:
        receive, send = self.socket.recvfrom, self.socket.sendto
        answer = self.service.answer_datagram
        clock = time.perf_counter
        bad_input = self.service.bad_input
        while True:
            try:
                data, addr = receive(MAX_UDP_MESSAGE)
            except OSError as error:
                log.debug("UDP receive error: %s", error)
                if self.socket.fileno() < 0:
                    return
                continue
            if addr is None:  # shut down by close()
                return
            arrived = clock() if counts is not None else 0.0
            try:
                response = answer(data)
            except Exception as error:  # a bug must cost one answer, never the server
                bad_input.add_error(BadInput.INTERNAL_ERROR, data, error, f"{addr[0]} {addr[1]}")
                response = None
            if response is not None:
                try:
                    send(response, addr)
                except OSError as error:  # an unreachable client
                    log.debug("UDP send error: %s", error)
            if counts is not None:
                counts.count(data, response)
                counts.took(clock() - arrived)

    def _batch_loop(self, counts: QueryCounts | None) -> None:
        assert _udpbatch is not None
        fd = self.socket.fileno()
        receiver = _udpbatch.Receiver(fd, self.batch)  # buffers of this thread's own
        send = _udpbatch.send
        answer = self.service.answer_datagram
        clock = time.perf_counter
        bad_input = self.service.bad_input
        while True:
            try:
                datagrams = receiver.receive()
            except OSError as error:
                log.debug("UDP receive error: %s", error)
                if self.socket.fileno() < 0:
                    return
                continue
            if not datagrams:  # shut down by close()
                return
            arrived = clock() if counts is not None else 0.0
            answers = []
            for data, address in datagrams:
                try:
                    response = answer(data)
                except Exception as error:  # a bug must cost one answer, never the server
                    client = sockaddr_text(address)
                    bad_input.add_error(BadInput.INTERNAL_ERROR, data, error, client)
                    response = None
                if counts is not None:
                    counts.count(data, response)
                if response is not None:
                    answers.append((response, address))
            if answers:
                try:
                    send(fd, answers)
                except OSError as error:
                    log.debug("UDP send error: %s", error)
            if counts is not None:
                counts.took(clock() - arrived, len(answers))


def sockaddr_text(raw: bytes) -> str:
    """A kernel sockaddr (as `minidns._udpbatch` hands it over) as `address port`, for logs."""
    family = int.from_bytes(raw[:2], sys.byteorder)  # sa_family is in host order
    port = int.from_bytes(raw[2:4], "big")
    if family == socket.AF_INET and len(raw) >= 8:
        return f"{ipaddress.IPv4Address(raw[4:8])} {port}"
    if family == socket.AF_INET6 and len(raw) >= 24:
        return f"{ipaddress.IPv6Address(raw[8:24])} {port}"
    return raw.hex()
