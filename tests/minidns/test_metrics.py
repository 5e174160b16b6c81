"""minidns's metrics: counting on the serving path, metric families on scrape."""

from __future__ import annotations

from dnslib import DNSRecord
from prometheus_client import CollectorRegistry, generate_latest

from minidns import metrics
from minidns.badinput import BadInput, BadInputCounts
from minidns.metrics import MinidnsCollector, QueryCounts, ServerCounts, question_type
from minidns.zone.masterfile import parse_master_file
from minidns.zone.model import ZoneSet


def _query(name: str, rtype: str) -> bytes:
    return bytes(DNSRecord.question(name, rtype).pack())


def _response(query: bytes, rcode: int) -> bytes:
    return query[:2] + bytes([0x84, rcode]) + query[4:]


def test_question_type() -> None:
    assert question_type(_query("www.example.com", "A")) == "A"
    assert question_type(_query("example.com", "MX")) == "MX"
    assert question_type(_query("example.com", "HINFO")) == "other"  # bounded labels
    assert question_type(b"\x00\x01") == "malformed"
    assert question_type(_query("example.com", "A")[:20]) == "malformed"
    pointer = bytearray(_query("example.com", "A"))
    pointer[12] = 0xC0
    assert question_type(bytes(pointer)) == "malformed"


def test_counts_fold_without_losing_any(monkeypatch: object) -> None:
    monkeypatch.setattr(metrics, "DISTINCT_QUERIES", 3)  # type: ignore[attr-defined]
    counts = QueryCounts("udp")
    a, mx = _query("www.example.com", "A"), _query("example.com", "MX")
    for _ in range(5):
        counts.count(a, _response(a, 0))
    counts.count(mx, _response(mx, 3))
    counts.count(a, None)
    for index in range(4):  # distinct names: the fourth folds
        other = _query(f"n{index}.example.com", "A")
        counts.count(other, _response(other, 3))
    assert len(counts.by_query) < 4
    assert counts.by_type_and_rcode() == {("A", 0): 5, ("MX", 3): 1, ("A", 3): 4}
    assert counts.dropped == 1


def test_latency_buckets() -> None:
    counts = QueryCounts("udp")
    counts.took(0.00003)
    counts.took(0.002, queries=10)
    counts.took(5.0)
    assert counts.latency_buckets[0] == 1
    assert counts.latency_buckets[metrics.LATENCY_BUCKETS.index(0.0025)] == 10
    assert counts.latency_buckets[-1] == 1
    assert abs(counts.latency_sum - (0.00003 + 0.02 + 5.0)) < 1e-9


def test_exposition(tmp_path: object) -> None:
    zone = parse_master_file(
        "$ORIGIN example.com.\n@ 3600 IN SOA ns1 hostmaster 7 1 1 1 1\n@ 3600 IN NS ns1\n",
        "example.com.",
    )
    server = ServerCounts()
    udp = server.udp_thread()
    a = _query("www.example.com", "A")
    udp.count(a, _response(a, 0))
    udp.count(a, _response(a, 3))
    server.tcp.count(a, _response(a, 0))
    server.reloads, server.reload_failures, server.tcp_accepted = 2, 1, 4
    registry = CollectorRegistry(auto_describe=False)
    bad = BadInputCounts()
    bad.add(BadInput.SHORT, b"\x00")
    collector = MinidnsCollector(server, lambda: ZoneSet([zone]), lambda: {"udp": 9, "tcp": 0}, bad)
    registry.register(collector)  # type: ignore[arg-type]
    text = generate_latest(registry).decode()
    for line in (
        'minidns_queries_total{qtype="A",rcode="NOERROR",transport="udp"} 1.0',
        'minidns_queries_total{qtype="A",rcode="NXDOMAIN",transport="udp"} 1.0',
        'minidns_queries_total{qtype="A",rcode="NOERROR",transport="tcp"} 1.0',
        'minidns_cache_hits_total{transport="udp"} 9.0',
        'minidns_zone_serial{zone="example.com."} 7.0',
        "minidns_reloads_total 2.0",
        "minidns_reload_failures_total 1.0",
        "minidns_tcp_connections_accepted_total 4.0",
        'minidns_bad_input_total{kind="short",outcome="dropped"} 1.0',
        'minidns_bad_input_total{kind="bad_pointer",outcome="FORMERR"} 0.0',
        "# TYPE minidns_answer_latency_seconds histogram",
    ):
        assert line in text, line
