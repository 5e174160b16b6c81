"""Which site answers a client: one DNS query from inside the client's namespace, with NSID.

`ask` sends every query at once (sockets made in each client's namespace from this process, see
`lab.netns.socket_in`) and waits for the answers together, so asking 50 clients over both
families takes one round trip, not 100 `dig` processes. The query is the zone's SOA with an
empty NSID option (RFC 5001 §2.3); the answer's NSID names the server, as `dig +nsid` shows it.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from .netns import socket_in
from .probe import judge_response, probe_query
from .timestamps import receive, stamp

DNS_PORT = 53


@dataclass(frozen=True)
class Question:
    """One query to send: from which namespace, to which address, about which zone."""

    namespace: str
    address: IPv4Address | IPv6Address
    zone: str


@dataclass(frozen=True)
class Answer:
    """What came back: the server's NSID (None: no answer), the round trip, or what went wrong."""

    site: str | None
    rtt: float | None = None
    error: str | None = None

    @property
    def answered(self) -> bool:
        return self.site is not None


def ask(questions: Sequence[Question], timeout: float = 1.0, spacing: float = 0.0) -> list[Answer]:
    """Send every question at once, or `spacing` seconds apart; the answers in the same order
    (unanswered after `timeout` seconds: error "timeout"). The sockets are all made before the
    first query goes, and a round trip ends when the kernel received the answer
    (`lab.timestamps`), so that it counts neither the making of the other sockets nor the wait
    to be read; spacing the queries keeps a server's queue from adding to the round trips of
    those behind."""
    answers: list[Answer | None] = [None] * len(questions)
    selector = selectors.DefaultSelector()
    sockets: dict[int, socket.socket] = {}
    sent: dict[int, float] = {}
    try:
        for index, question in enumerate(questions):
            family = socket.AF_INET if question.address.version == 4 else socket.AF_INET6
            sock = socket_in(question.namespace, family)
            sockets[index] = sock
            sock.setblocking(False)
            stamp(sock)
            try:
                sock.connect((str(question.address), DNS_PORT))
            except OSError as error:  # no route to the address: the client cannot ask
                answers[index] = Answer(None, error=error.strerror or "error")
        next_send = time.monotonic()
        for index, sock in sockets.items():
            if answers[index] is not None:
                continue
            query = probe_query(questions[index].zone, "SOA")
            query[0:2] = (index % 0x10000).to_bytes(2, "big")
            time.sleep(max(0.0, next_send - time.monotonic()))
            sent[index] = time.monotonic()
            next_send = sent[index] + spacing
            try:
                sock.send(query)
            except OSError as error:
                answers[index] = Answer(None, error=error.strerror or "error")
                continue
            selector.register(sock, selectors.EVENT_READ, index)
        deadline = time.monotonic() + timeout
        while len(selector.get_map()) and time.monotonic() < deadline:
            for key, _ in selector.select(max(0.0, deadline - time.monotonic())):
                index = key.data
                reply = sockets[index]
                try:
                    data, _, received = receive(reply, 4096)
                except OSError as error:  # an ICMP error: unreachable
                    answers[index] = Answer(None, error=error.strerror or "error")
                else:
                    _, site, error_text = judge_response(data)
                    answers[index] = Answer(site, received - sent[index], error_text)
                selector.unregister(reply)
    finally:
        selector.close()
        for sock in sockets.values():
            sock.close()
    return [answer or Answer(None, error="timeout") for answer in answers]
