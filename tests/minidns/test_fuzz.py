"""Hostile datagrams and TCP messages over real sockets: every reply is a valid DNS message within
RFC 1035's limits, the valid probes in between are all answered, nothing is logged as a
traceback. bench/dns_fuzz.py runs the same on a million datagrams."""

from __future__ import annotations

import asyncio
import logging

from bench.dns_fuzz import Mutator, fuzz_tcp, fuzz_udp
from minidns.badinput import BadInput
from minidns.server import serve
from minidns.service import DnsService
from tests.minidns.zonetext import zones_from_text

ZONE = """
@       IN SOA ns1 hostmaster 1 3600 600 86400 300
@       IN NS  ns1
@       IN MX  25 mail
ns1     IN A   192.0.2.53
mail    IN A   192.0.2.25
www     IN A   192.0.2.1
*.wild  IN A   192.0.2.99
"""


async def test_hostile_queries_get_valid_replies_and_probes_are_answered(caplog):
    service = DnsService(zones_from_text(("example.com.", ZONE)), identity="fuzz")
    listening = await serve(service, "127.0.0.1", 0)
    address = ("127.0.0.1", listening.port)
    try:
        with caplog.at_level(logging.DEBUG):
            udp = await asyncio.to_thread(
                fuzz_udp, address, Mutator(seed=7), 4000, probe_every=20, time_limit=60
            )
            await asyncio.to_thread(fuzz_tcp, address, Mutator(seed=8), 150, udp)
    finally:
        listening.close()
    assert udp.sent == 4000, "the run did not finish in its time limit"
    assert udp.invalid == 0, "\n".join(udp.examples)
    assert udp.probes_answered == udp.probes
    assert udp.replies > 3000 and udp.tcp_replies > 100
    assert "Traceback" not in caplog.text
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    seen = {kind for kind, count in service.bad_input.totals.items() if count}
    assert {BadInput.LABEL_TYPE, BadInput.NAME_TOO_LONG, BadInput.BAD_POINTER} <= seen
    assert BadInput.INTERNAL_ERROR not in seen
