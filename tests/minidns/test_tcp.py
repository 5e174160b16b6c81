"""minidns.tcp on a fake clock: framing, when a connection closes or is reset (RFC 7766 §6.2.3,
§10), and which connection makes room when the table is full."""

from __future__ import annotations

import pytest

from minidns.tcp import (
    ConnectionTable,
    MessageFramer,
    TcpLimits,
    TcpSession,
    Verdict,
    client_key,
    frame,
)

LIMITS = TcpLimits(
    idle_timeout=10.0,
    write_timeout=5.0,
    max_lifetime=120.0,
    max_connections=4,
    max_per_client=2,
    quiet_after=1.0,
)
QUERY = frame(b"\x12\x34" + b"\x00" * 15)


# Framing (RFC 1035 §4.2.2) --------------------------------------------------------------------


def test_the_framer_splits_a_stream_into_messages_however_it_is_cut():
    stream = frame(b"one") + frame(b"") + frame(b"three") + frame(b"x" * 300)
    for cut in range(len(stream) + 1):
        framer = MessageFramer()
        messages = framer.feed(stream[:cut]) + framer.feed(stream[cut:])
        assert messages == [b"one", b"", b"three", b"x" * 300]
        assert not framer.partial


def test_the_framer_holds_a_partial_message():
    framer = MessageFramer()
    assert framer.feed(frame(b"one") + b"\x00\x05ab") == [b"one"]
    assert framer.partial
    assert framer.feed(b"cde" + b"\x00") == [b"abcde"]
    assert framer.partial
    assert framer.feed(b"\x01z") == [b"z"]


# One connection's clock ------------------------------------------------------------------------


def test_an_idle_connection_is_closed_after_the_idle_timeout():
    session = TcpSession(LIMITS, now=100.0)
    assert session.get_timer() == 110.0
    assert session.handle_timer(now=109.9) is Verdict.KEEP
    assert session.handle_timer(now=110.0) is Verdict.CLOSE


def test_a_whole_query_restarts_the_idle_clock():
    session = TcpSession(LIMITS, now=100.0)
    assert session.receive(QUERY, now=105.0) == [QUERY[2:]]
    session.wrote(40, 0, now=105.0)
    assert session.get_timer() == 115.0
    assert session.handle_timer(now=110.0) is Verdict.KEEP


def test_a_query_trickled_an_octet_at_a_time_is_no_progress():
    """Slowloris: bytes keep coming, no query is ever whole: idle all the same."""
    session = TcpSession(LIMITS, now=100.0)
    for second in range(10):
        assert session.receive(b"\x00" if second == 0 else b"a", now=100.0 + second) == []
    assert session.handle_timer(now=110.0) is Verdict.CLOSE


def test_answers_left_unread_reset_the_connection_after_the_write_timeout():
    session = TcpSession(LIMITS, now=100.0)
    session.receive(QUERY, now=101.0)
    session.wrote(70_000, 65_536, now=101.0)  # the kernel took a little, the rest waits
    assert session.get_timer() == 106.0
    session.wrote(0, 65_536, now=103.0)  # nothing taken since
    assert session.handle_timer(now=105.9) is Verdict.KEEP
    assert session.handle_timer(now=106.0) is Verdict.ABORT


def test_a_client_that_reads_slowly_keeps_its_connection():
    session = TcpSession(LIMITS, now=100.0)
    session.receive(QUERY, now=100.0)
    session.wrote(1_000_000, 900_000, now=100.0)
    for second in range(1, 30):
        session.wrote(0, 900_000 - second * 30_000, now=100.0 + second)
        assert session.handle_timer(now=100.0 + second) is Verdict.KEEP
    session.wrote(0, 0, now=130.0)
    assert session.get_timer() == 140.0


def test_the_idle_timeout_does_not_run_while_answers_wait():
    session = TcpSession(LIMITS, now=100.0)
    session.receive(QUERY, now=100.0)
    session.wrote(100_000, 50_000, now=100.0)
    session.wrote(0, 10_000, now=104.0)
    session.wrote(0, 5_000, now=108.0)
    assert session.handle_timer(now=112.0) is Verdict.KEEP  # idle since 100 + 10 s, but busy


def test_a_connection_ends_when_its_lifetime_is_over_however_busy():
    session = TcpSession(LIMITS, now=100.0)
    for second in range(1, 121):
        session.receive(QUERY, now=100.0 + second)
        session.wrote(40, 0, now=100.0 + second)
    assert session.get_timer() == 220.0
    assert session.handle_timer(now=220.0) is Verdict.CLOSE


def test_a_close_that_cannot_complete_becomes_a_reset():
    """The idle close of a client that never reads: its answers cannot drain."""
    session = TcpSession(LIMITS, now=100.0)
    session.close(now=110.0)
    assert session.closing and session.get_timer() == 115.0
    assert session.handle_timer(now=114.0) is Verdict.KEEP
    assert session.handle_timer(now=115.0) is Verdict.ABORT


def test_quiet_means_no_progress_for_a_while():
    session = TcpSession(LIMITS, now=100.0)
    assert session.quiet(now=100.5) is None
    assert session.quiet(now=103.0) == 3.0
    session.receive(QUERY, now=103.0)
    assert session.quiet(now=103.5) is None


# The table of connections ----------------------------------------------------------------------


def test_a_client_at_its_limit_makes_room_among_its_own_quiet_connections():
    table: ConnectionTable[str] = ConnectionTable(LIMITS)
    sessions = {name: TcpSession(LIMITS, now=100.0) for name in ("a1", "a2", "a3", "a4")}
    assert table.admit("a1", "192.0.2.1", sessions["a1"], now=100.0).accepted
    assert table.admit("a2", "192.0.2.1", sessions["a2"], now=100.0).accepted
    refused = table.admit("a3", "192.0.2.1", sessions["a3"], now=100.5)  # none quiet yet
    assert not refused.accepted
    sessions["a2"].receive(QUERY, now=101.0)  # a2 is busy, a1 quiet
    admitted = table.admit("a4", "192.0.2.1", sessions["a4"], now=101.5)
    assert admitted.accepted and admitted.evict == "a1"
    assert sorted(table.connections()) == ["a2", "a4"]


def test_a_full_table_evicts_the_connection_quiet_the_longest():
    table: ConnectionTable[str] = ConnectionTable(LIMITS)
    for number, opened in enumerate((100.0, 101.0, 102.0, 103.0)):
        session = TcpSession(LIMITS, now=opened)
        assert table.admit(f"c{number}", f"192.0.2.{number}", session, now=opened).accepted
    admitted = table.admit("new", "198.51.100.1", TcpSession(LIMITS, now=110.0), now=110.0)
    assert admitted.accepted and admitted.evict == "c0"
    assert len(table) == 4


def test_a_full_table_of_busy_connections_refuses_a_newcomer():
    table: ConnectionTable[str] = ConnectionTable(LIMITS)
    for number in range(4):
        table.admit(f"c{number}", f"192.0.2.{number}", TcpSession(LIMITS, now=100.0), now=100.0)
    admission = table.admit("new", "198.51.100.1", TcpSession(LIMITS, now=100.5), now=100.5)
    assert not admission.accepted and admission.evict is None


def test_removing_a_connection_frees_its_client_slot():
    table: ConnectionTable[str] = ConnectionTable(LIMITS)
    for name in ("a", "b"):
        table.admit(name, "192.0.2.1", TcpSession(LIMITS, now=100.0), now=100.0)
    table.remove("a")
    table.remove("a")  # twice is harmless
    assert table.admit("c", "192.0.2.1", TcpSession(LIMITS, now=100.0), now=100.0).accepted


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::99", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("fe80::1%eth0", "fe80::/64"),
    ],
)
def test_clients_are_counted_by_ipv4_address_and_ipv6_slash_64(address, key):
    assert client_key(address) == key
