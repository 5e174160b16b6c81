"""The page's probe core on a fake clock: schedule, matching, losses."""

from __future__ import annotations

from dnslib import EDNS0, MX, QTYPE, RR, DNSRecord, EDNSOption

from lab.ui.probes import ProbeCore


def _answer(query: bytes, server: str, rcode: int = 0) -> bytes:
    record = DNSRecord.parse(query)
    reply = record.reply()
    reply.header.rcode = rcode
    if rcode == 0:
        reply.add_answer(RR("example.com", QTYPE.MX, rdata=MX("mail.example.com", 25)))
    reply.add_ar(EDNS0(opts=[EDNSOption(3, server.encode())]))
    return reply.pack()


def test_schedule_and_answers() -> None:
    core = ProbeCore(interval=0.1, timeout=0.25, now=100.0)
    first = core.datagram_to_send(now=100.0)
    assert first is not None
    assert core.datagram_to_send(now=100.05) is None  # not due yet
    assert core.get_timer() == 100.1
    core.datagram_received(_answer(first, "server1"), now=100.002)
    [sample] = core.samples()
    assert (sample.sent, sample.server, sample.error) == (100.0, "server1", None)
    assert abs(sample.rtt - 0.002) < 1e-9  # type: ignore[operator]
    assert core.samples() == []


def test_lost_after_timeout_and_late_answer_ignored() -> None:
    core = ProbeCore(interval=0.1, timeout=0.25, now=0.0)
    query = core.datagram_to_send(now=0.0)
    assert query is not None
    for t in (0.1, 0.2):
        assert core.datagram_to_send(now=t) is not None
    assert core.get_timer() == 0.25  # the first query's deadline comes before the next send
    core.handle_timer(now=0.25)
    [lost] = core.samples()
    assert (lost.sent, lost.server, lost.error) == (0.0, None, "timeout")
    core.datagram_received(_answer(query, "server1"), now=0.26)
    assert core.samples() == []  # late: already judged lost


def test_error_answer_and_stranger_ignored() -> None:
    core = ProbeCore(interval=0.1, timeout=0.25, now=0.0)
    query = core.datagram_to_send(now=0.0)
    assert query is not None
    core.datagram_received(b"\x12", now=0.01)  # not ours, not DNS
    core.datagram_received(_answer(query, "server2", rcode=5), now=0.02)
    [refused] = core.samples()
    assert (refused.server, refused.error) == (None, "REFUSED")


def test_a_late_schedule_does_not_burst() -> None:
    core = ProbeCore(interval=0.1, timeout=0.25, now=0.0)
    assert core.datagram_to_send(now=0.0) is not None
    assert core.datagram_to_send(now=5.0) is not None  # the loop was held up for 5 s
    assert core.datagram_to_send(now=5.0) is None  # one query, not fifty
