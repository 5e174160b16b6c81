"""The asyncio shell around minibgp's sans-I/O cores: the speaker's life cycle.

`Speaker(config)` listens, opens the control socket (minibgp.control) and runs one `PeerLink`
(minibgp.transport: a peer's TCP connections around its `Peer` core) per configured peer. It
decides what each peer is sent (minibgp.announcements: the config, health checks, drains) and
moves the drains' and health checks' time. Every core reads one clock: the event loop's.

Signals: SIGTERM (and Ctrl-C) withdraw every route, send Cease / Administrative Shutdown
(RFC 4486 §4) on every session and exit; with `drain_on_sigterm` the routes are first drained
(RFC 8326, minibgp.drain) for `drain_time`, and a second SIGTERM cuts that wait short. SIGHUP
re-reads the config and sends only the difference, or keeps the running config when the new one
is bad. What `show`, `drain` and the other control requests do is minibgp.control's; with
`metrics`, minibgp.metrics serves Prometheus metrics read from the same objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import ipaddress
import logging
import signal
import socket
from pathlib import Path

from minibgp import systemd
from minibgp.announcements import Announcements
from minibgp.bfd.endpoint import BFD_CONTROL_PORT, BfdSessions
from minibgp.bfd.session import BfdEvent, SessionDown, SessionUp
from minibgp.config import Config, ConfigError, Listen, PeerConfig, control_socket_path, load_config
from minibgp.control.commands import Commands
from minibgp.control.server import start_control_server
from minibgp.drain import Drain, DrainPhase, Drains, DrainScope
from minibgp.health.runner import HealthMonitor
from minibgp.metrics import MetricsServer
from minibgp.peer import Peer
from minibgp.router_id import default_router_id, is_on_local_interface, local_addresses
from minibgp.sockets import listening_socket, plain_address
from minibgp.timer import CoreTimer
from minibgp.transport import PeerLink, Transports
from minibgp.wire.errors import CeaseSubcode
from minibgp.wire.nlri import IPAddress

log = logging.getLogger("minibgp")

SHUTDOWN_GRACE = 0.5  # seconds to let the last UPDATEs and the Cease reach the peers


class Speaker:
    """The whole program: peers, listening sockets, control socket, signals."""

    bfd_port = BFD_CONTROL_PORT  # RFC 5881 §4 (tests run BFD on another port)

    def __init__(self, config: Config, trace: bool = False, metrics: Listen | None = None) -> None:
        """`metrics` (else the config's `speaker.metrics`): where to serve Prometheus metrics."""
        self.config = config
        self.trace = trace
        self.metrics_listen = metrics or config.speaker.metrics
        self.metrics: MetricsServer | None = None
        self.router_id = config.speaker.router_id or default_router_id()
        self.links: dict[IPAddress, PeerLink] = {}
        self.announcements = Announcements(config.announcements, [p.address for p in config.peers])
        self.drains = Drains()  # RFC 8326 graceful drains in force (python -m minibgp drain)
        self.bfd: BfdSessions | None = None  # BFD to the peers that have `bfd` set
        self.health: HealthMonitor | None = None  # the [[check]]s of the announcements
        self.transports = Transports()
        self.control_path = control_socket_path(config, self.router_id)
        self._servers: list[asyncio.AbstractServer] = []  # the control socket
        self._listening: list[tuple[socket.socket, asyncio.Task[None]]] = []
        self._stopping: asyncio.Event | None = None
        self._drain_timer: CoreTimer | None = None
        self._drain_progress = asyncio.Event()  # set (and replaced) when a drain moves on

    def now(self) -> float:
        """The clock of every core: the event loop's."""
        return asyncio.get_running_loop().time()

    # -- life cycle ------------------------------------------------------------------------------

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT (SIGHUP reloads); return the exit status."""
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        await self.start()
        systemd.notify(
            "READY=1", f"STATUS=AS {self.config.speaker.asn}, router id {self.router_id}"
        )
        await self._stopping.wait()
        systemd.notify("STOPPING=1")
        if self.config.speaker.drain_on_sigterm:
            await self.drain_before_stop()
        await self.shutdown()
        return 0

    async def start(self) -> None:
        """Listen, open the control socket, start every peer and the health checks."""
        chosen = "" if self.config.speaker.router_id else " (highest local IPv4 address)"
        log.info("minibgp: AS %d, router id %s%s", self.config.speaker.asn, self.router_id, chosen)
        self._drain_timer = CoreTimer(asyncio.get_running_loop(), self._drain_timer_fired)
        self._check_announcements(self.config)
        listening = self._listening_socket(self.config.speaker.listen)
        try:
            self._servers.append(
                await start_control_server(self.control_path, Commands(self).handle)
            )
            log.info("control socket %s", self.control_path)
            if self.metrics_listen is not None:
                self.metrics = self._serve_metrics(self.metrics_listen)
        except OSError:
            if listening is not None:
                listening.close()
            for server in self._servers:  # ours, not another speaker's
                server.close()
                with contextlib.suppress(OSError):
                    self.control_path.unlink()
            raise
        for peer in self.config.peers:
            self._add_link(peer)
        if listening is not None:  # once every peer has its link
            accepting = asyncio.get_running_loop().create_task(self._accept(listening))
            self._listening.append((listening, accepting))
        checked = _checked(self.config)
        if checked:
            log.info("health checks: %s held back until their checks pass", ", ".join(checked))
        self.health = HealthMonitor(list(self.config.checks.values()), checked, self._on_health)
        self.health.start()

    def request_stop(self) -> None:
        """SIGTERM: stop; a second one while draining withdraws without waiting any longer."""
        if self._stopping is None:
            return
        if self._stopping.is_set():
            log.info("stop requested again: withdrawing now")
            if self.drains.skip_wait(now=self.now()):
                log.info("drain: withdrawing without waiting any longer")
                self._drain_changed()
        self._stopping.set()

    async def drain_before_stop(self) -> None:
        """`drain_on_sigterm`: drain every route (RFC 8326) before the shutdown withdraws them;
        at once when no peer has a route of ours."""
        if not any(link.peer.connection.advertised for link in self.links.values()):
            return
        drain_time = self.config.speaker.drain_time
        log.info("stopping: graceful shutdown of every route for %.3g s first (RFC 8326)",
                 drain_time)  # fmt: skip
        await self.drain_done(self.start_drain(DrainScope(), drain_time))

    async def shutdown(self) -> None:
        """Withdraw everything, Cease every session, give the bytes a moment, close."""
        log.info("shutting down: withdrawing routes, Cease / Administrative Shutdown to every peer")
        for server in self._servers:
            server.close()
        for sock, accepting in self._listening:
            accepting.cancel()
            sock.close()
        if self._drain_timer is not None:
            self._drain_timer.cancel()
        for link in self.links.values():
            link.stop()
        if self.bfd is not None:
            self.bfd.close()  # AdminDown to the routers (RFC 5880 §6.8.16)
        if self.health is not None:
            await self.health.close()
        await self.transports.close(SHUTDOWN_GRACE)
        if self.metrics is not None:
            await self.metrics.close()
        with contextlib.suppress(OSError):
            self.control_path.unlink()
        log.info("stopped")

    def reload(self) -> None:
        """SIGHUP: apply a new config, sending only the differences; keep the old one if bad."""
        path = self.config.path
        log.info("SIGHUP: reloading %s", path)
        try:
            new = load_config(path, replacing=self.config)
        except ConfigError as exc:
            log.error("config not reloaded, the running one stays: %s", exc)
            return
        self._check_announcements(new)
        for peer in self.config.peers:
            if new.peer(peer.address) != peer:
                kept = new.peer(peer.address) is not None
                log.info("peer %s: %s, stopping its session", peer.address,
                         "settings changed" if kept else "removed from config")  # fmt: skip
                self._remove_link(peer.address, CeaseSubcode.OTHER_CONFIGURATION_CHANGE
                                  if kept else CeaseSubcode.PEER_DE_CONFIGURED)  # fmt: skip
        self.config = new
        self.announcements.reconfigure(new.announcements, [p.address for p in new.peers])
        if self.health is not None:  # a check that did not change keeps its state
            self.health.reconfigure(list(new.checks.values()), _checked(new))
        for peer in new.peers:
            if peer.address not in self.links:
                self._add_link(peer)
        self.refresh_routes()

    def _check_announcements(self, config: Config) -> None:
        """Warn about announced prefixes no local interface holds: traffic to them is dropped."""
        addresses = local_addresses()
        for announcement in config.announcements:
            if not is_on_local_interface(announcement.prefix, addresses):
                log.warning("%s: announced, but no local interface has an address in it; traffic "
                            "drawn to it will be dropped (add it to a loopback: ip addr add %s "
                            "dev lo)", announcement.prefix, announcement.prefix)  # fmt: skip

    # -- peers, and what each is sent ------------------------------------------------------------

    def _add_link(self, config: PeerConfig) -> None:
        settings = config.session_settings(self.config.speaker.asn, self.router_id, self.trace)
        routes = self.announcements.routes_for(config, self.drains)
        on_session = functools.partial(self._on_session, config) if config.bfd else None
        link = PeerLink(self.transports, config, Peer(settings, routes), on_session)
        self.links[config.address] = link
        link.start()

    def _remove_link(self, address: IPAddress, subcode: int) -> None:
        self.links.pop(address).stop(subcode)
        self._stop_bfd(address)

    def _on_session(self, config: PeerConfig, established: bool) -> None:
        """Run BFD to a peer while its BGP session is Established.

        Not before: a router may replace its BFD session once the TCP connection tells it the
        local address and interface (FRR's bgpd does), and the Down of the new session would
        end one already Up here (RFC 5880 §6.8.6), and the BGP session with it."""
        if not established:
            self._stop_bfd(config.address)
            return
        if config.bfd is None:
            return
        if self.bfd is None:
            self.bfd = BfdSessions(port=self.bfd_port)
        local = str(config.local_address) if config.local_address else None
        on_change = functools.partial(self._on_bfd, config.address)
        self._stop_bfd(config.address)
        self.bfd.add_peer(str(config.address), config.bfd, on_change, local_address=local)

    def _stop_bfd(self, address: IPAddress) -> None:
        """End the BFD session to `address`, if there is one (the peer hears AdminDown)."""
        if self.bfd is not None:
            with contextlib.suppress(KeyError):
                self.bfd.remove_peer(str(address))

    def refresh_routes(self) -> None:
        """Send every peer the difference between what it has and what it is to have."""
        for link in self.links.values():
            link.set_routes(self.announcements.routes_for(link.config, self.drains))

    def _on_bfd(self, address: IPAddress, event: BfdEvent) -> None:
        """BFD saw the path to a peer fail: drop its BGP session now, not at the hold timer."""
        link = self.links.get(address)
        if link is None:
            return
        if isinstance(event, SessionUp):
            log.info("%s: BFD session Up", link.name)
        elif isinstance(event, SessionDown):
            if event.remote_admin_down:  # RFC 5882 §3.2: not a path failure
                log.info("%s: BFD AdminDown from the peer; BGP session left alone", link.name)
                return
            log.warning("%s: BFD session Down (%s): dropping the BGP session", link.name,
                        event.diag.name)  # fmt: skip
            link.reset(CeaseSubcode.BFD_DOWN)  # RFC 9384 §2

    def _on_health(self, prefix: str, up: bool) -> None:
        """A prefix's checks all pass (`up`) or one failed: announce or withdraw it."""
        if up:
            log.info("health: %s passes its checks: announcing", prefix)
        else:
            log.warning("health: %s fails a check: withdrawing", prefix)
        self.announcements.set_health(ipaddress.ip_network(prefix), up)
        self.refresh_routes()

    # -- graceful drain (RFC 8326) ---------------------------------------------------------------

    def start_drain(self, scope: DrainScope, drain_time: float) -> Drain:
        """Announce the routes in `scope` with GRACEFUL_SHUTDOWN now; withdraw them after
        `drain_time` seconds (minibgp.drain)."""
        drain = self.drains.start(scope, drain_time, now=self.now())
        what = ", ".join(scope.to_json()["prefixes"] or ["every route"])
        peers = ", ".join(scope.to_json()["peers"] or ["every peer"])
        if drain.phase is DrainPhase.WITHDRAWN:
            log.info("drain: withdrawing %s (to %s) now", what, peers)
        else:
            log.info("drain: %s (to %s) announced with GRACEFUL_SHUTDOWN 65535:0 (RFC 8326); "
                     "withdrawn in %.3g s", what, peers, drain_time)  # fmt: skip
        self._drain_changed()
        return drain

    def undrain(self) -> None:
        """End every drain: announce the routes normally again."""
        if self.drains:
            log.info("undrain: announcing every route normally again")
            self.drains.clear()
            self._drain_changed()

    async def drain_done(self, drain: Drain) -> bool:
        """Wait until `drain` has withdrawn its routes (True) or was undone by undrain (False)."""
        while drain in self.drains.drains and drain.phase is not DrainPhase.WITHDRAWN:
            await self._drain_progress.wait()
        return drain.phase is DrainPhase.WITHDRAWN

    def _drain_timer_fired(self) -> None:
        if self.drains.handle_timer(now=self.now()):
            log.info("drain: time is up, withdrawing")
        self._drain_changed()

    def _drain_changed(self) -> None:
        """Send the routes as the drains now want them, re-arm the timer, wake the waiters."""
        self.refresh_routes()
        if self._drain_timer is not None:
            self._drain_timer.rearm(self.drains.get_timer())
        self._drain_progress.set()
        self._drain_progress = asyncio.Event()

    # -- listening -------------------------------------------------------------------------------

    def _serve_metrics(self, listen: Listen) -> MetricsServer:
        try:
            server = MetricsServer(listen, self)
        except OSError as exc:
            host = f"[{listen.address}]" if ":" in listen.address else listen.address
            raise OSError(
                f"cannot serve metrics on {host}:{listen.port}: {exc.strerror or exc}"
                + _LISTEN_ADVICE.get(exc.errno or 0, "")
            ) from None
        host = f"[{server.address}]" if ":" in server.address else server.address
        log.info("metrics on http://%s:%d/metrics", host, server.port)
        return server

    def _listening_socket(self, listen: Listen | None) -> socket.socket | None:
        """The socket peers connect to, with their MD5 keys (None: `listen = false`)."""
        if listen is None:
            log.info("not listening (speaker.listen = false): active connections only")
            return None
        keys = [(p.address, p.password) for p in self.config.peers if p.password]
        address = listen.address or "::"
        try:
            if listen.address:
                sock = listening_socket(address, listen.port, dual_stack=False, keys=keys)
            else:
                try:  # one dual-stack socket on [::], or 0.0.0.0 where IPv6 is off
                    sock = listening_socket(address, listen.port, dual_stack=True, keys=keys)
                except OSError as exc:
                    if exc.errno not in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
                        raise
                    log.info("no IPv6 here (%s): listening on IPv4 only", exc.strerror or exc)
                    address = "0.0.0.0"
                    sock = listening_socket(address, listen.port, dual_stack=False, keys=keys)
        except PermissionError as exc:
            raise PermissionError(
                f"cannot listen for BGP on [{address}]:{listen.port}: {exc.strerror}: ports below "
                "1024 need root or the CAP_NET_BIND_SERVICE capability (systemd: "
                "AmbientCapabilities=CAP_NET_BIND_SERVICE), or set speaker.listen = false to "
                "connect out only",
            ) from None
        address, port = sock.getsockname()[:2]
        log.info("listening on [%s]:%d", address, port)
        return sock

    async def _accept(self, listening: socket.socket) -> None:
        """Hand each connection from a peer to the peer's link; close the others."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, peername = await loop.sock_accept(listening)
            except OSError as exc:  # out of file descriptors, for one: try again shortly
                log.warning("cannot accept a connection: %s", exc.strerror or exc)
                await asyncio.sleep(0.1)
                continue
            address = plain_address(peername[0])
            link = self.links.get(address)
            if link is None:
                log.warning("connection from %s, which is not a configured peer: closed", address)
                sock.close()
                continue
            try:
                await link.accept(sock)
            except OSError as exc:
                log.info("%s: connection lost as it was accepted: %s", link.name, exc)
                sock.close()


_LISTEN_ADVICE = {
    errno.EADDRINUSE: " (another process listens there: ss -ltnp)",
    errno.EADDRNOTAVAIL: " (no local interface has that address: ip address)",
    errno.EACCES: " (ports below 1024 need CAP_NET_BIND_SERVICE)",
}


def _checked(config: Config) -> dict[str, tuple[str, ...]]:
    """The announced prefixes that have health checks, and the names of their checks."""
    return {str(a.prefix): a.checks for a in config.announcements if a.checks}


async def run_speaker(config_path: Path, trace: bool = False, metrics: Listen | None = None) -> int:
    """Load the config and run the speaker until it is told to stop."""
    return await Speaker(load_config(config_path), trace=trace, metrics=metrics).run()
