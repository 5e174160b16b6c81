"""Reload never stops serving: a zone that takes seconds to load is loaded again (SIGHUP) while
UDP and TCP probes run, and every probe is answered, from the old data until the swap."""

from __future__ import annotations

import os
import random
import signal
import socket
import threading
import time
from pathlib import Path

from bench.big_zone import ORIGIN, SERIAL, BigZone, write_zone
from minidns.zone.model import ZoneSet
from tests.minidns.differential import free_port, minidns_command, running

RECORDS = 300_000  # about 1.5 s of loading on one core of the machine this was written on
PROBE_TIMEOUT = 2.0  # seconds: loose, for a loaded CI machine


def query(name: str, qtype: int, qid: int) -> bytes:
    labels = b"".join(bytes((len(part),)) + part.encode() for part in name.split(".") if part)
    header = qid.to_bytes(2, "big") + b"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    return header + labels + b"\x00" + qtype.to_bytes(2, "big") + b"\x00\x01"


def ask(port: int, wire: bytes, tcp: bool) -> bytes | None:
    try:
        if tcp:
            with socket.create_connection(("127.0.0.1", port), timeout=PROBE_TIMEOUT) as conn:
                conn.sendall(len(wire).to_bytes(2, "big") + wire)
                data = b""
                while len(data) < 2 or len(data) < 2 + int.from_bytes(data[:2], "big"):
                    chunk = conn.recv(65535)
                    if not chunk:
                        return None
                    data += chunk
                return data[2:]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(PROBE_TIMEOUT)
            udp.sendto(wire, ("127.0.0.1", port))
            return udp.recv(65535)
    except OSError:
        return None


def serial(port: int) -> int | None:
    response = ask(port, query(ORIGIN, 6, 1), tcp=False)
    if response is None or response[3] & 0xF or response[6:8] == b"\x00\x00":
        return None
    return int.from_bytes(response[-20:-16], "big")


class Prober(threading.Thread):
    """Asks for an existing name every 5 ms, one query at a time, until stopped."""

    def __init__(self, port: int, tcp: bool, made: BigZone) -> None:
        super().__init__(daemon=True)
        self.port, self.tcp = port, tcp
        self.names = [name for name, rtype in made.existing if rtype == "A"]
        self.stopping = threading.Event()
        self.answered: list[float] = []  # when each answered probe was answered
        self.failed = 0

    def run(self) -> None:
        rng = random.Random(int(self.tcp))
        while not self.stopping.is_set():
            name = f"{rng.choice(self.names)}.{ORIGIN}"
            response = ask(self.port, query(name, 1, rng.randrange(65536)), self.tcp)
            if response is None or response[3] & 0xF or response[6:8] == b"\x00\x00":
                self.failed += 1
            else:
                self.answered.append(time.monotonic())
            self.stopping.wait(0.005)


def test_every_probe_is_answered_while_a_big_zone_reloads(tmp_path: Path) -> None:
    zone = tmp_path / "scale.zone"
    made = write_zone(zone, RECORDS)
    write_zone(tmp_path / "next.zone", RECORDS, serial=SERIAL + 1)
    port = free_port()
    log = tmp_path / "log"
    command = minidns_command(port, "--zone", f"{ORIGIN}={zone}")
    with running(command, port, log) as process:
        probers = [Prober(port, tcp, made) for tcp in (False, True)]
        for prober in probers:
            prober.start()
        time.sleep(0.5)
        os.replace(tmp_path / "next.zone", zone)
        started = time.monotonic()
        os.kill(process.pid, signal.SIGHUP)
        deadline = started + 120
        while serial(port) != SERIAL + 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        swapped = time.monotonic()
        time.sleep(0.5)
        for prober in probers:
            prober.stopping.set()
            prober.join(timeout=10)
    assert swapped < deadline, "the new zone was never served"
    assert "reloaded 1 zone in" in log.read_text()
    for prober in probers:
        assert prober.failed == 0, f"{prober.failed} probes failed (tcp={prober.tcp})"
        during = [when for when in prober.answered if started < when < swapped]
        # the reload took long enough for probes to be answered from the old data meanwhile (a
        # few: on a loaded machine the probing threads themselves get little time)
        assert len(during) >= 3, (len(during), swapped - started)


def test_the_replaced_zones_are_emptied_once_no_query_holds_them_but_not_those_still_served():
    from minidns.cli import release
    from minidns.service import DnsService
    from tests.minidns.zonetext import zone_from_text

    soa = "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\nwww IN A 192.0.2.1\n"
    kept, dropped = zone_from_text("kept.test.", soa), zone_from_text("dropped.test.", soa)
    service = DnsService(ZoneSet([kept, dropped]))
    new = ZoneSet([kept, zone_from_text("dropped.test.", soa)])
    release(service.replace_zones(new), new)
    assert not dropped.nodes  # freed, slice by slice
    assert len(kept.nodes) == 2  # still served: left alone
