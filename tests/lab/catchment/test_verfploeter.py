"""The Verfploeter core on a fake clock: requests from every site, replies matched to them at the
site they arrive at, retries, losses, and what is not ours."""

from __future__ import annotations

import pytest

from lab.catchment.icmp import Echo, echo_request
from lab.catchment.model import Target
from lab.catchment.verfploeter import Datagram, Verfploeter
from tests.lab.catchment.packets import reply_to

NEAR = Target("client1", 4, "192.0.2.10", "192.0.2.0/24", "router1")
FAR = Target("client2", 4, "198.51.100.10", "198.51.100.0/24", "router2")
NEAR6 = Target("client1", 6, "2001:db8:1::10", "2001:db8:1::/64", "router1")
TOKEN = b"\x01\x02\x03\x04\x05\x06\x07\x08"


def core(*targets: Target, senders: tuple[str, ...] = ("site-a", "site-b"), now: float = 0.0,
         attempts: int = 2) -> Verfploeter:  # fmt: skip
    return Verfploeter(senders, targets or (NEAR, FAR), identifier=0x4242, token=TOKEN,
                       timeout=1.0, attempts=attempts, now=now)  # fmt: skip


def due(verfploeter: Verfploeter, *, now: float) -> list[Datagram]:
    """Every request due at `now`."""
    datagrams = []
    while (datagram := verfploeter.datagram_to_send(now=now)) is not None:
        datagrams.append(datagram)
    return datagrams


def reply(datagram: Datagram, source: str | None = None) -> bytes:
    return reply_to(datagram.family, datagram.data, source or datagram.address)


def test_every_site_pings_every_target_from_the_anycast_address() -> None:
    verfploeter = core()
    datagrams = due(verfploeter, now=0.0)
    assert {(d.site, d.address) for d in datagrams} == {
        (site, target.address) for site in ("site-a", "site-b") for target in (NEAR, FAR)
    }
    assert len({d.number for d in datagrams}) == 4
    first = datagrams[0]
    assert first.data == echo_request(
        4, Echo(0x4242, first.number, TOKEN + first.number.to_bytes(4, "big"))
    )
    assert due(verfploeter, now=0.0) == []  # each sent once
    assert verfploeter.get_timer() == 1.0
    assert not verfploeter.done


def test_each_target_maps_to_the_site_its_replies_arrive_at() -> None:
    verfploeter = core()
    for datagram in due(verfploeter, now=0.0):
        # NEAR's replies go to site-a, FAR's to site-b, whichever site sent the request.
        arrives_at = "site-a" if datagram.address == NEAR.address else "site-b"
        rtt = 0.001 if datagram.site == arrives_at else 0.003
        verfploeter.datagram_received(arrives_at, 4, datagram.address, reply(datagram), now=rtt)
    assert verfploeter.done
    assert verfploeter.get_timer() is None
    results = verfploeter.results()
    assert results[NEAR].sites == {"site-a": 2} and results[NEAR].site == "site-a"
    assert results[FAR].sites == {"site-b": 2} and results[FAR].site == "site-b"
    # The round trip is that of the request sent from the site the reply came back to.
    assert results[NEAR].rtt == pytest.approx(0.001)
    assert results[NEAR].asked == 2 and results[NEAR].error is None


def test_each_request_counts_from_when_it_was_taken_to_be_sent() -> None:
    verfploeter = core(NEAR, senders=("site-a", "site-b"))
    first = verfploeter.datagram_to_send(now=10.0)
    second = verfploeter.datagram_to_send(now=10.4)
    assert first is not None and second is not None
    verfploeter.datagram_received("site-a", 4, NEAR.address, reply(second), now=10.5)
    verfploeter.datagram_received("site-a", 4, NEAR.address, reply(first), now=10.6)
    assert [round(r.rtt, 6) for r in verfploeter.replies()] == [0.1, 0.6]


def test_replies_at_several_sites_show_as_a_split() -> None:
    verfploeter = core(NEAR)
    for datagram in due(verfploeter, now=0.0):
        site = datagram.site  # each reply returns to its sender: as if two routes were in use
        verfploeter.datagram_received(site, 4, NEAR.address, reply(datagram), now=0.002)
    seen = verfploeter.results()[NEAR]
    assert seen.sites == {"site-a": 1, "site-b": 1}
    assert seen.site is None


def test_what_is_not_a_reply_to_a_pending_request_is_ignored() -> None:
    verfploeter = core(NEAR, senders=("site-a",))
    [datagram] = due(verfploeter, now=0.0)
    good = reply(datagram)
    stranger = reply_to(
        4, echo_request(4, Echo(0x4343, datagram.number, TOKEN + bytes(4))), NEAR.address
    )
    other_token = reply_to(
        4, echo_request(4, Echo(0x4242, 0, b"\xff" * 8 + bytes(4))), NEAR.address
    )
    beyond = reply_to(
        4, echo_request(4, Echo(0x4242, 9, TOKEN + (9).to_bytes(4, "big"))), NEAR.address
    )
    for packet, source in [
        (stranger, NEAR.address),  # another identifier
        (other_token, NEAR.address),  # another measurement's data
        (beyond, NEAR.address),  # a number never sent
        (good, FAR.address),  # from another host than the one pinged
        (b"\x45\x00", NEAR.address),  # not even a header
    ]:
        verfploeter.datagram_received("site-a", 4, source, packet, now=0.001)
    verfploeter.datagram_received("site-a", 6, NEAR.address, good[20:], now=0.001)  # family
    assert not verfploeter.done
    verfploeter.datagram_received("site-b", 4, NEAR.address, good, now=0.002)
    verfploeter.datagram_received("site-a", 4, NEAR.address, good, now=0.003)  # a duplicate
    assert verfploeter.results()[NEAR].sites == {"site-b": 1}


def test_a_target_nothing_came_back_from_is_pinged_again_then_lost() -> None:
    verfploeter = core(NEAR, FAR)
    first = due(verfploeter, now=0.0)
    for datagram in first:
        if datagram.address == FAR.address:
            verfploeter.datagram_received("site-b", 4, FAR.address, reply(datagram), now=0.001)
    assert verfploeter.get_timer() == 1.0
    verfploeter.handle_timer(now=0.5)  # nothing expires early
    assert due(verfploeter, now=0.5) == []
    verfploeter.handle_timer(now=1.0)
    again = due(verfploeter, now=1.0)
    assert {(d.site, d.address) for d in again} == {
        ("site-a", NEAR.address),
        ("site-b", NEAR.address),
    }
    assert verfploeter.get_timer() == 2.0
    late = next(d for d in first if d.address == NEAR.address)
    verfploeter.datagram_received("site-a", 4, NEAR.address, reply(late), now=1.5)  # lost already
    verfploeter.handle_timer(now=2.0)
    assert verfploeter.done  # two attempts made
    seen = verfploeter.results()[NEAR]
    assert (seen.sites, seen.asked, seen.error) == ({}, 4, "timeout")


def test_the_second_attempt_can_succeed() -> None:
    verfploeter = core(NEAR, senders=("site-a",))
    due(verfploeter, now=0.0)
    verfploeter.handle_timer(now=1.0)
    [retry] = due(verfploeter, now=1.0)
    verfploeter.datagram_received("site-a", 4, NEAR.address, reply(retry), now=1.002)
    assert verfploeter.done
    seen = verfploeter.results()[NEAR]
    assert (seen.site, seen.asked, seen.error) == ("site-a", 2, None)
    assert seen.rtt == pytest.approx(0.002)


def test_a_request_that_cannot_be_sent_says_why() -> None:
    verfploeter = core(NEAR, senders=("site-a",), attempts=1)
    [datagram] = due(verfploeter, now=0.0)
    verfploeter.send_failed(datagram.number, "Network is unreachable", now=0.0)
    assert verfploeter.done
    assert verfploeter.results()[NEAR].error == "Network is unreachable"


def test_without_a_site_to_send_from_nothing_is_sent() -> None:
    verfploeter = core(NEAR, senders=())
    assert due(verfploeter, now=0.0) == []
    assert verfploeter.done
    assert verfploeter.results()[NEAR].error == "no site to send from"


def test_icmpv6_replies_are_matched_too() -> None:
    verfploeter = core(NEAR6, senders=("site-a",))
    [datagram] = due(verfploeter, now=0.0)
    assert datagram.family == 6 and datagram.data[0] == 128
    # The kernel may write the address in another form: compared as addresses.
    verfploeter.datagram_received("site-a", 6, "2001:db8:1:0::10", reply(datagram), now=0.001)
    assert verfploeter.results()[NEAR6].site == "site-a"


def test_sequence_numbers_wrap_but_requests_stay_apart() -> None:
    targets = [Target(f"c{i}", 4, f"10.{i // 250}.{i % 250}.1", "", "r") for i in range(33000)]
    verfploeter = core(*targets)
    datagrams = due(verfploeter, now=0.0)
    last = datagrams[-1]
    assert last.number == 65999 and int.from_bytes(last.data[6:8], "big") == 65999 & 0xFFFF
    verfploeter.datagram_received("site-b", 4, last.address, reply(last), now=0.001)
    assert verfploeter.results()[targets[-1]].sites == {"site-b": 1}
