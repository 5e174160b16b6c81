"""Feed a full IPv4 table to minibgp and to FRR's bgpd over a real BGP session; compare.

    sudo .venv/bin/python -m bench.bgp_feed            # 1M prefixes, both receivers
    sudo .venv/bin/python -m bench.bgp_feed --prefixes 100000 --only minibgp

Each receiver runs alone in a fresh network namespace (prefix ``abdt-bgp-bench-``) and listens
on 10.255.0.1:179; the bench's own sender (bench/bgp_sender.py), in a second namespace across a
veth, connects from 10.255.0.2, opens the session and writes the pre-encoded UPDATEs
(bench/bgp_table.py) as fast as TCP takes them.
Measured: the seconds from Established until the receiver holds every prefix, and the
receiver's peak resident memory (VmHWM in /proc/PID/status). Prints a Markdown table and writes
the numbers as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from pathlib import Path

from bench.bgp_table import Feed, make_feed
from lab.frr import FrrRouter
from lab.netns import Netns, Network, remove_stale

NAMESPACE_PREFIX = "abdt-bgp-bench-"
RECEIVER_ADDRESS = "10.255.0.1"
SENDER_ADDRESS = "10.255.0.2"
RECEIVER_ASN = 64520
SENDER_ASN = 65001
RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]


class Receiver(ABC):
    """A BGP implementation under test, started in a namespace."""

    name: str
    poll_interval = 0.1  # seconds between asking how many prefixes it holds

    @abstractmethod
    def start(self, host: Netns, run_dir: Path) -> int:
        """Start listening for the sender; return the PID whose memory is measured."""

    @abstractmethod
    def prefix_count(self) -> int:
        """How many prefixes the receiver holds from the sender right now."""


class FrrReceiver(Receiver):
    """FRR's bgpd alone (`-Z`: no zebra), passive towards the sender."""

    name = "FRR bgpd -Z"
    poll_interval = 0.25  # each poll is a vtysh process and work for bgpd: not too often

    def start(self, host: Netns, run_dir: Path) -> int:
        config = (
            "frr defaults traditional\n"
            "hostname bench\n"
            f"router bgp {RECEIVER_ASN}\n"
            f" bgp router-id {RECEIVER_ADDRESS}\n"
            " no bgp ebgp-requires-policy\n"
            f" neighbor {SENDER_ADDRESS} remote-as {SENDER_ASN}\n"
            f" neighbor {SENDER_ADDRESS} passive\n"
            f" neighbor {SENDER_ADDRESS} disable-connected-check\n"
        )
        self.router = FrrRouter(host, run_dir, config, daemons=("bgpd",), bgpd_args=("-Z",))
        self.router.start()
        return int((run_dir / "bgpd.pid").read_text())

    def prefix_count(self) -> int:
        summary = self.router.vtysh_json("show bgp ipv4 unicast summary json")
        return int(summary.get("peers", {}).get(SENDER_ADDRESS, {}).get("pfxRcd", 0))

    def version(self) -> str:
        return self.router.vtysh("show version").splitlines()[0].strip()


class MinibgpReceiver(Receiver):
    """`python -m minibgp --config FILE`, passive towards the sender."""

    name = "minibgp"

    def start(self, host: Netns, run_dir: Path) -> int:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.socket = run_dir / "minibgp.sock"
        config = run_dir / "minibgp.toml"
        config.write_text(
            "[speaker]\n"
            f"asn = {RECEIVER_ASN}\n"
            f'router_id = "{RECEIVER_ADDRESS}"\n'
            f'listen = "{RECEIVER_ADDRESS}:179"\n'
            f'control_socket = "{self.socket}"\n\n'
            "[[peer]]\n"
            f'address = "{SENDER_ADDRESS}"\n'
            f"asn = {SENDER_ASN}\n"
            "passive = true\n"
        )
        log = (run_dir / "minibgp.log").open("wb")
        process = host.popen(
            [sys.executable, "-m", "minibgp", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        return process.pid  # `ip netns exec` execs the command: same PID

    def prefix_count(self) -> int:
        from minibgp.control import ControlError, request

        try:
            neighbors = request(self.socket, "show neighbors")["neighbors"]
        except (ControlError, OSError):
            return 0
        return sum(int(n.get("prefixes_received", 0)) for n in neighbors)


def peak_memory_mb(pid: int) -> float:
    """VmHWM, the peak resident set size, of a running process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no VmHWM for PID {pid}")


def run_one(receiver: Receiver, feed_path: Path, feed: Feed, timeout: float) -> dict[str, object]:
    """Start `receiver` and the sender in a fresh namespace; time the feed; tear down."""
    with (
        tempfile.TemporaryDirectory(prefix="abdt-bgp-bench-") as tmp,
        Network(NAMESPACE_PREFIX) as network,
    ):
        Path(tmp).chmod(0o755)
        host, sender_host = network.add_host("rx"), network.add_host("tx")
        network.link(host, "eth0", sender_host, "eth0")
        host.add_address("eth0", f"{RECEIVER_ADDRESS}/24")
        sender_host.add_address("eth0", f"{SENDER_ADDRESS}/24")
        pid = receiver.start(host, Path(tmp, "run"))
        sender = sender_host.popen(
            [sys.executable, "-m", "bench.bgp_sender", "--feed", str(feed_path),
             "--connect", f"{RECEIVER_ADDRESS}:179", "--bind", SENDER_ADDRESS,
             "--asn", str(SENDER_ASN), "--router-id", SENDER_ADDRESS],
            stdout=subprocess.PIPE, cwd=REPO,
        )  # fmt: skip
        assert sender.stdout is not None
        line = sender.stdout.readline().decode().split()
        if not line or line[0] != "ESTABLISHED":
            raise RuntimeError(f"{receiver.name}: the session did not come up ({line})")
        established = float(line[1])
        deadline = established + timeout
        count = 0
        while count < feed.prefix_count:
            if time.monotonic() > deadline or sender.poll() is not None:
                said = sender.stdout.read().decode() if sender.poll() is not None else ""
                raise RuntimeError(f"{receiver.name} holds {count} of {feed.prefix_count} {said}")
            time.sleep(receiver.poll_interval)
            count = receiver.prefix_count()
        elapsed = time.monotonic() - established
        result: dict[str, object] = {
            "receiver": receiver.name,
            "seconds": round(elapsed, 2),
            "peak_memory_mb": round(peak_memory_mb(pid), 1),
            "prefixes": count,
        }
        if isinstance(receiver, FrrReceiver):
            result["version"] = receiver.version()
    return result


def machine() -> dict[str, str]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def markdown(results: list[dict[str, object]], feed: Feed, command: str) -> str:
    by_name = {str(r["receiver"]): r for r in results}
    lines = [
        f"Feed: {feed.prefix_count:,} IPv4 prefixes in {feed.update_count:,} UPDATEs, "
        f"{feed.attribute_set_count:,} attribute sets. Command: `{command}`",
        "",
        "| receiver | seconds to hold all | peak memory (VmHWM) |",
        "|---|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r['receiver']} | {r['seconds']} s | {r['peak_memory_mb']} MB |")
    frr, mini = by_name.get(FrrReceiver.name), by_name.get(MinibgpReceiver.name)
    if frr and mini:
        time_ratio = float(mini["seconds"]) / float(frr["seconds"])  # type: ignore[arg-type]
        memory_ratio = float(mini["peak_memory_mb"]) / float(frr["peak_memory_mb"])  # type: ignore[arg-type]
        lines.append(f"| minibgp / FRR | {time_ratio:.2f} | {memory_ratio:.2f} |")
    m = machine()
    lines += [
        "",
        f"Machine: {m['nproc']} CPUs, {m['cpu']}, Linux {m['kernel']}, Python {m['python']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bgp_feed", description=__doc__)
    parser.add_argument("--prefixes", type=int, default=1_000_000)
    parser.add_argument("--per-update", type=int, default=100)
    parser.add_argument("--attribute-sets", type=int, default=5_000)
    parser.add_argument("--only", choices=("minibgp", "frr"), help="run one receiver")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per receiver")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("needs root (network namespaces)")
    remove_stale(NAMESPACE_PREFIX)

    started = time.monotonic()
    feed = make_feed(
        args.prefixes, args.per_update, args.attribute_sets, SENDER_ASN, SENDER_ADDRESS
    )
    print(
        f"feed built in {time.monotonic() - started:.1f} s: {len(feed.messages):,} octets",
        file=sys.stderr,
    )
    receivers: list[Receiver] = []
    if args.only in (None, "frr"):
        receivers.append(FrrReceiver())
    if args.only in (None, "minibgp"):
        receivers.append(MinibgpReceiver())
    results = []
    with tempfile.NamedTemporaryFile(prefix="abdt-bgp-feed-", suffix=".bin") as feed_file:
        feed_file.write(feed.messages)
        feed_file.flush()
        os.chmod(feed_file.name, 0o644)
        for receiver in receivers:
            print(f"feeding {receiver.name} ...", file=sys.stderr)
            results.append(run_one(receiver, Path(feed_file.name), feed, args.timeout))
            print(f"  {results[-1]}", file=sys.stderr)

    command = "sudo .venv/bin/python -m bench.bgp_feed" + (" " + " ".join(argv) if argv else "")
    print(markdown(results, feed, command))
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = RESULTS / f"bgp_feed-{stamp}.json"
        out.write_text(
            json.dumps(
                {
                    "feed": {"prefixes": feed.prefix_count, "updates": feed.update_count,
                             "attribute_sets": feed.attribute_set_count},
                    "machine": machine(),
                    "results": results,
                },
                indent=2,
            )
            + "\n"
        )  # fmt: skip
        print(f"\nwritten to {out.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
