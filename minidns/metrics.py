"""Prometheus metrics of minidns (`--metrics ADDR:PORT`, off by default).

The serving path only counts, in plain ints and dicts of its own (`QueryCounts`, one per thread
that answers queries); prometheus-client's registry reads them when Prometheus scrapes
(`MinidnsCollector.collect`) and turns them into metric families there. Counting a query costs
a tuple and a dict update keyed by the query's bytes (its ID aside) and the answer's RCODE; the
query type is read from those bytes only at scrape time, or when a thread has seen more than
`DISTINCT_QUERIES` different queries (then it folds them into totals by type and RCODE).

    minidns_queries_total{transport, qtype, rcode}      queries answered
    minidns_queries_dropped_total{transport}             queries left unanswered (malformed...)
    minidns_bad_input_total{kind, outcome}               bad messages by kind (minidns.badinput)
    minidns_answer_latency_seconds{transport}            from a query's arrival to its answer
    minidns_cache_hits_total{transport}                  answers from the answer cache
    minidns_zone_serial{zone}                            each zone's SOA serial
    minidns_zones                                        zones served
    minidns_reloads_total, minidns_reload_failures_total SIGHUP reloads, and failed ones
    minidns_tcp_connections                              TCP connections open now
    minidns_tcp_connections_total                        TCP connections accepted
    minidns_tcp_connections_refused_total                refused, over --tcp-max-connections
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from dnslib import QTYPE, RCODE
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from minidns.badinput import BadInputCounts
from minidns.zone.model import ZoneSet

# Seconds: an answer from the cache takes microseconds, one built from the zone a millisecond.
LATENCY_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1)
DISTINCT_QUERIES = 4096  # distinct queries a thread counts before folding them into totals
HEADER = 12  # RFC 1035 §4.1.1
KNOWN_QTYPES = frozenset(
    ("A", "NS", "CNAME", "SOA", "PTR", "MX", "TXT", "AAAA", "SRV", "NAPTR", "DS", "RRSIG",
     "NSEC", "DNSKEY", "NSEC3", "TLSA", "SVCB", "HTTPS", "CAA", "AXFR", "IXFR", "ANY")
)  # fmt: skip


def question_type(query: bytes) -> str:
    """The QTYPE of a query's first question as a label: its mnemonic for common types,
    "other" for the rest (a label per possible type would let anyone grow the metrics), and
    "malformed" when the question cannot be read (RFC 1035 §4.1.2)."""
    if len(query) < HEADER + 5 or query[4:6] == b"\0\0":
        return "malformed"
    at = HEADER
    try:
        length = query[at]
        while length:
            if length & 0xC0:
                return "malformed"  # a pointer in a query's question: not from a real client
            at += length + 1
            length = query[at]
        qtype = int.from_bytes(query[at + 1 : at + 3], "big")
    except IndexError:
        return "malformed"
    if at + 3 > len(query):
        return "malformed"
    name = QTYPE.get(qtype, "")
    return name if name in KNOWN_QTYPES else "other"


def rcode_name(rcode: int) -> str:
    """RFC 1035 §4.1.1 / RFC 6895 names, upper case as dig prints them."""
    return str(RCODE.get(rcode, f"RCODE{rcode}"))


@dataclass
class QueryCounts:
    """What one thread (or the TCP side) answered; written by it alone, read on scrape."""

    transport: str
    by_query: dict[tuple[bytes, int], int] = field(default_factory=dict)
    totals: dict[tuple[str, int], int] = field(default_factory=dict)
    dropped: int = 0
    latency_buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0

    def count(self, query: bytes, response: bytes | None) -> None:
        """One query and its answer (None: dropped)."""
        if response is None:
            self.dropped += 1
            return
        key = (query[2:], response[3] & 0x0F)
        by_query = self.by_query
        by_query[key] = by_query.get(key, 0) + 1
        if len(by_query) > DISTINCT_QUERIES:
            self.fold()

    def took(self, seconds: float, queries: int = 1) -> None:
        """`queries` answered `seconds` after they arrived (a batch shares one time)."""
        self.latency_buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += queries
        self.latency_sum += seconds * queries

    def fold(self) -> None:
        """Move the per-query counts into the totals by type and RCODE (the counting thread)."""
        by_query, self.by_query = self.by_query, {}
        for (query, rcode), count in by_query.items():
            key = (question_type(b"\0\0" + query), rcode)
            self.totals[key] = self.totals.get(key, 0) + count

    def by_type_and_rcode(self) -> dict[tuple[str, int], int]:
        """Queries by (qtype, RCODE), for a scrape (another thread may be counting)."""
        result = dict(self.totals.copy())
        for (query, rcode), count in self.by_query.copy().items():
            key = (question_type(b"\0\0" + query), rcode)
            result[key] = result.get(key, 0) + count
        return result


@dataclass
class ServerCounts:
    """Everything minidns counts, handed to the serving code and read by the collector."""

    udp: list[QueryCounts] = field(default_factory=list)  # one per UDP thread
    tcp: QueryCounts = field(default_factory=lambda: QueryCounts("tcp"))
    reloads: int = 0
    reload_failures: int = 0
    tcp_open: int = 0
    tcp_accepted: int = 0
    tcp_refused: int = 0

    def udp_thread(self) -> QueryCounts:
        """Counts for one more UDP receive thread."""
        counts = QueryCounts("udp")
        self.udp.append(counts)
        return counts


class MinidnsCollector:
    """Turns the counts into metric families when Prometheus scrapes."""

    def __init__(
        self,
        counts: ServerCounts,
        zones: Callable[[], ZoneSet],
        cache_hits: Callable[[], dict[str, int]],
        bad_input: BadInputCounts | None = None,
    ) -> None:
        self.counts = counts
        self.zones = zones
        self.cache_hits = cache_hits
        self.bad_input = bad_input

    def collect(self) -> Iterator[Metric]:
        counts = self.counts
        queries = CounterMetricFamily(
            "minidns_queries", "Queries answered, by transport, query type and response code.",
            labels=["transport", "qtype", "rcode"],
        )  # fmt: skip
        dropped = CounterMetricFamily(
            "minidns_queries_dropped",
            "Queries left without an answer (malformed, or not a query).",
            labels=["transport"],
        )
        latency = HistogramMetricFamily(
            "minidns_answer_latency_seconds",
            "Time from a query's arrival to its answer being sent (a UDP batch shares one).",
            labels=["transport"],
        )
        for transport, group in (("udp", counts.udp), ("tcp", [counts.tcp])):
            merged: dict[tuple[str, int], int] = {}
            buckets = [0] * (len(LATENCY_BUCKETS) + 1)
            total_seconds = 0.0
            for thread in group:
                for key, value in thread.by_type_and_rcode().items():
                    merged[key] = merged.get(key, 0) + value
                for index, value in enumerate(list(thread.latency_buckets)):
                    buckets[index] += value
                total_seconds += thread.latency_sum
            for (qtype, rcode), value in sorted(merged.items()):
                queries.add_metric([transport, qtype, rcode_name(rcode)], value)
            dropped.add_metric([transport], sum(thread.dropped for thread in group))
            cumulative, running = [], 0
            for bound, value in zip((*LATENCY_BUCKETS, float("inf")), buckets, strict=True):
                running += value
                cumulative.append((_bound_text(bound), running))
            latency.add_metric([transport], cumulative, total_seconds)
        yield from (queries, dropped, latency)
        if self.bad_input is not None:
            bad = CounterMetricFamily(
                "minidns_bad_input",
                "Bad messages by kind, and what they got (dropped, FORMERR, SERVFAIL).",
                labels=["kind", "outcome"],
            )
            for kind, total in dict(self.bad_input.totals).items():
                bad.add_metric([kind.name.lower(), kind.outcome], total)
            yield bad
        hits = CounterMetricFamily(
            "minidns_cache_hits", "Answers given from the answer cache.", labels=["transport"]
        )
        for transport, value in self.cache_hits().items():
            hits.add_metric([transport], value)
        yield hits
        serial = GaugeMetricFamily(
            "minidns_zone_serial", "The SOA serial of each zone served.", labels=["zone"]
        )
        zones = self.zones()
        for zone in zones:
            serial.add_metric([str(zone.origin)], zone.serial)
        yield serial
        yield GaugeMetricFamily("minidns_zones", "Zones served.", value=len(zones))
        yield CounterMetricFamily(
            "minidns_reloads", "Zone reloads (SIGHUP) that succeeded.", value=counts.reloads
        )
        yield CounterMetricFamily(
            "minidns_reload_failures",
            "Zone reloads that failed (the old zones stayed in service).",
            value=counts.reload_failures,
        )
        yield GaugeMetricFamily(
            "minidns_tcp_connections", "TCP connections open now.", value=counts.tcp_open
        )
        yield CounterMetricFamily(
            "minidns_tcp_connections_accepted",
            "TCP connections accepted.",
            value=counts.tcp_accepted,
        )
        yield CounterMetricFamily(
            "minidns_tcp_connections_refused",
            "TCP connections closed at once: over the connection limit.",
            value=counts.tcp_refused,
        )


def _bound_text(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def serve_metrics(address: str, port: int, collector: MinidnsCollector) -> None:
    """Serve /metrics on `address`:`port` from a thread of prometheus-client's."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    start_http_server(port, addr=address, registry=registry)
