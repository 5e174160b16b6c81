"""Our BFD against FRR's bfdd, each in its own namespace across a veth (RFC 5880, RFC 5881).

Checked: the session comes up on both sides with the timers each side was given; FRR declares us
down within its Detection Time when we freeze; we declare FRR down within ours when its bfdd
freezes or the link goes silent; AdminDown is signalled both ways. The detection times measured
are printed (run with -s) and recorded as test properties.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from lab.frr import FrrRouter, wait_until
from lab.netns import Netns, Network, remove_stale
from tests.conftest import require_programs, require_root, tagged

pytestmark = pytest.mark.interop

PREFIX = tagged("abdt-bfd-")
FRR_ADDRESS, OUR_ADDRESS = "10.77.0.1", "10.77.0.2"
FRR_ADDRESS6, OUR_ADDRESS6 = "fd00:77::1", "fd00:77::2"
REPO = Path(__file__).resolve().parents[3]
# Detection Time at 100 ms x 3. The last packet before a failure left up to one interval
# earlier, so detection takes 200-300 ms; the upper bound is 3x, loose enough for a loaded CI
# machine (the measured values are printed and recorded).
DETECTION_TIME = 0.3
EARLIEST, LATEST = DETECTION_TIME - 0.1 - 0.05, 3 * DETECTION_TIME

FRR_CONFIG = """\
frr defaults traditional
hostname bfd-frr
log file {log}
log timestamp precision 6
debug bfd peer
bfd
 peer {peer} local-address {local}
  receive-interval {rx}
  transmit-interval {tx}
  detect-multiplier {mult}
 !
!
"""
# What a router of the lab says: a BFD profile, used by `neighbor X bfd profile`. bgpd asks bfdd
# for the session as soon as the neighbor is configured, before BGP is established. (Blocks end
# with "!", not "exit": every daemon reads the whole file, and an "exit" at the top level of a
# block a daemon does not know would end its configure mode.)
FRR_BGP_CONFIG = """\
frr defaults traditional
hostname bfd-frr
log file {log}
log timestamp precision 6
debug bfd peer
bfd
 profile fast
  receive-interval {rx}
  transmit-interval {tx}
  detect-multiplier {mult}
 !
!
router bgp 4290001234
 bgp router-id {local}
 no bgp ebgp-requires-policy
 neighbor {peer} remote-as 64520
 neighbor {peer} bfd profile fast
!
"""


@dataclass(frozen=True)
class Timers:
    tx: int  # ms
    rx: int  # ms
    mult: int


class OurBfd:
    """`python -m minibgp.bfd` in a namespace; its JSON lines are collected as they come."""

    def __init__(self, host: Netns, timers: Timers, local: str, peer: str) -> None:
        self.process = host.popen(
            [
                sys.executable, "-m", "minibgp.bfd", "--local", local, "--peer", peer,
                "--min-tx", str(timers.tx), "--min-rx", str(timers.rx),
                "--multiplier", str(timers.mult),
            ],
            stdout=subprocess.PIPE,
            cwd=REPO,
        )  # fmt: skip
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.next_event(timeout=10)["event"] == "listening"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def next_event(self, kind: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {kind or 'event'} from our BFD within {timeout} s")
            event = self.lines.get(timeout=remaining)
            if kind is None or event["event"] == kind:
                return event

    def status(self) -> dict[str, Any]:
        self.process.send_signal(signal.SIGUSR1)
        return self.next_event("status")


@dataclass
class BfdLab:
    net: Network
    frr_host: Netns
    our_host: Netns
    frr: FrrRouter
    ours: OurBfd
    log: Path
    our_address: str = OUR_ADDRESS

    def frr_peer(self) -> dict[str, Any]:
        peers = self.frr.vtysh_json("show bfd peers json")
        return next(p for p in peers if p["peer"] == self.our_address)

    def frr_state_changes(self, reason: str) -> list[float]:
        """Unix times at which FRR logged our session going down for `reason`."""
        times = []
        for line in self.log.read_text(errors="replace").splitlines():
            if f"peer:{self.our_address}" in line and "up -> down" in line and reason in line:
                stamp = datetime.strptime(line[:26], "%Y/%m/%d %H:%M:%S.%f")
                times.append(stamp.timestamp())  # FRR logs local time, as datetime assumes
        return times

    def bfdd_pid(self) -> int:
        return int((self.frr.run_dir / "bfdd.pid").read_text().strip())


@contextlib.contextmanager
def bfd_lab(
    frr_timers: Timers, our_timers: Timers, with_bgpd: bool = False, ipv6: bool = False
) -> Iterator[BfdLab]:
    require_root()
    require_programs("/usr/lib/frr/zebra", "/usr/lib/frr/bfdd", "vtysh", "tc")
    remove_stale(PREFIX)
    with tempfile.TemporaryDirectory() as tmp, Network(PREFIX) as net:
        Path(tmp).chmod(0o755)  # FRR runs as the frr user and must reach its run directory
        frr_host, our_host = net.add_host("frr"), net.add_host("ours")
        net.link(frr_host, "eth0", our_host, "eth0")
        frr_address, our_address = (
            (FRR_ADDRESS6, OUR_ADDRESS6) if ipv6 else (FRR_ADDRESS, OUR_ADDRESS)
        )
        for host, address in ((frr_host, frr_address), (our_host, our_address)):
            host.ip("addr", "add", f"{address}/{64 if ipv6 else 30}", "dev", "eth0", "nodad")
        log = Path(tmp, "frr", "frr.log")
        config = (FRR_BGP_CONFIG if with_bgpd else FRR_CONFIG).format(
            log=log,
            peer=our_address,
            local=frr_address,
            tx=frr_timers.tx,
            rx=frr_timers.rx,
            mult=frr_timers.mult,
        )
        daemons = ("zebra", "bfdd", "bgpd") if with_bgpd else ("zebra", "bfdd")
        frr = FrrRouter(frr_host, Path(tmp, "frr"), config, daemons=daemons)
        frr.start()
        ours = OurBfd(our_host, our_timers, our_address, frr_address)
        lab = BfdLab(net, frr_host, our_host, frr, ours, log, our_address)
        try:
            assert ours.next_event(timeout=15)["event"] == "up"
            wait_until(lambda: lab.frr_peer()["status"] == "up", timeout=10, what="FRR up")
            yield lab
        finally:
            with contextlib.suppress(ProcessLookupError, OSError, ValueError):
                os.kill(lab.bfdd_pid(), signal.SIGCONT)
            with contextlib.suppress(ProcessLookupError):
                os.kill(ours.process.pid, signal.SIGCONT)


def report(record_property: Any, name: str, seconds: float) -> None:
    record_property(name, round(seconds * 1000, 1))
    print(f"\n{name}: {seconds * 1000:.0f} ms")


FAST = Timers(tx=100, rx=100, mult=3)


@pytest.mark.parametrize(
    ("ours", "expect_tx_ms", "expect_detect_ms", "frr_detect_ms"),
    [
        (FAST, 100, 300, 300),
        # Ours slower: we send at max(our 200, FRR's rx 100) and detect FRR after
        # FRR's 3 x max(our rx 300, FRR's tx 100); FRR detects us after 5 x max(100, 200).
        (Timers(tx=200, rx=300, mult=5), 200, 900, 1000),
    ],
)
def test_session_comes_up_with_negotiated_timers(
    ours: Timers, expect_tx_ms: int, expect_detect_ms: int, frr_detect_ms: int
) -> None:
    with bfd_lab(FAST, ours) as lab:
        peer = lab.frr_peer()
        assert peer["status"] == "up"
        assert peer["remote-id"] != 0 and peer["diagnostic"] == "ok"
        assert peer["remote-receive-interval"] == ours.rx
        assert peer["remote-transmit-interval"] == ours.tx
        assert peer["remote-detect-multiplier"] == ours.mult
        assert peer["remote-detect-multiplier"] * max(ours.tx, FAST.rx) == frr_detect_ms

        def polled() -> dict[str, Any] | None:
            status = lab.ours.status()
            return None if status["poll_in_progress"] else status

        status = wait_until(polled, timeout=5, what="our Poll Sequence to end")
        assert status["state"] == "UP"
        assert status["transmit_interval_ms"] == expect_tx_ms
        assert status["detection_time_ms"] == expect_detect_ms
        assert status["remote_min_rx_interval_ms"] == FAST.rx
        assert status["remote_desired_min_tx_interval_ms"] == FAST.tx


def test_an_ipv6_session_comes_up_and_detects_a_frozen_bfdd() -> None:
    with bfd_lab(FAST, FAST, ipv6=True) as lab:
        assert lab.frr_peer()["status"] == "up"
        os.kill(lab.bfdd_pid(), signal.SIGSTOP)
        event = lab.ours.next_event("down", timeout=5)
        assert event["diag"] == "CONTROL_DETECTION_TIME_EXPIRED"
        os.kill(lab.bfdd_pid(), signal.SIGCONT)
        assert lab.ours.next_event("up", timeout=10)["event"] == "up"


def test_a_bgp_neighbor_with_a_bfd_profile_gets_a_session_with_us() -> None:
    with bfd_lab(FAST, FAST, with_bgpd=True) as lab:
        peer = lab.frr_peer()
        assert peer["status"] == "up"
        assert (peer["receive-interval"], peer["transmit-interval"]) == (FAST.rx, FAST.tx)
        assert peer["remote-detect-multiplier"] == FAST.mult


def test_frr_sees_us_down_within_its_detection_time_when_we_freeze(record_property: Any) -> None:
    with bfd_lab(FAST, FAST) as lab:
        frozen_at = time.time()
        os.kill(lab.ours.process.pid, signal.SIGSTOP)
        wait_until(lambda: lab.frr_peer()["status"] == "down", timeout=5, what="FRR down")
        [down_at] = lab.frr_state_changes("control-expired")
        detection = down_at - frozen_at
        report(record_property, "frr_detects_frozen_minibgp_bfd_ms", detection)
        assert EARLIEST < detection < LATEST
        os.kill(lab.ours.process.pid, signal.SIGCONT)
        wait_until(lambda: lab.frr_peer()["status"] == "up", timeout=10, what="FRR up again")


def test_we_see_frr_down_within_our_detection_time_when_bfdd_freezes(
    record_property: Any,
) -> None:
    with bfd_lab(FAST, FAST) as lab:
        frozen_at = time.time()
        os.kill(lab.bfdd_pid(), signal.SIGSTOP)
        event = lab.ours.next_event("down", timeout=5)
        assert event["diag"] == "CONTROL_DETECTION_TIME_EXPIRED"
        detection = event["time"] - frozen_at
        report(record_property, "minibgp_detects_frozen_bfdd_ms", detection)
        assert EARLIEST < detection < LATEST
        os.kill(lab.bfdd_pid(), signal.SIGCONT)
        assert lab.ours.next_event("up", timeout=10)["event"] == "up"


def test_both_sides_see_a_silent_link_within_the_detection_time(record_property: Any) -> None:
    with bfd_lab(FAST, FAST) as lab:
        silent_at = time.time()
        for host in (lab.frr_host, lab.our_host):  # every packet dropped, carrier stays up
            host.run(["tc", "qdisc", "add", "dev", "eth0", "root", "blackhole"])
        event = lab.ours.next_event("down", timeout=5)
        assert event["diag"] == "CONTROL_DETECTION_TIME_EXPIRED"
        wait_until(lambda: lab.frr_peer()["status"] == "down", timeout=5, what="FRR down")
        [frr_down_at] = lab.frr_state_changes("control-expired")
        report(record_property, "minibgp_detects_silent_link_ms", event["time"] - silent_at)
        report(record_property, "frr_detects_silent_link_ms", frr_down_at - silent_at)
        assert EARLIEST < event["time"] - silent_at < LATEST
        assert EARLIEST < frr_down_at - silent_at < LATEST
        for host in (lab.frr_host, lab.our_host):
            host.run(["tc", "qdisc", "del", "dev", "eth0", "root"])
        assert lab.ours.next_event("up", timeout=10)["event"] == "up"


def test_admin_down_is_signalled_both_ways() -> None:
    with bfd_lab(FAST, FAST) as lab:
        lab.frr.vtysh(
            "configure terminal",
            "bfd",
            f"peer {OUR_ADDRESS} local-address {FRR_ADDRESS}",
            "shutdown",
        )
        event = lab.ours.next_event("down", timeout=5)
        assert event["diag"] == "NEIGHBOR_SIGNALED_SESSION_DOWN"
        assert event["remote_admin_down"]  # RFC 5882 §3.2: not a path failure
        lab.frr.vtysh(
            "configure terminal",
            "bfd",
            f"peer {OUR_ADDRESS} local-address {FRR_ADDRESS}",
            "no shutdown",
        )
        assert lab.ours.next_event("up", timeout=10)["event"] == "up"
        wait_until(lambda: lab.frr_peer()["status"] == "up", timeout=10, what="FRR up again")

        lab.ours.process.send_signal(signal.SIGTERM)  # we say AdminDown as we leave
        lab.ours.process.wait(timeout=5)
        wait_until(lambda: lab.frr_peer()["status"] == "down", timeout=2, what="FRR down")
        assert lab.frr_peer()["remote-diagnostic"] == "administratively down"
