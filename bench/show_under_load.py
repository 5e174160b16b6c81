"""`show routes` on a speaker holding a large table, while a peer watches its KEEPALIVEs.

    .venv/bin/python -m bench.show_under_load                    # 1,000,000 prefixes
    .venv/bin/python -m bench.show_under_load --prefixes 200000

minibgp runs as `python -m minibgp --config FILE` on loopback (127.0.0.1), with hold time 3 s,
so it sends a KEEPALIVE every second (RFC 4271 §10: a third of the hold time). The bench is its
peer (127.0.0.2): it opens the session, feeds the table (bench/bgp_table.py, the same as
bench/bgp_feed.py), and notes when each of minibgp's KEEPALIVEs arrives. Once minibgp holds the
table, `python -m minibgp show routes --json` writes the whole table to /dev/null while
`show neighbors` is asked every 0.2 s. Measured: how long `show routes --json` takes, the
longest gap between two KEEPALIVEs while it runs, how long `show neighbors` takes meanwhile, and
minibgp's resident memory. Needs no root. Prints JSON and writes it to bench/results/.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.bgp_sender import KEEPALIVE, NOTIFICATION, establish, message, read_message
from bench.bgp_table import end_of_rib, make_feed

SPEAKER_ADDRESS, PEER_ADDRESS = "127.0.0.1", "127.0.0.2"
SPEAKER_ASN, PEER_ASN = 64520, 65001
HOLD_TIME = 3  # seconds: a KEEPALIVE every second
RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    prefixes: int
    show_routes_seconds: float
    show_routes_octets: int
    show_routes_received: int | None  # routes in the JSON document (when verified)
    keepalive_interval: float
    longest_keepalive_gap: float  # while show routes ran
    keepalives_during_show: int
    show_neighbors_seconds: list[float] = field(default_factory=list)  # each, while it ran
    rss_mb_before: float = 0.0
    rss_mb_after: float = 0.0
    peak_rss_mb: float = 0.0


class Peer:
    """The speaker's peer: a raw BGP session that notes the time of each KEEPALIVE."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(
            (SPEAKER_ADDRESS, port), timeout=30, source_address=(PEER_ADDRESS, 0)
        )
        self.keepalives: list[float] = []
        self.error: str | None = None
        self._stop = threading.Event()

    def start(self, feed: bytes) -> None:
        establish(self.sock, PEER_ASN, PEER_ADDRESS, hold_time=HOLD_TIME)
        self.sock.settimeout(None)
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._keepalives, daemon=True).start()
        self.sock.sendall(feed + end_of_rib())

    def _read(self) -> None:
        try:
            while True:
                msg_type, body = read_message(self.sock)
                if msg_type == KEEPALIVE:
                    self.keepalives.append(time.monotonic())
                elif msg_type == NOTIFICATION:
                    self.error = f"NOTIFICATION {body[0]}/{body[1]}"
                    return
        except (ConnectionError, OSError) as exc:
            if not self._stop.is_set():
                self.error = str(exc)

    def _keepalives(self) -> None:
        while not self._stop.wait(HOLD_TIME / 3):
            try:
                self.sock.sendall(message(KEEPALIVE))
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


def measure(prefixes: int, run_dir: Path, verify: bool = False) -> Result:
    """Run minibgp with `prefixes` routes from its peer, then `show routes --json` (with
    `verify`, read back as JSON to count the routes it lists)."""
    from minibgp.control import request

    port = _free_port()
    control = run_dir / "minibgp.sock"
    config = run_dir / "minibgp.toml"
    config.write_text(
        f'[speaker]\nasn = {SPEAKER_ASN}\nrouter_id = "{SPEAKER_ADDRESS}"\n'
        f'listen = "{SPEAKER_ADDRESS}:{port}"\ncontrol_socket = "{control}"\n\n'
        f'[[peer]]\naddress = "{PEER_ADDRESS}"\nasn = {PEER_ASN}\npassive = true\n'
        f"hold_time = {HOLD_TIME}\n"
    )
    feed = make_feed(prefixes, per_update=100, attribute_set_count=5000, next_hop=PEER_ADDRESS)
    with (run_dir / "minibgp.log").open("wb") as log:
        speaker = subprocess.Popen(
            [sys.executable, "-m", "minibgp", "--config", str(config)],
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
        )  # fmt: skip
    peer = None
    try:
        peer = _connect(port)
        peer.start(feed.messages)
        deadline = time.monotonic() + 600
        while _held(control) < prefixes:
            if peer.error or speaker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"minibgp did not take the table: {peer.error}")
            time.sleep(0.2)
        rss_before = _rss_mb(speaker.pid)
        answers: list[float] = []
        done = threading.Event()

        def ask_neighbors() -> None:
            while not done.wait(0.2):
                started = time.monotonic()
                request(control, "show neighbors", timeout=30)
                answers.append(time.monotonic() - started)

        asker = threading.Thread(target=ask_neighbors)
        started = time.monotonic()
        asker.start()
        output = run_dir / "routes.json"
        with output.open("wb") as out:
            shown = subprocess.run(
                [sys.executable, "-m", "minibgp", "show", "routes", "--json",
                 "--socket", str(control)],
                stdout=out, stderr=subprocess.PIPE, cwd=REPO, check=False,
            )  # fmt: skip
            octets = out.tell()
        ended = time.monotonic()
        done.set()
        asker.join()
        if shown.returncode != 0:
            raise RuntimeError(f"show routes failed: {shown.stderr.decode()}")
        if peer.error:
            raise RuntimeError(f"the session broke: {peer.error}")
        # The KEEPALIVEs around the show: the last before it, those during it, the first after.
        around = [t for t in peer.keepalives if t < started][-1:]
        around += [t for t in peer.keepalives if started <= t <= ended]
        around += [t for t in peer.keepalives if t > ended][:1]
        gaps = [b - a for a, b in itertools.pairwise(around)]
        result = Result(
            prefixes=prefixes,
            show_routes_seconds=round(ended - started, 3),
            show_routes_octets=octets,
            show_routes_received=None,
            keepalive_interval=HOLD_TIME / 3,
            longest_keepalive_gap=round(max(gaps, default=0.0), 3),
            keepalives_during_show=len([t for t in around if started <= t <= ended]),
            show_neighbors_seconds=[round(a, 4) for a in answers],
            rss_mb_before=rss_before,
            rss_mb_after=_rss_mb(speaker.pid),
            peak_rss_mb=_rss_mb(speaker.pid, "VmHWM"),
        )
    finally:
        if peer is not None:
            peer.close()
        speaker.terminate()
        speaker.wait(timeout=30)
    if verify:  # after the session: reading it back takes this process for a while
        with output.open("rb") as listing:
            peers = json.load(listing)["peers"]
        result.show_routes_received = sum(len(peer["received"]) for peer in peers)
    output.unlink()
    return result


def _connect(port: int) -> Peer:
    deadline = time.monotonic() + 30
    while True:  # minibgp may still be starting
        try:
            return Peer(port)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _held(control: Path) -> int:
    from minibgp.control import ControlError, request

    try:
        neighbors = request(control, "show neighbors", timeout=30)["neighbors"]
    except (ControlError, OSError):
        return 0
    return sum(int(n["prefixes_received"]) for n in neighbors)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((SPEAKER_ADDRESS, 0))
        return int(sock.getsockname()[1])


def _rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise LookupError(f"no {field_name} for PID {pid}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.show_under_load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--prefixes", type=int, default=1_000_000, help="routes in the table")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="abdt-bgp-show-") as tmp:
        result = measure(args.prefixes, Path(tmp))
    neighbors = sorted(result.show_neighbors_seconds)
    report = {
        **asdict(result),
        "show_neighbors_max_seconds": neighbors[-1] if neighbors else None,
        "show_neighbors_median_seconds": neighbors[len(neighbors) // 2] if neighbors else None,
        "machine": f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"Linux {platform.release()}, Python {platform.python_version()}",
        "load_average_1min_after": round(os.getloadavg()[0], 2),  # how shared the machine was
        "command": f"python -m bench.show_under_load --prefixes {args.prefixes}",
    }
    del report["show_neighbors_seconds"]
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"show_under_load-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
