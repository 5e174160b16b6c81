"""Prometheus metrics of minibgp (`--metrics ADDR:PORT` or `speaker.metrics`, off by default).

Nothing is kept for them: when Prometheus scrapes, `MinibgpCollector` reads the speaker's
sans-I/O objects — each peer's `Peer` and its Connections, the announcements and drains, the BFD
sessions, the health checks — and builds the metric families from what they hold. The only
counts added for metrics are those that must outlive a Connection (`minibgp.peer.PeerCounts`).
prometheus-client serves /metrics from a thread of its own; the reading itself is done on the
event loop's thread (`call_soon_threadsafe`), between two events, so it never sees an object
half-changed.

    minibgp_info{asn, router_id}                             1
    minibgp_peer_info{peer, asn, description}                1 per configured peer
    minibgp_peer_state{peer, state}                          1 for the FSM state (RFC 4271 §8)
    minibgp_peer_uptime_seconds{peer}                        since Established; 0 when not
    minibgp_peer_established_total{peer}                     sessions that reached Established
    minibgp_peer_messages_{sent,received}_total{peer, type}  messages by type
    minibgp_peer_notifications_{sent,received}_total{peer, code, subcode, name}
    minibgp_peer_prefixes_{received,advertised}{peer, afi, safi}
    minibgp_bfd_state{peer, state}                           1 for the state (RFC 5880 §4.1)
    minibgp_bfd_detection_time_seconds{peer}, minibgp_bfd_transmit_interval_seconds{peer}
    minibgp_bfd_packets_dropped_total{reason}
    minibgp_check_passing{check}, minibgp_check_last_latency_seconds{check},
    minibgp_check_probes_total{check, result}, minibgp_check_transitions_total{check}
    minibgp_prefix_state{prefix, source, state}              1, one series a prefix
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import ipaddress
import logging
from collections.abc import Iterator, Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from minibgp.announcements import Announcements
from minibgp.bfd.endpoint import BfdSessions
from minibgp.bfd.packet import State as BfdState
from minibgp.config import Config, Listen, PeerConfig
from minibgp.drain import Drains
from minibgp.fsm import State
from minibgp.health.runner import HealthMonitor
from minibgp.peer import Peer
from minibgp.wire.errors import error_name
from minibgp.wire.header import MessageType
from minibgp.wire.nlri import AFI, SAFI, IPAddress

log = logging.getLogger("minibgp")

SCRAPE_TIMEOUT = 5.0  # seconds a scrape waits for the event loop to read the speaker
IPV4_UNICAST, IPV6_UNICAST = (AFI.IPV4, SAFI.UNICAST), (AFI.IPV6, SAFI.UNICAST)
MESSAGE_TYPES = tuple(t.name for t in MessageType)  # each one counted from 0
BFD_STATES = {  # RFC 5880 §4.1
    BfdState.ADMIN_DOWN: "AdminDown",
    BfdState.DOWN: "Down",
    BfdState.INIT: "Init",
    BfdState.UP: "Up",
}


class Link(Protocol):
    """One configured peer, as the speaker holds it."""

    @property
    def config(self) -> PeerConfig: ...
    @property
    def peer(self) -> Peer: ...


class Observed(Protocol):
    """What the metrics read of a running speaker (minibgp.speaker.Speaker)."""

    config: Config
    router_id: ipaddress.IPv4Address
    announcements: Announcements
    drains: Drains
    bfd: BfdSessions | None
    health: HealthMonitor | None

    @property
    def links(self) -> Mapping[IPAddress, Link]: ...
    def now(self) -> float: ...


class MinibgpCollector:
    """Reads the speaker on its event loop when Prometheus scrapes."""

    def __init__(self, speaker: Observed, loop: asyncio.AbstractEventLoop) -> None:
        self.speaker = speaker
        self.loop = loop

    def collect(self) -> Iterator[Metric]:
        """prometheus-client's thread: the families, as read on the event loop's thread."""
        future: concurrent.futures.Future[list[Metric]] = concurrent.futures.Future()

        def read() -> None:
            if not future.set_running_or_notify_cancel():
                return  # the scrape gave up waiting
            try:
                future.set_result(self.families(now=self.speaker.now()))
            except Exception as exc:  # a bug here must not take the speaker down
                log.exception("metrics: reading the speaker failed")
                future.set_exception(exc)

        try:
            self.loop.call_soon_threadsafe(read)
        except RuntimeError:  # the loop is closed: the speaker is stopping
            return
        try:
            families = future.result(SCRAPE_TIMEOUT)
        except TimeoutError:
            future.cancel()
            log.warning("metrics: the speaker was busy for %g s; scrape answered without its "
                        "metrics", SCRAPE_TIMEOUT)  # fmt: skip
            return
        yield from families

    def families(self, *, now: float) -> list[Metric]:
        """Every metric family, read from the speaker now (on the event loop's thread)."""
        speaker = self.speaker
        info = GaugeMetricFamily(
            "minibgp_info", "The speaker: its AS and BGP Identifier.", labels=["asn", "router_id"]
        )
        info.add_metric([str(speaker.config.speaker.asn), str(speaker.router_id)], 1)
        return [
            info,
            *self._peers(now=now),
            *self._bfd(),
            *self._checks(),
            self._prefixes(),
        ]

    def _peers(self, *, now: float) -> Iterator[Metric]:
        peer_info = GaugeMetricFamily(
            "minibgp_peer_info", "A configured peer: its AS and description.",
            labels=["peer", "asn", "description"],
        )  # fmt: skip
        state = GaugeMetricFamily(
            "minibgp_peer_state",
            "1 for the BGP session's state (RFC 4271 §8: Idle, Connect, Active, OpenSent, "
            "OpenConfirm, Established), 0 for the others.",
            labels=["peer", "state"],
        )
        uptime = GaugeMetricFamily(
            "minibgp_peer_uptime_seconds",
            "Seconds since the session reached Established; 0 while it is not.",
            labels=["peer"],
        )
        established = CounterMetricFamily(
            "minibgp_peer_established",
            "Sessions with the peer that reached Established.",
            labels=["peer"],
        )
        sent = CounterMetricFamily(
            "minibgp_peer_messages_sent", "BGP messages sent, by type.", labels=["peer", "type"]
        )
        received = CounterMetricFamily(
            "minibgp_peer_messages_received",
            "BGP messages received, by type.",
            labels=["peer", "type"],
        )
        notifications_sent = CounterMetricFamily(
            "minibgp_peer_notifications_sent",
            "NOTIFICATIONs sent, by error code and subcode (RFC 4271 §4.5), with their name.",
            labels=["peer", "code", "subcode", "name"],
        )
        notifications_received = CounterMetricFamily(
            "minibgp_peer_notifications_received",
            "NOTIFICATIONs received, by error code and subcode (RFC 4271 §4.5), with their name.",
            labels=["peer", "code", "subcode", "name"],
        )
        prefixes_received = GaugeMetricFamily(
            "minibgp_peer_prefixes_received",
            "Prefixes the peer has sent us and not withdrawn (its Adj-RIB-In), by family.",
            labels=["peer", "afi", "safi"],
        )
        prefixes_advertised = GaugeMetricFamily(
            "minibgp_peer_prefixes_advertised",
            "Prefixes advertised to the peer on the session now, by family.",
            labels=["peer", "afi", "safi"],
        )
        for link in self.speaker.links.values():
            config, peer = link.config, link.peer
            address = str(config.address)
            connection = peer.connection
            peer_info.add_metric([address, str(config.asn), config.description], 1)
            for each in State:
                state.add_metric([address, each.value], int(connection.state is each))
            uptime.add_metric([address], connection.uptime(now=now) or 0.0)
            established.add_metric([address], peer.counts.established)
            messages_sent, messages_received = peer.message_counts()
            for kind in MESSAGE_TYPES:
                sent.add_metric([address, kind], messages_sent[kind])
                received.add_metric([address, kind], messages_received[kind])
            for family, counts in (
                (notifications_sent, peer.counts.notifications_sent),
                (notifications_received, peer.counts.notifications_received),
            ):
                for (code, subcode), count in sorted(counts.items()):
                    family.add_metric(
                        [address, str(code), str(subcode), error_name(code, subcode)], count
                    )
            negotiated = connection.negotiated
            advertised = connection.advertised
            ipv6 = sum(prefix.version == 6 for prefix in advertised)
            counted = {IPV4_UNICAST: len(advertised) - ipv6, IPV6_UNICAST: ipv6}
            families = {*(negotiated.families if negotiated else ()), *peer.rib_in.families()}
            families.update(family for family, count in counted.items() if count)
            for afi, safi in sorted(families):
                labels = [address, _afi_name(afi), _safi_name(safi)]
                prefixes_received.add_metric(labels, peer.rib_in.count((afi, safi)))
                prefixes_advertised.add_metric(labels, counted.get((afi, safi), 0))
        yield from (peer_info, state, uptime, established, sent, received)
        yield from (notifications_sent, notifications_received)
        yield from (prefixes_received, prefixes_advertised)

    def _bfd(self) -> Iterator[Metric]:
        bfd = self.speaker.bfd
        if bfd is None:
            return
        state = GaugeMetricFamily(
            "minibgp_bfd_state",
            "1 for the BFD session's state (RFC 5880 §4.1: AdminDown, Down, Init, Up), 0 for "
            "the others.",
            labels=["peer", "state"],
        )
        detection = GaugeMetricFamily(
            "minibgp_bfd_detection_time_seconds",
            "Seconds without a packet from the peer before the session goes down "
            "(RFC 5880 §6.8.4); absent until the peer has been heard.",
            labels=["peer"],
        )
        transmit = GaugeMetricFamily(
            "minibgp_bfd_transmit_interval_seconds",
            "Seconds between the packets we send, before jitter (RFC 5880 §6.8.7).",
            labels=["peer"],
        )
        for bfd_peer in bfd.peers:
            session = bfd_peer.session
            for each, name in BFD_STATES.items():
                state.add_metric([bfd_peer.address, name], int(session.state == each))
            if session.detection_time is not None:
                detection.add_metric([bfd_peer.address], session.detection_time)
            transmit.add_metric([bfd_peer.address], session.transmit_interval)
        dropped = CounterMetricFamily(
            "minibgp_bfd_packets_dropped",
            "BFD packets discarded, by reason (ttl: not 255, RFC 5881 §5; malformed; no "
            "session; discarded by session).",
            labels=["reason"],
        )
        for reason, count in sorted(bfd.dropped().items()):
            dropped.add_metric([reason.replace(" ", "_")], count)
        yield from (state, detection, transmit, dropped)

    def _checks(self) -> Iterator[Metric]:
        health = self.speaker.health
        if health is None:
            return
        passing = GaugeMetricFamily(
            "minibgp_check_passing", "1 while the health check passes, 0 while it fails.",
            labels=["check"],
        )  # fmt: skip
        latency = GaugeMetricFamily(
            "minibgp_check_last_latency_seconds",
            "Seconds the check's last probe took (its timeout when it got no answer).",
            labels=["check"],
        )
        probes = CounterMetricFamily(
            "minibgp_check_probes", "Probes of the check, by result (passed, failed).",
            labels=["check", "result"],
        )  # fmt: skip
        transitions = CounterMetricFamily(
            "minibgp_check_transitions",
            "Times the check went from passing to failing or back.",
            labels=["check"],
        )
        for name, check in health.state.checks.items():
            passing.add_metric([name], int(check.passing))
            if check.last_latency is not None:
                latency.add_metric([name], check.last_latency)
            probes.add_metric([name, "passed"], check.probes_passed)
            probes.add_metric([name, "failed"], check.probes_failed)
            transitions.add_metric([name], check.transitions)
        yield from (passing, latency, probes, transitions)

    def _prefixes(self) -> Metric:
        speaker = self.speaker
        announcements = speaker.announcements
        family = GaugeMetricFamily(
            "minibgp_prefix_state",
            "1, with the prefix's state: announced; graceful_shutdown (drained, announced with "
            "65535:0); drained (withdrawn by a drain); held_back (a health check fails); "
            "withdrawn (at runtime). source: config, or runtime when changed at runtime.",
            labels=["prefix", "source", "state"],
        )
        # One series a prefix, not one a state: a speaker may announce many prefixes.
        runtime = announcements.runtime
        for prefix in {**announcements.configured, **runtime}:
            state = announcements.prefix_state(prefix, speaker.drains).value
            family.add_metric([str(prefix), "runtime" if prefix in runtime else "config", state], 1)
        return family


def _afi_name(afi: int) -> str:
    try:
        return AFI(afi).name.lower()
    except ValueError:
        return str(afi)


def _safi_name(safi: int) -> str:
    try:
        return SAFI(safi).name.lower()
    except ValueError:
        return str(safi)


class MetricsServer:
    """/metrics over HTTP, served by prometheus-client from a thread of its own; the speaker is
    read on the running event loop."""

    def __init__(self, listen: Listen, speaker: Observed) -> None:
        """Listen on `listen` ("" as the address: every address; port 0: any free port);
        OSError if that cannot be done."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(MinibgpCollector(speaker, asyncio.get_running_loop()))
        address = listen.address
        try:
            self._server, _ = start_http_server(
                listen.port, addr=address or "::", registry=registry
            )
        except OSError as exc:
            if address or exc.errno not in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
                raise
            self._server, _ = start_http_server(listen.port, addr="0.0.0.0", registry=registry)
        self.address: str = str(self._server.server_address[0])
        self.port: int = int(self._server.server_address[1])

    async def close(self) -> None:
        """Stop serving (prometheus-client's loop notices within half a second)."""
        await asyncio.to_thread(self._server.shutdown)
        self._server.server_close()
