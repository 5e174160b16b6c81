"""The page's probes: from each client, a DNS query to the anycast address several times a
second, and which server answered it.

The query is `lab.probe`'s (`example.com. MX` with an EDNS NSID option, RFC 5001 §2.3) and so is
the judging of the answer; `ProbeCore` only keeps the schedule and matches answers to queries,
without I/O (tests drive it with a fake clock). `ProbeLane` is its asyncio shell: a UDP socket
opened inside the client's namespace (`lab.netns.socket_in`), one `loop.call_at` re-armed
from `get_timer()` after each step. No process runs in the client: closing the socket ends the
probe.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass

from ..netns import socket_in
from ..probe import MAX_ID, judge_response, probe_query


@dataclass(frozen=True)
class Sample:
    """One query: sent at `sent` (the loop's clock); answered by `server` after `rtt` seconds,
    or not (`error` says why: "timeout", "REFUSED", an errno text...)."""

    sent: float
    rtt: float | None
    server: str | None
    error: str | None


class ProbeCore:
    """A query every `interval` seconds from `now` on; one unanswered after `timeout` seconds
    is lost."""

    def __init__(self, interval: float, timeout: float, *, now: float) -> None:
        self.interval = interval
        self.timeout = timeout
        self.query = probe_query()
        self._next_send = now
        self._sequence = 0
        self._pending: dict[int, float] = {}  # query ID -> when it was sent
        self._samples: list[Sample] = []

    def datagram_to_send(self, *, now: float) -> bytes | None:
        """The next query, if one is due (its send time is recorded now)."""
        if now < self._next_send:
            return None
        query_id = self._sequence % MAX_ID
        self._sequence += 1
        self._pending.pop(query_id, None)  # a query a whole ID space ago: long judged lost
        self._pending[query_id] = now
        self._next_send += self.interval
        if self._next_send <= now:  # held up for more than an interval: no burst to catch up
            self._next_send = now + self.interval
        self.query[0:2] = query_id.to_bytes(2, "big")
        return bytes(self.query)

    def send_failed(self, error: str, *, now: float) -> None:
        """The last query could not be sent (no route, an ICMP error reported on the socket)."""
        query_id = (self._sequence - 1) % MAX_ID
        sent = self._pending.pop(query_id, now)
        self._samples.append(Sample(sent, None, None, error))

    def datagram_received(self, data: bytes, *, now: float) -> None:
        query_id, server, error = judge_response(data)
        sent = self._pending.pop(query_id, None)
        if sent is None:
            return  # late (already judged lost) or not ours
        self._samples.append(Sample(sent, now - sent, server, error))

    def get_timer(self) -> float:
        """When `handle_timer` should run next: the next send or the next query to expire."""
        return min([self._next_send, *(sent + self.timeout for sent in self._pending.values())])

    def handle_timer(self, *, now: float) -> None:
        for query_id, sent in list(self._pending.items()):
            if now - sent >= self.timeout:
                del self._pending[query_id]
                self._samples.append(Sample(sent, None, None, "timeout"))

    def samples(self) -> list[Sample]:
        """The queries judged since the last call, in the order they were judged."""
        samples, self._samples = self._samples, []
        return samples


class ProbeLane(asyncio.DatagramProtocol):
    """One client probing one anycast address; `on_samples` gets the judged queries."""

    def __init__(
        self,
        namespace: str,
        address: str,
        port: int,
        interval: float,
        timeout: float,
        on_samples: Callable[[list[Sample]], None],
        offset: float = 0.0,
    ) -> None:
        """The first query `offset` seconds after `start()` (lanes are spread over an
        interval), then one every `interval` seconds."""
        self.namespace = namespace
        self.offset = offset
        self.address = address
        self.port = port
        self.interval = interval
        self.timeout = timeout
        self.on_samples = on_samples
        self._core: ProbeCore | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_running_loop()

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.address else socket.AF_INET
        sock = socket_in(self.namespace, family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.connect((self.address, self.port))
        except OSError:
            sock.close()
            raise
        first = self._loop.time() + self.offset
        self._core = ProbeCore(self.interval, self.timeout, now=first)
        transport, _ = await self._loop.create_datagram_endpoint(lambda: self, sock=sock)
        self._transport = transport
        self._pump()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    # asyncio.DatagramProtocol

    def datagram_received(self, data: bytes, addr: object) -> None:
        if self._core is not None:
            self._core.datagram_received(data, now=self._loop.time())
            self._pump()

    def error_received(self, exc: Exception) -> None:
        pass  # an ICMP error for an earlier query: that query times out

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    # one step: send what is due, judge what expired, re-arm one timer

    def _pump(self) -> None:
        core, transport = self._core, self._transport
        if core is None or transport is None:
            return
        now = self._loop.time()
        core.handle_timer(now=now)
        query = core.datagram_to_send(now=now)
        if query is not None:
            try:
                transport.sendto(query)
            except OSError as error:
                core.send_failed(error.strerror or "error", now=now)
        samples = core.samples()
        if samples:
            self.on_samples(samples)
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(core.get_timer(), self._pump)
