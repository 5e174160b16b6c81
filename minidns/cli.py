"""The command line: `python -m minidns --zone ORIGIN=PATH --listen ADDR:PORT --identity NAME`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import functools
import gc
import ipaddress
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minidns import systemd
from minidns.badinput import BadInputCounts
from minidns.server import ListeningServer, serve

if TYPE_CHECKING:
    from minidns.metrics import ServerCounts
from minidns.service import DEFAULT_CACHE_SIZE, DnsService, Generation, IpNetwork
from minidns.tcp import TcpLimits
from minidns.udp import DEFAULT_BATCH, MAX_BATCH
from minidns.zone.errors import ZoneError
from minidns.zone.model import ZoneSet

log = logging.getLogger("minidns")


@dataclass(frozen=True)
class Options:
    zones: list[tuple[str, str]]  # (origin, path)
    pdns_sqlite: list[str]
    listen: list[tuple[str, int]]
    identity: str
    workers: int
    udp_threads: int
    udp_batch: int
    allow_axfr: list[IpNetwork]
    tcp: TcpLimits
    cache_size: int
    verbose: int
    metrics: tuple[str, int] | None = None


def parse_listen(text: str) -> tuple[str, int]:
    """`127.0.0.1:5300` or `[::1]:5300` as (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected ADDRESS:PORT, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address: {host!r}") from None
    return host, int(port)


def parse_zone(text: str) -> tuple[str, str]:
    """`example.com=PATH` as (origin, path)."""
    origin, sep, path = text.partition("=")
    if not sep or not origin or not path:
        raise argparse.ArgumentTypeError(f"expected ORIGIN=PATH, got {text!r}")
    return origin, path


def parse_size(text: str) -> int:
    """A size in bytes: `67108864`, or with a binary unit: `64M`, `512K`, `1G`."""
    match = re.fullmatch(r"(\d+)([KMG]?)i?B?", text.strip(), re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"expected a size such as 64M, got {text!r}")
    unit = " KMG".index((match.group(2) or " ").upper())
    return int(match.group(1)) << (10 * unit)


def parse_network(text: str) -> IpNetwork:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _prog() -> str:
    """The name in usage lines: `minidns` (the console script) or `python -m minidns`."""
    return "python -m minidns" if Path(sys.argv[0]).name == "__main__.py" else "minidns"


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog=_prog(),
        description="An authoritative DNS server that answers like PowerDNS.",
        epilog=f"""\
examples:
  {_prog()} --zone example.com=example.com.zone --listen 127.0.0.1:5300 --identity server1
  {_prog()} --pdns-sqlite /var/lib/powerdns/pdns.sqlite3 --listen 169.254.0.1:53

signals:
  SIGHUP   load every zone again and swap them in at once (on any error keep the old ones)
  SIGTERM  close the sockets and exit
""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--zone",
        action="append",
        type=parse_zone,
        default=[],
        metavar="ORIGIN=PATH",
        help="serve a zone from an RFC 1035 master file (repeatable)",
    )
    parser.add_argument(
        "--pdns-sqlite",
        action="append",
        default=[],
        metavar="PATH",
        help="serve every zone of a PowerDNS gsqlite3 database (repeatable)",
    )
    parser.add_argument(
        "--listen",
        action="append",
        type=parse_listen,
        default=[],
        metavar="ADDR:PORT",
        help="answer on UDP and TCP there, [IPV6]:PORT for IPv6 (repeatable; default 127.0.0.1:53)",
    )
    parser.add_argument(
        "--identity",
        default="",
        metavar="NAME",
        help="the answer to NSID (RFC 5001) and CH TXT id.server / hostname.bind",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="processes sharing the ports with SO_REUSEPORT (default 1)",
    )
    parser.add_argument(
        "--udp-threads",
        type=int,
        default=2,
        metavar="N",
        help="threads receiving on each UDP socket (default 2)",
    )
    parser.add_argument(
        "--udp-batch",
        type=int,
        default=DEFAULT_BATCH,
        metavar="N",
        help=f"UDP datagrams moved per system call (default {DEFAULT_BATCH}; 1: one at a time)",
    )
    parser.add_argument(
        "--allow-axfr",
        action="append",
        type=parse_network,
        default=[],
        metavar="CIDR",
        help="clients allowed to transfer zones (AXFR; repeatable; default: none)",
    )
    tcp = TcpLimits()
    parser.add_argument(
        "--tcp-idle-timeout",
        type=float,
        default=tcp.idle_timeout,
        metavar="SECONDS",
        help="close a TCP connection that has sent no whole query for this long "
        f"(default {tcp.idle_timeout:g})",
    )
    parser.add_argument(
        "--tcp-write-timeout",
        type=float,
        default=tcp.write_timeout,
        metavar="SECONDS",
        help="reset a TCP connection whose client reads none of its answers for this long "
        f"(default {tcp.write_timeout:g})",
    )
    parser.add_argument(
        "--tcp-max-lifetime",
        type=float,
        default=tcp.max_lifetime,
        metavar="SECONDS",
        help=f"close a TCP connection this long after it opened (default {tcp.max_lifetime:g})",
    )
    parser.add_argument(
        "--tcp-max-connections",
        type=int,
        default=tcp.max_connections,
        metavar="N",
        help="TCP connections open at once per listen address; when full, the one quiet the "
        f"longest makes room (default {tcp.max_connections})",
    )
    parser.add_argument(
        "--tcp-max-per-client",
        type=int,
        default=tcp.max_per_client,
        metavar="N",
        help=f"of those, per client IPv4 address or IPv6 /64 (default {tcp.max_per_client})",
    )
    parser.add_argument(
        "--cache-size",
        type=parse_size,
        default=DEFAULT_CACHE_SIZE,
        metavar="SIZE",
        help="memory for cached answers and templates, per process (default 64M; 0: none)",
    )
    parser.add_argument(
        "--metrics",
        type=parse_listen,
        metavar="ADDR:PORT",
        help="serve Prometheus metrics at http://ADDR:PORT/metrics (default: off)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (debug)")
    args = parser.parse_args(argv)
    if not args.zone and not args.pdns_sqlite:
        parser.error("nothing to serve: give --zone or --pdns-sqlite")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.udp_threads < 1:
        parser.error("--udp-threads must be at least 1")
    if not 1 <= args.udp_batch <= MAX_BATCH:
        parser.error(f"--udp-batch must be 1 to {MAX_BATCH}")
    for option in ("tcp_idle_timeout", "tcp_write_timeout", "tcp_max_lifetime"):
        if not getattr(args, option) > 0:  # also refuses nan
            parser.error(f"--{option.replace('_', '-')} must be more than 0 seconds")
    for option in ("tcp_max_connections", "tcp_max_per_client"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be at least 1")
    if args.metrics is not None and args.workers > 1:
        parser.error("--metrics counts one process: use it with --workers 1")
    return Options(
        zones=args.zone,
        pdns_sqlite=args.pdns_sqlite,
        listen=args.listen or [("127.0.0.1", 53)],
        identity=args.identity,
        workers=args.workers,
        udp_threads=args.udp_threads,
        udp_batch=args.udp_batch,
        allow_axfr=args.allow_axfr,
        tcp=TcpLimits(
            idle_timeout=args.tcp_idle_timeout,
            write_timeout=args.tcp_write_timeout,
            max_lifetime=args.tcp_max_lifetime,
            max_connections=args.tcp_max_connections,
            max_per_client=args.tcp_max_per_client,
        ),
        cache_size=args.cache_size,
        verbose=args.verbose,
        metrics=args.metrics,
    )


def load_zones(options: Options) -> ZoneSet:
    """Every zone the options name; raises ZoneError (`path:line: reason`) on the first bad one.
    Warnings (`path:line: reason`) are logged."""
    from minidns.zone.checks import ZoneReport
    from minidns.zone.masterfile import load_master_file
    from minidns.zone.pdns_sqlite import load_pdns_sqlite

    zones = ZoneSet()
    for path in options.pdns_sqlite:
        for zone in load_pdns_sqlite(path):
            zones.add(zone)
    for origin, path in options.zones:
        report = ZoneReport()
        zones.add(load_master_file(path, origin, report))
        for warning in report.warnings:
            log.warning("%s", warning)
    return zones


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["check-zone"]:
        from minidns.checkzone import main as check_zone

        return check_zone(arguments[1:])
    options = parse_args(arguments)
    level = logging.DEBUG if options.verbose else logging.INFO
    # the journal names the program and its PID already (workers share the main one's stream)
    alone_in_journal = options.workers == 1 and systemd.stderr_is_journal()
    prefix = "" if alone_in_journal else "minidns[%(process)d] "
    logging.basicConfig(level=level, format=prefix + "%(levelname)s %(message)s")
    try:
        zones = load_zones(options)
    except (ZoneError, OSError) as error:
        print(f"minidns: {error}", file=sys.stderr)
        return 2
    if options.workers == 1:
        # Held until `_serve` has its handlers: the UDP threads answer queries before then,
        # and a SIGTERM in between would end the process by default (exit -15).
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        return _run_event_loop(_serve(options, zones, ready=_notify_ready))
    return _run_workers(options, zones)


def _notify_ready(status: str) -> None:
    """Tell systemd (a Type=notify unit) that minidns is listening."""
    systemd.notify("READY=1", f"STATUS={status}")


# The signals minidns handles: SIGTERM and SIGINT stop it, SIGHUP reloads the zones.
SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGHUP})


def _run_event_loop(main_coroutine: Coroutine[Any, Any, int]) -> int:
    """Run on uvloop when it is installed, else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main_coroutine)
    return int(uvloop.run(main_coroutine))


def _run_workers(options: Options, zones: ZoneSet) -> int:
    """Fork one process per worker, all on the same ports; pass signals on to them."""
    # A signal that comes before a process's handlers are in place would end it (SIGHUP's and
    # SIGTERM's default action): hold them until then. Each worker lets them in in `_serve`.
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    children: list[int] = []
    started: list[int] = []  # a pipe per worker: one line once it listens, EOF if it failed
    for _ in range(options.workers):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(read_end)
                ready = functools.partial(_tell_parent, write_end)
                code = _run_event_loop(_serve(options, zones, reuse_port=True, ready=ready))
            finally:
                os._exit(code)
        os.close(write_end)
        children.append(pid)
        started.append(read_end)

    def forward(signum: int, _frame: object) -> None:
        if signum != signal.SIGHUP:
            systemd.notify("STOPPING=1")
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    for signum in SIGNALS:
        signal.signal(signum, forward)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
    statuses = [_read_line(read_end) for read_end in started]
    if all(statuses):
        _notify_ready(f"{statuses[0]}, {options.workers} workers")
    status = 0
    for child in children:
        _, wait_status = os.waitpid(child, 0)
        status = status or os.waitstatus_to_exitcode(wait_status)
    return status


def _tell_parent(write_end: int, status: str) -> None:
    os.write(write_end, status.encode() + b"\n")
    os.close(write_end)


def _read_line(read_end: int) -> str:
    """What a worker said once it listened; "" when it ended first."""
    with os.fdopen(read_end, "rb") as pipe:
        return pipe.readline().decode().strip()


async def _serve(
    options: Options, zones: ZoneSet, ready: Callable[[str], None], reuse_port: bool = False
) -> int:
    service = DnsService(
        zones,
        identity=options.identity,
        allow_transfer=options.allow_axfr,
        cache_size=options.cache_size,
    )
    gc.freeze()  # the zones live as long as the process: keep them out of every collection
    limits = options.tcp
    counts: ServerCounts | None = None
    servers: list[ListeningServer] = []
    what, host, port = "metrics", "", 0
    try:
        if options.metrics is not None:
            from minidns.metrics import MinidnsCollector, ServerCounts, serve_metrics

            host, port = options.metrics
            counts = ServerCounts()
            collector = MinidnsCollector(
                counts, lambda: service.zones, service.cache_hits, service.bad_input
            )
            serve_metrics(host, port, collector)
            log.info("metrics on http://%s/metrics", _host_port(host, port))
        what = "DNS"
        for host, port in options.listen:
            server = await serve(
                service,
                host,
                port,
                limits,
                reuse_port=reuse_port,
                udp_threads=options.udp_threads,
                udp_batch=options.udp_batch,
                counts=counts,
            )
            servers.append(server)
            log.info(
                "listening on %s port %d (UDP and TCP), UDP datagrams per system call: %d",
                host,
                server.port,
                server.udp.batch,
            )
    except OSError as error:
        print(f"minidns: {cannot_listen(what, host, port, error)}", file=sys.stderr)
        for server in servers:
            server.close()
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    reloader = Reloader(options, service, counts)
    loop.add_signal_handler(signal.SIGHUP, reloader.request)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)  # held while it started
    log.info("serving %s", _zone_count(zones))
    where = ", ".join(
        f"{host}:{server.port}" for (host, _), server in zip(options.listen, servers, strict=True)
    )
    reporter = BadInputReporter(service.bad_input, loop)
    ready(f"serving {_zone_count(zones)} on {where}")
    await stop.wait()
    systemd.notify("STOPPING=1")
    for server in servers:
        server.close()
    reporter.close()
    log.info("stopped")
    return 0


class BadInputReporter:
    """Logs the bad input seen, one line per kind, at most once per `interval` seconds."""

    def __init__(
        self, counts: BadInputCounts, loop: asyncio.AbstractEventLoop, interval: float = 10.0
    ) -> None:
        self.counts = counts
        self.interval = interval
        self._loop = loop
        self._timer = loop.call_at(loop.time() + interval, self._report)

    def _report(self) -> None:
        self.flush()
        self._timer = self._loop.call_at(self._loop.time() + self.interval, self._report)

    def flush(self) -> None:
        for line in self.counts.report():
            log.warning("%s", line)

    def close(self) -> None:
        """Stop, after a last report."""
        self._timer.cancel()
        self.flush()


def cannot_listen(what: str, host: str, port: int, error: OSError) -> str:
    """Why minidns cannot listen on host:port for `what`, and what to do about it."""
    where = f"cannot listen for {what} on {_host_port(host, port)}: {error.strerror}"
    if error.errno == errno.EADDRNOTAVAIL:
        prefix = 128 if ":" in host else 32
        return (
            f"{where}: no interface of this host has the address {host}. Add it first, "
            f"e.g. `ip address add {host}/{prefix} dev lo` for an anycast address, or listen "
            "on an address the host has (`ip -brief address` lists them)"
        )
    if error.errno == errno.EADDRINUSE:
        return (
            f"{where}: another program already listens there "
            f"(`ss -lntup 'sport = :{port}'` shows which); stop it or choose another port"
        )
    if error.errno == errno.EACCES and port < 1024:
        return (
            f"{where}: ports below 1024 need root or the CAP_NET_BIND_SERVICE capability "
            "(systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE), or choose a port above 1023"
        )
    return where


class Reloader:
    """SIGHUP: every zone is loaded again in a thread of its own while the old ones keep
    serving, and swapped in at once when all have loaded; on any error the old ones stay.

    The queries' threads and the event loop share the interpreter with the loading thread,
    so they answer more slowly meanwhile, never not at all. A SIGHUP during a reload makes
    one more reload follow it, which reads the files as they are then.
    """

    def __init__(
        self, options: Options, service: DnsService, counts: ServerCounts | None = None
    ) -> None:
        self.options = options
        self.service = service
        self.counts = counts
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False

    def request(self) -> None:
        with self._lock:
            if self._thread is not None:
                self._again = True
                log.info("reload asked for during a reload: one more will follow")
                return
            self._thread = threading.Thread(target=self._run, name="reload", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._reload()
            with self._lock:
                if not self._again:
                    self._thread = None
                    return
                self._again = False

    def _reload(self) -> None:
        started = time.monotonic()
        try:
            zones = load_zones(self.options)
        except (ZoneError, OSError) as error:
            log.error("reload failed, still serving the old zones: %s", error)
            if self.counts is not None:
                self.counts.reload_failures += 1
            return
        release(self.service.replace_zones(zones), zones)
        if self.counts is not None:
            self.counts.reloads += 1
        log.info("reloaded %s in %.1f s", _zone_count(zones), time.monotonic() - started)
        systemd.notify(f"STATUS=serving {_zone_count(zones)} (reloaded)")
        gc.freeze()  # the new zones live until the next reload: out of every collection


def release(generation: Generation, serving: ZoneSet) -> None:
    """Let the zones of a generation just replaced go, a slice at a time once no query uses
    them any more (but not those still `serving`): freeing a million names at once would hold
    the interpreter from the queries' threads for a tenth of a second. The caller keeps no
    reference to the generation."""
    deadline = time.monotonic() + 10.0
    # A query holds its generation from start to end; this frame and getrefcount hold two.
    while sys.getrefcount(generation) > 2:
        if time.monotonic() > deadline:
            return  # freed whenever the last user is done
        time.sleep(0.01)
    for zone in generation.zones:
        if zone in serving:
            continue
        nodes = zone.nodes
        while nodes:
            for _ in range(min(len(nodes), 20_000)):
                nodes.popitem()
            time.sleep(0)  # let the queries' threads run


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _zone_count(zones: ZoneSet) -> str:
    return "1 zone" if len(zones) == 1 else f"{len(zones)} zones"
