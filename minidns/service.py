"""The DNS service of one process: zones, identity, answer cache and transfer policy.

Sans-I/O: it takes query bytes (and, over TCP, the client's address) and gives back response
bytes; `minidns.server` moves them.

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

from dnslib import QTYPE, DNSRecord

from minidns.axfr import transfer
from minidns.badinput import BadInputCounts
from minidns.cache import AnswerCache, query_key
from minidns.query import HEADER_LENGTH, QR_BIT, MalformedQuery, read_query
from minidns.respond import respond
from minidns.templates import NameTemplates
from minidns.zone.model import ZoneSet

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
TRANSFER_TYPES = (QTYPE.AXFR, QTYPE.IXFR)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Generation:
    """The zones being served and the answers cached from them."""

    zones: ZoneSet
    udp_cache: AnswerCache
    tcp_cache: AnswerCache
    templates: NameTemplates  # UDP answers for names that do not exist

    @classmethod
    def of(cls, zones: ZoneSet, cache_entries: int) -> Generation:
        return cls(zones, AnswerCache(cache_entries), AnswerCache(cache_entries), NameTemplates())


class DnsService:
    """Answers queries from the current zones, through the cache."""

    def __init__(
        self,
        zones: ZoneSet,
        identity: str = "",
        allow_transfer: Iterable[IpNetwork] = (),
        cache_entries: int = 100_000,
    ) -> None:
        self.identity = identity
        self.allow_transfer = list(allow_transfer)
        self.cache_entries = cache_entries
        self.current = Generation.of(zones, cache_entries)
        self._retired_hits = {"udp": 0, "tcp": 0}  # of the caches of earlier generations
        self.bad_input = BadInputCounts()

    def replace_zones(self, zones: ZoneSet) -> None:
        """Serve new zones from now on, with empty caches: one assignment."""
        old, self.current = self.current, Generation.of(zones, self.cache_entries)
        self._retired_hits["udp"] += old.udp_cache.hits
        self._retired_hits["tcp"] += old.tcp_cache.hits

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
    def templates(self) -> NameTemplates:
        return self.current.templates

    def answer_datagram(self, wire: bytes) -> bytes | None:
        """The response to a query over UDP, or None to drop it."""
        now = self.current
        cache = now.udp_cache
        response = cache.lookup_bytes(wire)
        if response is not None:
            return response
        found = query_key(wire)
        if found is None:
            return respond(
                now.zones, wire, tcp=False, identity=self.identity, bad_input=self.bad_input
            )
        response = cache.lookup(wire, found)
        if response is not None:
            return response
        response = now.templates.lookup(now.zones, wire, found)
        if response is not None:
            return response  # a name never asked before, probably: not worth caching
        response = respond(
            now.zones, wire, tcp=False, identity=self.identity, bad_input=self.bad_input
        )
        if response is not None:
            cache.store(wire, found, response)

            def respond_udp(probe: bytes) -> bytes | None:
                return respond(now.zones, probe, tcp=False, identity=self.identity)

            now.templates.learn(now.zones, wire, found, response, respond_udp)
        return response

    def answer_stream(self, wire: bytes, client: str) -> list[bytes]:
        """The responses to one query over TCP: one message, or a zone transfer's several."""
        now = self.current
        cache = now.tcp_cache
        response = cache.lookup_bytes(wire)
        if response is not None:
            return [response]
        found = query_key(wire)
        if found is not None:
            qtype = int.from_bytes(wire[found.name_end : found.name_end + 2], "big")
            if qtype not in TRANSFER_TYPES:
                response = cache.lookup(wire, found)
                if response is None:
                    response = respond(
                        now.zones, wire, tcp=True, identity=self.identity, bad_input=self.bad_input
                    )
                    if response is None:
                        return []
                    cache.store(wire, found, response)
                return [response]
        transfer_query = _transfer_query(wire)
        if transfer_query is not None:
            return transfer(now.zones, transfer_query, self.transfer_allowed(client))
        response = respond(
            now.zones, wire, tcp=True, identity=self.identity, bad_input=self.bad_input
        )
        return [] if response is None else [response]

    def transfer_allowed(self, client: str) -> bool:
        try:
            address = ipaddress.ip_address(client.split("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.allow_transfer)


def _transfer_query(wire: bytes) -> DNSRecord | None:
    """The parsed query when it is a well-formed AXFR or IXFR query, else None."""
    if len(wire) < HEADER_LENGTH or wire[2] & QR_BIT:
        return None
    try:
        query = read_query(wire).message
    except MalformedQuery:
        return None
    if query.header.qr or query.header.opcode != 0 or len(query.questions) != 1:
        return None
    return query if query.questions[0].qtype in TRANSFER_TYPES else None
