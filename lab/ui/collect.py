"""The loops that watch a running lab and tell the page's `LabView` what they see.

    processes and links   every 0.25 s: the lab's state file (halted nodes, daemons and whether
                          each process runs, is stopped or gone) and each node's interfaces
                          (netlink, in a worker thread)
    routers               FRR's bgpd and bfdd on their vty sockets: BGP sessions, the best path
                          for each anycast prefix, BFD; every 0.25 s, longer with many routers
    servers               minibgp's and minidns's Prometheus metrics in python mode (sessions,
                          BFD, health checks, each prefix's state, drain; queries answered);
                          FRR's bgpd and `pdns_control` (queries answered) in reference mode
    probes                a `ProbeLane` per client and anycast address, every 0.1 s; with many
                          lanes less often, so that they send at most PROBE_RATE queries a
                          second in all, spread over the interval

Nothing runs inside the lab's namespaces: the probes are sockets of this process, the rest is
asked over unix sockets and netlink. `Collector.run()` waits for the lab to be up, watches it
while it is, and notices when it goes down or is brought up again (perhaps with another
topology): each time, `on_view` gets the new view (None while the lab is down).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from ..lab import STATE_ROOT, Lab, LabError, LabState
from ..netns import NETNS_DIR, socket_in
from ..nodes import process_start_time
from ..render import MINIBGP_METRICS_PORT, MINIDNS_METRICS_PORT
from ..te.action import SiteAnnouncement
from ..topology import Announcement, TopologyError
from .namespace import links_of, namespace_identity
from .probes import ProbeLane
from .view import BestPath, Daemon, LabView, ServerStatus, family_name
from .vty import VtyError, vty_commands, vty_json

log = logging.getLogger("lab.ui")

PROCESS_INTERVAL = 0.25
SERVER_INTERVAL = 0.5
ROUTER_INTERVAL = 0.25  # seconds between rounds, plus ROUTER_COST per router
ROUTER_COST = 0.005
CONCURRENCY = 8  # vty requests in flight at once
DNS_PORT = 53
PROBE_INTERVAL = 0.1  # seconds between a lane's queries, unless asked otherwise
PROBE_RATE = 400  # queries a second, all lanes together, unless an interval is asked for
FAMILY_AFI = {"IPv4": "ipv4", "IPv6": "ipv6"}


def process_state(pid: int, start_time: int) -> str:
    """ "running", "stopped" (SIGSTOP: state T) or "gone" (also: the PID was reused)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "gone"
    state = stat.rsplit(") ", 1)[1][:1]
    if state in ("Z", "X") or process_start_time(pid) != start_time:
        return "gone"
    return "stopped" if state in ("T", "t") else "running"


class Collector:
    """Watches the lab `name`; `on_view(view)` is called whenever the lab comes or goes."""

    def __init__(
        self,
        name: str,
        on_view: Callable[[LabView | None], None],
        probe_interval: float | None = None,
        probe_timeout: float = 0.25,
        state_root: Path = STATE_ROOT,
    ) -> None:
        self.name = name
        self.on_view = on_view
        self.probe_interval = probe_interval  # None: PROBE_INTERVAL, or as PROBE_RATE allows
        self.probe_timeout = probe_timeout
        self.state_root = state_root
        self.view: LabView | None = None
        self._pokes: list[asyncio.Event] = []  # one per loop: look again at once
        self._lanes: list[ProbeLane] = []
        self._semaphore = asyncio.Semaphore(CONCURRENCY)

    def poke(self) -> None:
        """Look at everything again now (after an action), not at the next interval."""
        for event in self._pokes:
            event.set()

    @property
    def state_file(self) -> Path:
        return self.state_root / self.name / "state.json"

    def _identity(self, lab: Lab) -> tuple[int | None, ...] | None:
        """The lab's namespaces' inodes (None: the lab is not up)."""
        if not self.state_file.exists():
            return None
        identity = tuple(namespace_identity(lab.prefix + node) for node in lab.topology.nodes)
        return None if None in identity else identity

    async def run(self) -> None:
        """Watch the lab until cancelled."""
        announced_down = False
        try:
            while True:
                lab = self._open_lab()
                identity = self._identity(lab) if lab is not None else None
                if lab is None or identity is None:
                    if not announced_down:
                        self.on_view(None)
                        announced_down = True
                    await asyncio.sleep(0.5)
                    continue
                announced_down = False
                await self._watch(lab, identity)
                self.on_view(None)
                announced_down = True
        finally:
            self._close_lanes()

    def _open_lab(self) -> Lab | None:
        if not self.state_file.exists():
            return None
        try:
            return Lab(self.name, state_root=self.state_root)
        except (LabError, TopologyError, OSError) as error:
            log.warning("lab %s: %s", self.name, error)
            return None

    async def _watch(self, lab: Lab, identity: tuple[int | None, ...]) -> None:
        """Observe the lab until it goes down or is replaced."""
        try:
            mode = LabState.load(self.state_file).mode
        except (OSError, ValueError, KeyError, TypeError):
            return
        view = LabView(self.name, mode, lab.topology)
        self.view = view
        await self._start_lanes(lab, view)
        self.on_view(view)
        tasks = [
            asyncio.create_task(self._loop(self._processes_and_links, lab, view, PROCESS_INTERVAL)),
            asyncio.create_task(self._loop(self._routers, lab, view, self._router_interval(lab))),
            asyncio.create_task(self._loop(self._servers, lab, view, SERVER_INTERVAL)),
        ]
        try:
            while self._identity(lab) == identity:
                await asyncio.sleep(0.25)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._close_lanes()
            self.view = None

    def _router_interval(self, lab: Lab) -> float:
        speakers = [n for n in lab.topology.nodes.values() if n.asn is not None]
        return ROUTER_INTERVAL + ROUTER_COST * len(speakers)

    async def _loop(
        self,
        step: Callable[[Lab, LabView], Awaitable[None]],
        lab: Lab,
        view: LabView,
        interval: float,
    ) -> None:
        poked = asyncio.Event()
        self._pokes.append(poked)
        try:
            while True:
                try:
                    await step(lab, view)
                except asyncio.CancelledError:
                    raise
                except Exception:  # a bug in one observation must not stop the others
                    log.exception("observing lab %s", self.name)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(poked.wait(), interval)
                poked.clear()
        finally:
            self._pokes.remove(poked)

    # --- probes --------------------------------------------------------------------------

    async def _start_lanes(self, lab: Lab, view: LabView) -> None:
        lanes = len(view.lanes)
        interval = self.probe_interval or max(PROBE_INTERVAL, lanes / PROBE_RATE)
        view.probe_interval = interval
        for index, lane in enumerate(view.lanes):
            probe = ProbeLane(
                lab.prefix + lane.client,
                lane.address,
                DNS_PORT,
                interval,
                self.probe_timeout,
                partial(view.add_samples, index),
                offset=interval * index / lanes,  # not all at once
            )
            try:
                await probe.start()
            except OSError as error:
                log.warning("probe from %s to %s: %s", lane.client, lane.address, error)
                continue
            self._lanes.append(probe)

    def _close_lanes(self) -> None:
        for probe in self._lanes:
            probe.close()
        self._lanes.clear()

    # --- processes and links -------------------------------------------------------------

    async def _processes_and_links(self, lab: Lab, view: LabView) -> None:
        try:
            state = LabState.load(self.state_file)
        except (OSError, ValueError, KeyError, TypeError):
            return  # being rewritten, or the lab is going down
        daemons: dict[str, list[Daemon]] = {}
        for daemon in state.daemons:
            status = process_state(daemon.pid, daemon.start_time)
            daemons.setdefault(daemon.node, []).append(Daemon(daemon.name, status))
        view.observe_processes(state.halted, daemons)
        view.observe_announcements(
            {site: _site_announcement(fields) for site, fields in state.announcements.items()}
        )
        namespaces = {node: lab.prefix + node for node in lab.topology.nodes}
        interfaces = await asyncio.to_thread(_all_links, namespaces)
        for node, links in interfaces.items():
            view.observe_interfaces(node, links)

    # --- routers -------------------------------------------------------------------------

    async def _routers(self, lab: Lab, view: LabView) -> None:
        routers = [n.name for n in lab.topology.of_role("router")]
        await asyncio.gather(*(self._router(lab, view, router) for router in routers))

    async def _router(self, lab: Lab, view: LabView, router: str) -> None:
        """Its sessions and best paths: three commands on one connection to its bgpd."""
        prefixes = _anycast_prefixes(lab)
        commands = ["show bgp summary json"] + [
            f"show bgp {FAMILY_AFI[family]} unicast {prefix} json"
            for family, prefix in prefixes.items()
        ]
        async with self._semaphore:
            try:
                outputs = await vty_commands(lab.run_dir(router) / "bgpd.vty", commands)
            except VtyError:
                outputs = []
        answers = [_json(output) for output in outputs] or [None] * len(commands)
        view.observe_sessions(router, _frr_sessions(view, answers[0]))
        for family, answer in zip(prefixes, answers[1:], strict=True):
            view.observe_best_path(router, family, _frr_best_path(answer))

    # --- servers -------------------------------------------------------------------------

    async def _servers(self, lab: Lab, view: LabView) -> None:
        servers = [n.name for n in lab.topology.of_role("server")]
        now = asyncio.get_running_loop().time()
        results = await asyncio.gather(*(self._server(lab, view, s) for s in servers))
        for server, status in zip(servers, results, strict=True):
            view.observe_server(server, status, now=now)

    async def _server(self, lab: Lab, view: LabView, server: str) -> ServerStatus | None:
        run_dir = lab.run_dir(server)
        if view.mode == "python":
            bgp, dns = await asyncio.gather(
                scrape(lab.prefix + server, MINIBGP_METRICS_PORT, MINIBGP_SHOWN),
                scrape(lab.prefix + server, MINIDNS_METRICS_PORT, ("minidns_queries_total",)),
            )
            if not bgp:
                view.observe_sessions(server, None)
                return None
            status = _minibgp_status(view, server, bgp)
            status.queries = _sum(dns, "minidns_queries_total")
            return status
        try:
            summary = await vty_json(run_dir / "bgpd.vty", "show bgp summary json")
        except VtyError:
            summary = None
        view.observe_sessions(server, _frr_sessions(view, summary))
        status = ServerStatus(queries=await _pdns_queries(run_dir))
        try:
            [config] = await vty_commands(run_dir / "bgpd.vty", ["show running-config"])
            status.drain = "graceful-shutdown" if "bgp graceful-shutdown" in config else "none"
        except VtyError:
            status.drain = "none"
        return status


def _all_links(namespaces: dict[str, str]) -> dict[str, Any]:
    """Each node's interfaces (None for a namespace that cannot be read), in a worker thread."""
    found: dict[str, Any] = {}
    for node, namespace in namespaces.items():
        if not (NETNS_DIR / namespace).exists():
            found[node] = None
            continue
        try:
            found[node] = links_of(namespace)
        except OSError:
            found[node] = None
    return found


def _anycast_prefixes(lab: Lab) -> dict[str, str]:
    """The anycast prefix of each family, by the page's name of the family."""
    return {family_name(p.version): str(p) for p in lab.topology.service.prefixes}


def _site_announcement(fields: dict[str, Any]) -> SiteAnnouncement:
    """A site's announcement as the lab's state file records what `lab te` changed."""
    attributes = {key: value for key, value in fields.items() if key != "withdrawn"}
    attributes["communities"] = tuple(attributes.get("communities", ()))
    return SiteAnnouncement(Announcement(**attributes), bool(fields.get("withdrawn")))


def _json(text: str) -> Any:
    """A vty command's JSON output (None: not JSON)."""
    try:
        return json.loads(text) if text.strip() else {}
    except ValueError:
        return None


def _frr_sessions(view: LabView, summary: Any) -> dict[str, str] | None:
    """Peer node -> BGP state, from bgpd's `show bgp summary json` (every address family);
    None: no answer."""
    if summary is None:
        return None
    sessions: dict[str, str] = {}
    for family in summary.values() if isinstance(summary, dict) else []:
        for address, peer in (family.get("peers") or {}).items():
            node = view.topology_owner(address) or address
            sessions[node] = str(peer.get("state", "?"))
    return sessions


def _frr_best_path(answer: Any) -> BestPath | None:
    """The selected path in bgpd's `show bgp AFI unicast PREFIX json` (None: no route)."""
    paths = answer.get("paths", []) if isinstance(answer, dict) else []
    for path in paths:
        best = path.get("bestpath", {})
        if best.get("overall"):
            hops = path.get("nexthops") or [{}]
            return BestPath(
                next_hop=str(hops[0].get("ip", "")),
                as_path=str(path.get("aspath", {}).get("string", "")),
                internal=path.get("peer", {}).get("type") == "internal",
                paths=len(paths),
                reason=str(best.get("selectionReason", "")),
            )
    return None


def _minibgp_status(view: LabView, server: str, samples: list[MetricSample]) -> ServerStatus:
    """A python-mode server as its minibgp's metrics say (docs/metrics.md)."""
    sessions: dict[str, str] = {}
    status = ServerStatus()
    for name, labels, value in samples:
        if name == "minibgp_check_passing":
            status.checks[labels["check"]] = "passing" if value else "failing"
        elif value != 1:
            continue
        elif name == "minibgp_peer_state":
            sessions[view.topology_owner(labels["peer"]) or labels["peer"]] = labels["state"]
        elif name == "minibgp_bfd_state":
            status.bfd[view.topology_owner(labels["peer"]) or labels["peer"]] = labels["state"]
        elif name == "minibgp_prefix_state":
            status.prefixes[labels["prefix"]] = labels["state"]
    view.observe_sessions(server, sessions)
    states = set(status.prefixes.values())
    if "drained" in states:
        status.drain = "withdrawn"
    elif "graceful_shutdown" in states:
        status.drain = "graceful-shutdown"
    return status


MetricSample = tuple[str, dict[str, str], float]  # name, labels, value


MINIBGP_SHOWN = (  # the metrics of minibgp the page shows
    "minibgp_peer_state", "minibgp_bfd_state", "minibgp_check_passing", "minibgp_prefix_state",
)  # fmt: skip


async def scrape(
    namespace: str, port: int, names: tuple[str, ...], timeout: float = 1.0
) -> list[MetricSample]:
    """The samples of the metrics `names` from a Prometheus endpoint on 127.0.0.1:`port` inside
    `namespace`, read with prometheus-client's parser; [] when unreachable or unreadable."""
    try:
        sock = socket_in(namespace, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return []
    try:
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), timeout)
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        data = await asyncio.wait_for(reader.read(), timeout)
        writer.close()
    except (OSError, TimeoutError):
        sock.close()
        return []
    _, _, body = data.partition(b"\r\n\r\n")
    # Only the lines of those metrics go to the parser (it reads a character at a time).
    wanted = tuple(f"{name}{{".encode() for name in names) + tuple(
        f"{name} ".encode() for name in names
    )
    lines = b"\n".join(line for line in body.splitlines() if line.startswith(wanted))
    try:
        return [
            (sample.name, sample.labels, sample.value)
            for family in text_string_to_metric_families(lines.decode(errors="replace") + "\n")
            for sample in family.samples
        ]
    except ValueError:  # not an exposition: something else answers on that port
        return []


def _sum(samples: list[MetricSample], name: str) -> float | None:
    """The sum of every sample of one metric (None: the metric is not there)."""
    values = [value for sample, _, value in samples if sample == name]
    return sum(values) if values else None


async def _pdns_queries(run_dir: Path) -> float | None:
    """PowerDNS's count of queries (UDP and TCP) from its control socket."""
    try:
        process = await asyncio.create_subprocess_exec(
            "pdns_control", f"--socket-dir={run_dir}", "show", "*",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(process.communicate(), 2.0)
    except (OSError, TimeoutError):
        return None
    counters = dict(
        item.split("=", 1)
        for item in out.decode(errors="replace").strip().split(",")
        if "=" in item
    )
    try:
        return float(int(counters.get("udp-queries", 0)) + int(counters.get("tcp-queries", 0)))
    except ValueError:
        return None
