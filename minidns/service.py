"""The DNS service of one process: zones, identity, answer cache and transfer policy.

Sans-I/O: it takes query bytes (and, over TCP, the client's address) and gives back response
bytes; `minidns.server` moves them. UDP queries are answered in a thread of their own, so a
reload (`replace_zones`) and the storing of a UDP answer hold one lock: an answer computed from
the old zones is never cached after the swap.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable, Iterable

from dnslib import QTYPE, DNSRecord

from minidns.axfr import transfer
from minidns.cache import AnswerCache, query_key
from minidns.respond import respond
from minidns.templates import NameTemplates
from minidns.zone.model import ZoneSet

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
TRANSFER_TYPES = (QTYPE.AXFR, QTYPE.IXFR)

log = logging.getLogger(__name__)


class DnsService:
    """Answers queries from the current zones, through the cache."""

    def __init__(
        self,
        zones: ZoneSet,
        identity: str = "",
        allow_transfer: Iterable[IpNetwork] = (),
        cache_entries: int = 100_000,
    ) -> None:
        self.zones = zones
        self.identity = identity
        self.allow_transfer = list(allow_transfer)
        self.udp_cache = AnswerCache(cache_entries)
        self.tcp_cache = AnswerCache(cache_entries)
        self.templates = NameTemplates()  # UDP answers for names that do not exist
        self._swap = threading.Lock()

    def replace_zones(self, zones: ZoneSet) -> None:
        """Serve new zones from now on; the cached answers of the old ones are dropped."""
        with self._swap:
            self.zones = zones
            self.udp_cache.clear()
            self.tcp_cache.clear()
            self.templates.clear()

    def answer_datagram(self, wire: bytes) -> bytes | None:
        """The response to a query over UDP, or None to drop it."""
        cache = self.udp_cache
        response = cache.lookup_bytes(wire)
        if response is not None:
            return response
        zones = self.zones
        found = query_key(wire)
        if found is None:
            return respond(zones, wire, tcp=False, identity=self.identity)
        response = cache.lookup(wire, found)
        if response is not None:
            return response
        response = self.templates.lookup(zones, wire, found)
        if response is not None:
            return response  # a name never asked before, probably: not worth caching
        response = respond(zones, wire, tcp=False, identity=self.identity)
        if response is not None:
            with self._swap:
                if zones is self.zones:  # not reloaded meanwhile
                    cache.store(wire, found, response)
                    self.templates.learn(zones, wire, found, response, self._respond_udp(zones))
        return response

    def _respond_udp(self, zones: ZoneSet) -> Callable[[bytes], bytes | None]:
        return lambda wire: respond(zones, wire, tcp=False, identity=self.identity)

    def answer_stream(self, wire: bytes, client: str) -> list[bytes]:
        """The responses to one query over TCP: one message, or a zone transfer's several."""
        cache = self.tcp_cache
        response = cache.lookup_bytes(wire)
        if response is not None:
            return [response]
        found = query_key(wire)
        if found is not None:
            qtype = int.from_bytes(wire[found.name_end : found.name_end + 2], "big")
            if qtype not in TRANSFER_TYPES:
                response = cache.lookup(wire, found)
                if response is None:
                    response = respond(self.zones, wire, tcp=True, identity=self.identity)
                    if response is None:
                        return []
                    cache.store(wire, found, response)
                return [response]
        transfer_query = _transfer_query(wire)
        if transfer_query is not None:
            return transfer(self.zones, transfer_query, self.transfer_allowed(client))
        response = respond(self.zones, wire, tcp=True, identity=self.identity)
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
    try:
        query = DNSRecord.parse(wire)
    except Exception:
        return None
    if query.header.qr or query.header.opcode != 0 or len(query.questions) != 1:
        return None
    return query if query.questions[0].qtype in TRANSFER_TYPES else None
