"""The DNS service of one process: zones, identity, answer cache and transfer policy.

Sans-I/O: it takes query bytes (and, over TCP, the client's address) and gives back response
bytes; `minidns.server` and `minidns.udp` move them.

The zones and every answer cached from them form one `Generation`, replaced whole by a reload.
UDP queries are answered in threads of their own: each query reads the current generation once
and uses only it, so an answer built from the old zones can only land in the old caches, which
nothing reads after the swap. No lock is needed.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from minidns.axfr import transfer
from minidns.badinput import BadInputCounts
from minidns.cache import AnswerCache
from minidns.query import MalformedQuery, Query, read_query
from minidns.respond import malformed_reply, respond_to
from minidns.templates import Templates
from minidns.zone.model import ZoneSet

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
TRANSFER_TYPES = (251, 252)  # IXFR, AXFR
DEFAULT_CACHE_SIZE = 64 * 1024 * 1024  # answers of both transports, and templates

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Generation:
    """The zones being served and the answers cached from them."""

    zones: ZoneSet
    udp_cache: AnswerCache
    tcp_cache: AnswerCache
    templates: Templates  # for both transports

    @classmethod
    def of(cls, zones: ZoneSet, cache_size: int) -> Generation:
        """The zones with empty caches: of `cache_size` bytes, 3/8 for each transport's
        answers, 1/4 for the templates."""
        share = cache_size // 8
        return cls(zones, AnswerCache(3 * share), AnswerCache(3 * share), Templates(2 * share))


class DnsService:
    """Answers queries from the current zones, through the cache."""

    def __init__(
        self,
        zones: ZoneSet,
        identity: str = "",
        allow_transfer: Iterable[IpNetwork] = (),
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.identity = identity.encode()
        self.allow_transfer = list(allow_transfer)
        self.cache_size = cache_size
        self.current = Generation.of(zones, cache_size)
        self._retired_hits = {"udp": 0, "tcp": 0}  # of the caches of earlier generations
        self.bad_input = BadInputCounts()

    def replace_zones(self, zones: ZoneSet) -> Generation:
        """Serve new zones from now on, with empty caches: one assignment. The generation
        replaced is returned, for the caller to let go of where it costs nothing."""
        old, self.current = self.current, Generation.of(zones, self.cache_size)
        self._retired_hits["udp"] += old.udp_cache.hits
        self._retired_hits["tcp"] += old.tcp_cache.hits
        return old

    def cache_hits(self) -> dict[str, int]:
        """Answers found in the caches since the start, by transport."""
        now = self.current
        return {
            "udp": self._retired_hits["udp"] + now.udp_cache.hits,
            "tcp": self._retired_hits["tcp"] + now.tcp_cache.hits,
        }

    @property
    def zones(self) -> ZoneSet:
        return self.current.zones

    @property
    def udp_cache(self) -> AnswerCache:
        return self.current.udp_cache

    @property
    def tcp_cache(self) -> AnswerCache:
        return self.current.tcp_cache

    @property
    def templates(self) -> Templates:
        return self.current.templates

    def answer_datagram(self, wire: bytes) -> bytes | None:
        """The response to a query over UDP, or None to drop it."""
        now = self.current
        cache = now.udp_cache
        response = cache.lookup_bytes(wire)
        if response is not None:
            return response
        try:
            query = read_query(wire)
        except MalformedQuery as error:
            return malformed_reply(wire, error, self.bad_input)
        if query.cache_key is None:
            return self._respond(now, query, tcp=False)
        response = cache.lookup(query)
        if response is None:
            response = self._respond(now, query, tcp=False)
            cache.store(query, response)
        return response

    def answer_stream(self, wire: bytes, client: str) -> list[bytes]:
        """The responses to one query over TCP: one message, or a zone transfer's several."""
        now = self.current
        cache = now.tcp_cache
        response = cache.lookup_bytes(wire)
        if response is not None:
            return [response]
        try:
            query = read_query(wire)
        except MalformedQuery as error:
            reply = malformed_reply(wire, error, self.bad_input)
            return [] if reply is None else [reply]
        if query.qtype in TRANSFER_TYPES and query.question_count and not query.flags & 0x7800:
            return transfer(now.zones, query, self.transfer_allowed(client))
        if query.cache_key is None:
            return [self._respond(now, query, tcp=True)]
        response = cache.lookup(query)
        if response is None:
            response = self._respond(now, query, tcp=True)
            cache.store(query, response)
        return [response]

    def _respond(self, now: Generation, query: Query, *, tcp: bool) -> bytes:
        return respond_to(
            now.zones,
            query,
            tcp=tcp,
            identity=self.identity,
            templates=now.templates,
            bad_input=self.bad_input,
        )

    def transfer_allowed(self, client: str) -> bool:
        try:
            address = ipaddress.ip_address(client.split("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.allow_transfer)
