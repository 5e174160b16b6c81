"""DNS over TCP without I/O: framing (RFC 1035 §4.2.2) and when connections end (RFC 7766).

- `MessageFramer` splits a byte stream into messages by their 2-octet length.
- `TcpSession` is one connection's clock: idle (RFC 7766 §6.2.3), answers left unread (write
  timeout), and its whole life (RFC 7766 §10); `get_timer` says when to ask it again and
  `handle_timer` whether to keep, close or abort the connection.
- `ConnectionTable` admits connections up to a limit in all and per client (RFC 7766 §6.2.2,
  §10) and, when full, makes room by evicting the connection quiet the longest: idle, sending
  a query too slowly, or not reading its answers; a client whose queries are being answered
  keeps its connection.

Every method takes the time as `now`, keyword-only and last; the shell (`minidns.server`) gives
its event loop's time and re-arms one timer per connection from `get_timer`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import Enum, auto
from typing import Generic, TypeVar

LENGTH_PREFIX = 2  # RFC 1035 §4.2.2, RFC 7766 §8
IPV6_CLIENT_PREFIX = 64  # IPv6 clients are counted by /64: one host usually holds a whole /64


@dataclass(frozen=True)
class TcpLimits:
    """How long a TCP connection may stay, and how many may be open (RFC 7766 §6.2, §10)."""

    idle_timeout: float = 10.0  # no whole query received, nothing left to write
    write_timeout: float = 5.0  # answers waiting, none of them taken by the client
    max_lifetime: float = 120.0  # from accept to close, however busy
    max_connections: int = 256  # open at once, per listen address
    max_per_client: int = 64  # of those, per IPv4 address or IPv6 /64
    quiet_after: float = 1.0  # without progress this long, a connection may be evicted


class MessageFramer:
    """Splits a TCP byte stream into DNS messages by their 2-octet length (RFC 1035 §4.2.2)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def partial(self) -> bool:
        """Whether part of a message is waiting for the rest."""
        return bool(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """The messages completed by `data`."""
        buffer = self._buffer
        if not buffer:  # the usual case: whole messages in one segment, nothing held back
            messages = []
            start, end = 0, len(data)
            while end - start >= LENGTH_PREFIX:
                stop = start + LENGTH_PREFIX + int.from_bytes(data[start : start + 2], "big")
                if stop > end:
                    break
                messages.append(data[start + LENGTH_PREFIX : stop])
                start = stop
            if start < end:
                buffer += data[start:]
            return messages
        buffer += data
        messages = []
        while len(buffer) >= LENGTH_PREFIX:
            stop = LENGTH_PREFIX + int.from_bytes(buffer[:LENGTH_PREFIX], "big")
            if len(buffer) < stop:
                break
            messages.append(bytes(buffer[LENGTH_PREFIX:stop]))
            del buffer[:stop]
        return messages


def frame(message: bytes) -> bytes:
    """A message with its 2-octet length in front (RFC 1035 §4.2.2)."""
    return len(message).to_bytes(LENGTH_PREFIX, "big") + message


class Verdict(Enum):
    """What the shell does with a connection after `TcpSession.handle_timer`."""

    KEEP = auto()
    CLOSE = auto()  # graceful: the answers already written go first
    ABORT = auto()  # at once (a reset): the client does not read what it is sent


class TcpSession:
    """The timing rules of one TCP connection (RFC 7766 §6.2.3, §10)."""

    def __init__(self, limits: TcpLimits, *, now: float) -> None:
        self.limits = limits
        self.framer = MessageFramer()
        self.opened = now
        self.last_progress = now  # a whole query received, or answers taken by the client
        self._queued = 0  # octets handed to the transport, in all
        self._flushed = 0  # of those, octets the transport passed on
        self._blocked_since: float | None = None  # answers waiting since then, none taken
        self._closing_since: float | None = None

    def receive(self, data: bytes, *, now: float) -> list[bytes]:
        """The queries completed by `data`; a partial query is no progress (slowloris)."""
        messages = self.framer.feed(data)
        if messages:
            self.last_progress = now
        return messages

    def wrote(self, queued: int, buffered: int, *, now: float) -> None:
        """`queued` more octets handed to the transport, `buffered` still waiting in it."""
        self._queued += queued
        flushed = self._queued - buffered
        progress = flushed > self._flushed
        self._flushed = flushed
        if progress:
            self.last_progress = now
        if buffered == 0:
            self._blocked_since = None
        elif progress or self._blocked_since is None:
            self._blocked_since = now  # the client reads: a write stall starts only now

    def close(self, *, now: float) -> None:
        """The shell began closing: the answers written have `write_timeout` to go out."""
        if self._closing_since is None:
            self._closing_since = now

    @property
    def closing(self) -> bool:
        return self._closing_since is not None

    def quiet(self, *, now: float) -> float | None:
        """How long without progress, when longer than `quiet_after` (None: busy)."""
        quiet = now - self.last_progress
        return quiet if quiet >= self.limits.quiet_after else None

    def get_timer(self) -> float:
        """When `handle_timer` may have something to do."""
        limits = self.limits
        if self._closing_since is not None:
            return self._closing_since + limits.write_timeout
        if self._blocked_since is not None:
            deadline = self._blocked_since + limits.write_timeout
        else:
            deadline = self.last_progress + limits.idle_timeout
        return min(deadline, self.opened + limits.max_lifetime)

    def handle_timer(self, *, now: float) -> Verdict:
        limits = self.limits
        if self._closing_since is not None:
            expired = now >= self._closing_since + limits.write_timeout
            return Verdict.ABORT if expired else Verdict.KEEP
        if self._blocked_since is not None and now >= self._blocked_since + limits.write_timeout:
            return Verdict.ABORT  # RFC 7766 §10: the client does not read its answers
        if now >= self.opened + limits.max_lifetime:
            return Verdict.CLOSE  # RFC 7766 §10: a bound on a connection's life
        if self._blocked_since is None and now >= self.last_progress + limits.idle_timeout:
            return Verdict.CLOSE  # RFC 7766 §6.2.3: idle
        return Verdict.KEEP


def client_key(address: str) -> str:
    """What the per-client limit counts by: an IPv4 address, an IPv6 /64 (RFC 7766 §6.2.2)."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_CLIENT_PREFIX), strict=False))
    return str(ip)


C = TypeVar("C")


@dataclass
class Admission(Generic[C]):
    """Whether a new connection is accepted, and which one makes room for it."""

    accepted: bool
    evict: C | None = None


class ConnectionTable(Generic[C]):
    """The open connections of one listen address, by client (RFC 7766 §6.2.2, §10)."""

    def __init__(self, limits: TcpLimits) -> None:
        self.limits = limits
        self._sessions: dict[C, tuple[str, TcpSession]] = {}
        self._per_client: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def connections(self) -> list[C]:
        return list(self._sessions)

    def admit(self, connection: C, client: str, session: TcpSession, *, now: float) -> Admission[C]:
        """Admit `connection` from `client`, evicting another one if the table is full.

        A client at its own limit makes room among its own connections; otherwise a full
        table makes room among all. Only a connection quiet for `quiet_after` is evicted,
        the quietest first; when none is, the new connection is refused.
        """
        key = client_key(client)
        evict: C | None = None
        if self._per_client.get(key, 0) >= self.limits.max_per_client:
            evict = self._quietest(now=now, key=key)
            if evict is None:
                return Admission(False)
        elif len(self._sessions) >= self.limits.max_connections:
            evict = self._quietest(now=now)
            if evict is None:
                return Admission(False)
        if evict is not None:
            self.remove(evict)
        self._sessions[connection] = (key, session)
        self._per_client[key] = self._per_client.get(key, 0) + 1
        return Admission(True, evict)

    def remove(self, connection: C) -> None:
        entry = self._sessions.pop(connection, None)
        if entry is None:
            return
        key = entry[0]
        left = self._per_client[key] - 1
        if left:
            self._per_client[key] = left
        else:
            del self._per_client[key]

    def _quietest(self, *, now: float, key: str | None = None) -> C | None:
        best: C | None = None
        longest = 0.0
        for connection, (client, session) in self._sessions.items():
            if key is not None and client != key:
                continue
            quiet = session.quiet(now=now)
            if quiet is not None and quiet >= longest:
                best, longest = connection, quiet
        return best
