"""minibgp's Prometheus metrics: read from the sans-I/O objects on a fake clock, written by
prometheus-client and read back with its parser; served over HTTP by a running speaker."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, ip_network
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families

from minibgp import metrics
from minibgp.announcements import Announcements, Change
from minibgp.bfd.packet import State as BfdState
from minibgp.bfd.session import Session, SessionParameters
from minibgp.config import Config, ConfigError, Listen, PeerConfig, load_config, parse_config
from minibgp.control import request
from minibgp.drain import Drains, DrainScope
from minibgp.health.runner import HealthMonitor
from minibgp.metrics import MetricsServer, MinibgpCollector
from minibgp.peer import Peer
from minibgp.speaker import Speaker
from minibgp.wire.errors import CeaseSubcode, ErrorCode
from tests.minibgp.loopback import A, B, config_text, free_port, until
from tests.minibgp.test_peer import Network, router

CONFIG = """\
[speaker]
asn = 64520
router_id = "192.168.57.100"

[[peer]]
address = "192.168.57.10"
asn = 4290001234
description = "router1"
hold_time = 9

[[check]]
name = "dns"
kind = "dns"
target = "169.254.0.1:53"
query = "example.com. SOA"
rise = 1
fall = 1

[[announce]]
prefix = "169.254.0.1/32"
checks = ["dns"]

[[announce]]
prefix = "2001:db8:53::1/128"
"""
PEER = "192.168.57.10"
ROUTER_ID = IPv4Address("192.168.57.100")


@dataclass
class Link:
    config: PeerConfig
    peer: Peer


@dataclass
class FakeSpeaker:
    """What the collector reads, as a Speaker holds it, on a fake clock."""

    config: Config
    announcements: Announcements
    links: dict[Any, Link]
    health: HealthMonitor | None
    drains: Drains = field(default_factory=Drains)
    bfd: Any = None
    router_id: IPv4Address = ROUTER_ID
    clock: float = 0.0

    def now(self) -> float:
        return self.clock

    def refresh(self) -> None:
        """What Speaker.refresh_routes does: each peer gets what it is to have now."""
        for link in self.links.values():
            routes = self.announcements.routes_for(link.config, self.drains)
            link.peer.set_routes(routes, now=self.clock)


def speaker_and_router() -> tuple[FakeSpeaker, Peer, Network]:
    """minibgp as server1 and a router, their session up (passive router) on a fake clock."""
    config = parse_config(CONFIG, Path("server1.toml"))
    (peer_config,) = config.peers
    announcements = Announcements(config.announcements, [peer_config.address])
    checked = {str(a.prefix): a.checks for a in config.announcements if a.checks}
    health = HealthMonitor(list(config.checks.values()), checked, lambda prefix, up: None)
    settings = peer_config.session_settings(64520, IPv4Address("192.168.57.100"))
    peer = Peer(settings, announcements.routes_for(peer_config, Drains()))
    speaker = FakeSpeaker(
        config, announcements, {peer_config.address: Link(peer_config, peer)}, health
    )
    other = router(passive=True)
    network = Network(peer, other)
    peer.start(now=0.0)
    other.start(now=0.0)
    network.settle()
    return speaker, other, network


class _Now:
    def __init__(self, speaker: FakeSpeaker) -> None:
        self.collector = MinibgpCollector(speaker, asyncio.new_event_loop())
        self.speaker = speaker

    def collect(self) -> Iterator[Metric]:
        yield from self.collector.families(now=self.speaker.now())


def scrape(speaker: FakeSpeaker) -> dict[str, float]:
    """The exposition as prometheus-client writes it, read back: 'name{label="value",...}' →
    value, labels sorted."""
    registry = CollectorRegistry(auto_describe=False)
    now = _Now(speaker)
    registry.register(now)
    try:
        text = generate_latest(registry).decode()
    finally:
        now.collector.loop.close()
    return parse(text)


def parse(text: str) -> dict[str, float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def test_a_session_its_messages_and_prefixes() -> None:
    speaker, other, network = speaker_and_router()
    network.advance(20)  # keepalives
    speaker.clock = network.now
    samples = scrape(speaker)
    assert samples['minibgp_info{asn="64520",router_id="192.168.57.100"}'] == 1
    assert (
        samples[f'minibgp_peer_info{{asn="4290001234",description="router1",peer="{PEER}"}}'] == 1
    )
    states = {k: v for k, v in samples.items() if k.startswith("minibgp_peer_state")}
    assert len(states) == 6 and sum(states.values()) == 1
    assert samples[f'minibgp_peer_state{{peer="{PEER}",state="Established"}}'] == 1
    assert samples[f'minibgp_peer_uptime_seconds{{peer="{PEER}"}}'] == 20.0
    assert samples[f'minibgp_peer_established_total{{peer="{PEER}"}}'] == 1
    # what we sent is what the router received, type by type
    for kind, count in other.connection.messages_received.items():
        assert samples[f'minibgp_peer_messages_sent_total{{peer="{PEER}",type="{kind}"}}'] == count
    assert samples[f'minibgp_peer_messages_sent_total{{peer="{PEER}",type="ROUTE_REFRESH"}}'] == 0
    assert samples[f'minibgp_peer_messages_received_total{{peer="{PEER}",type="KEEPALIVE"}}'] > 2
    # the router's /24 in; no IPv4 prefix out while the check has not passed; the /128 out
    for afi, received, advertised in (("ipv4", 1, 0), ("ipv6", 0, 1)):
        labels = f'afi="{afi}",peer="{PEER}",safi="unicast"'
        assert samples[f"minibgp_peer_prefixes_received{{{labels}}}"] == received
        assert samples[f"minibgp_peer_prefixes_advertised{{{labels}}}"] == advertised


def test_notifications_by_code_and_subcode_and_sessions_counted() -> None:
    speaker, other, network = speaker_and_router()
    other.stop(now=network.now)  # Cease / Administrative Shutdown from the router
    network.pump()
    network.advance(10)  # our back-off, then our connection: the router is stopped, refused
    other.start(now=network.now)
    network.advance(130)  # a retry gets through, the session comes up again
    speaker.clock = network.now
    samples = scrape(speaker)
    cease = f'code="6",name="Cease / Administrative Shutdown",peer="{PEER}",subcode="2"'
    assert samples[f"minibgp_peer_notifications_received_total{{{cease}}}"] == 1
    assert not any(k.startswith("minibgp_peer_notifications_sent") for k in samples)
    assert samples[f'minibgp_peer_established_total{{peer="{PEER}"}}'] == 2
    assert samples[f'minibgp_peer_state{{peer="{PEER}",state="Established"}}'] == 1


def test_message_counts_outlive_the_connection_that_lost_a_collision() -> None:
    """Both sides connect at once (RFC 4271 §6.8): one connection goes, its counts stay."""
    config = parse_config(CONFIG, Path("server1.toml"))
    (peer_config,) = config.peers
    settings = peer_config.session_settings(64520, IPv4Address("192.168.57.100"))
    peer = Peer(settings, [])
    speaker = FakeSpeaker(
        config, Announcements(()), {peer_config.address: Link(peer_config, peer)}, None
    )
    network = Network(peer, router())
    peer.start(now=0.0)
    network.b.start(now=0.0)
    network.pump()
    network.complete_connects(crossing=True)
    assert peer.candidate is None
    samples = scrape(speaker)
    assert samples[f'minibgp_peer_messages_sent_total{{peer="{PEER}",type="OPEN"}}'] == 2
    assert samples[f'minibgp_peer_messages_received_total{{peer="{PEER}",type="OPEN"}}'] == 2
    collision = (ErrorCode.CEASE, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION)
    sent = sum(
        v
        for k, v in samples.items()
        if k.startswith("minibgp_peer_notifications_sent") and 'subcode="7"' in k
    )
    received = sum(
        v
        for k, v in samples.items()
        if k.startswith("minibgp_peer_notifications_received") and 'subcode="7"' in k
    )
    assert collision in network.notifications and sent + received == 1


def test_checks_and_prefix_states() -> None:
    speaker, _, network = speaker_and_router()
    assert speaker.health is not None
    state = speaker.health.state
    samples = scrape(speaker)
    assert samples['minibgp_check_passing{check="dns"}'] == 0
    assert 'minibgp_check_last_latency_seconds{check="dns"}' not in samples  # no probe yet
    held = 'prefix="169.254.0.1/32",source="config",state="held_back"'
    assert samples[f"minibgp_prefix_state{{{held}}}"] == 1
    (probe,) = state.probes_to_start(now=1.0)
    state.probe_result("dns", probe.probe_id, True, latency=0.0042, now=1.01)
    speaker.announcements.set_health(ip_network("169.254.0.1/32"), True)
    speaker.refresh()
    network.pump()
    samples = scrape(speaker)
    assert samples['minibgp_check_passing{check="dns"}'] == 1
    assert samples['minibgp_check_last_latency_seconds{check="dns"}'] == 0.0042
    assert samples['minibgp_check_probes_total{check="dns",result="passed"}'] == 1
    assert samples['minibgp_check_probes_total{check="dns",result="failed"}'] == 0
    assert samples['minibgp_check_transitions_total{check="dns"}'] == 1
    v4 = 'afi="ipv4",peer="192.168.57.10",safi="unicast"'
    assert samples[f"minibgp_peer_prefixes_advertised{{{v4}}}"] == 1

    def prefix_state(prefix: str) -> tuple[str, str]:
        """The one series of `prefix`: its source and state."""
        (key,) = [
            k for k in scrape(speaker) if k.startswith(f'minibgp_prefix_state{{prefix="{prefix}"')
        ]
        assert scrape(speaker)[key] == 1
        labels = dict(part.split("=") for part in key[key.index("{") + 1 : -1].split(","))
        return labels["source"].strip('"'), labels["state"].strip('"')

    assert prefix_state("169.254.0.1/32") == ("config", "announced")
    speaker.drains.start(DrainScope(), 2.0, now=speaker.clock)
    assert prefix_state("169.254.0.1/32") == ("config", "graceful_shutdown")
    speaker.drains.skip_wait(now=speaker.clock)
    assert prefix_state("2001:db8:53::1/128") == ("config", "drained")
    speaker.drains.clear()
    speaker.announcements.withdraw(ip_network("169.254.0.1/32"))
    assert prefix_state("169.254.0.1/32") == ("runtime", "withdrawn")
    speaker.announcements.announce(ip_network("192.0.2.0/24"), Change(med=5))
    assert prefix_state("192.0.2.0/24") == ("runtime", "announced")


@dataclass
class FakeBfd:
    peers: list[Any]

    def dropped(self) -> dict[str, int]:
        return {"ttl": 3, "no session": 1}


@dataclass
class FakeBfdPeer:
    address: str
    session: Session


def test_bfd_state_timers_and_drops() -> None:
    speaker, _, _ = speaker_and_router()
    session = Session(local_discriminator=1, parameters=SessionParameters(100_000, 100_000, 3))
    speaker.bfd = FakeBfd([FakeBfdPeer(PEER, session)])
    samples = scrape(speaker)
    assert samples[f'minibgp_bfd_state{{peer="{PEER}",state="Down"}}'] == 1
    assert samples[f'minibgp_bfd_state{{peer="{PEER}",state="Up"}}'] == 0
    assert f'minibgp_bfd_detection_time_seconds{{peer="{PEER}"}}' not in samples  # not heard
    assert (
        samples[f'minibgp_bfd_transmit_interval_seconds{{peer="{PEER}"}}'] == 1.0
    )  # RFC 5880 §6.8.3
    assert samples['minibgp_bfd_packets_dropped_total{reason="ttl"}'] == 3
    assert samples['minibgp_bfd_packets_dropped_total{reason="no_session"}'] == 1
    peer_session = Session(local_discriminator=2, parameters=SessionParameters(100_000, 100_000, 3))
    for now in (0.0, 0.01, 0.02):  # three packets each way: Down → Init → Up
        for data in peer_session.packets_to_send(now=now):
            session.receive_packet(data, now=now)
        for data in session.packets_to_send(now=now):
            peer_session.receive_packet(data, now=now)
    assert session.state == BfdState.UP
    samples = scrape(speaker)
    assert samples[f'minibgp_bfd_state{{peer="{PEER}",state="Up"}}'] == 1
    assert samples[f'minibgp_bfd_detection_time_seconds{{peer="{PEER}"}}'] == pytest.approx(0.3)


# --- served by a running speaker -----------------------------------------------------------------


async def test_a_running_speaker_serves_its_metrics(tmp_path: Path) -> None:
    ports = (free_port(A), free_port(B))
    a_path, b_path = tmp_path / "a.toml", tmp_path / "b.toml"
    checks = (
        f'[[check]]\nname = "bgp-port"\nkind = "tcp"\ntarget = "{B}:{ports[1]}"\n'
        f'interval = 0.1\nrise = 1\n\n[[check]]\nname = "closed"\nkind = "tcp"\n'
        f'target = "{A}:{free_port(A)}"\ninterval = 0.1\n'
    )
    a_path.write_text(
        config_text(
            64520,
            A,
            ports[0],
            B,
            4290001234,
            ports[1],
            tmp_path / "a.sock",
            ("2001:db8:53::1/128",),
        )
        + checks
        + '\n[[announce]]\nprefix = "169.254.0.1/32"\nchecks = ["bgp-port"]\n'
        + '\n[[announce]]\nprefix = "192.0.2.0/24"\nchecks = ["bgp-port", "closed"]\n'
    )
    b_path.write_text(
        config_text(
            4290001234, B, ports[1], A, 64520, ports[0], tmp_path / "b.sock", ("10.57.1.0/24",)
        )
    )
    a = Speaker(load_config(a_path), metrics=Listen(A, 0))
    b = Speaker(load_config(b_path))
    await a.start()
    await b.start()
    try:
        assert a.metrics is not None
        url = f"http://{A}:{a.metrics.port}/metrics"

        async def fetch() -> dict[str, float]:
            def get() -> str:
                with urllib.request.urlopen(url, timeout=5) as answer:
                    return str(answer.read().decode())

            return parse(await asyncio.to_thread(get))

        established = f'minibgp_peer_state{{peer="{B}",state="Established"}}'
        announced = (
            'minibgp_prefix_state{prefix="169.254.0.1/32",source="config",state="announced"}'
        )
        for _ in range(100):
            samples = await fetch()
            if samples.get(established) == 1 and samples.get(announced) == 1:
                break
            await asyncio.sleep(0.05)
        assert samples[established] == 1 and samples[announced] == 1
        assert samples['minibgp_check_passing{check="closed"}'] == 0
        v4 = f'afi="ipv4",peer="{B}",safi="unicast"'
        await until(lambda: len(a.links[IPv4Address(B)].peer.rib_in) == 1)
        samples = await fetch()
        assert samples[f"minibgp_peer_prefixes_received{{{v4}}}"] == 1
        assert samples[f"minibgp_peer_prefixes_advertised{{{v4}}}"] == 1

        answer = await asyncio.to_thread(request, tmp_path / "a.sock", "show checks")
        (check,) = [c for c in answer["checks"] if c["name"] == "bgp-port"]
        assert check["latency"] > 0 and check["probes_passed"] >= 1 and check["transitions"] == 1
    finally:
        await b.shutdown()
        await a.shutdown()
    with pytest.raises(OSError):  # the port is closed with the speaker
        urllib.request.urlopen(url, timeout=1)


async def test_a_scrape_while_the_event_loop_is_stuck_answers_without_the_speaker(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    speaker, _, _ = speaker_and_router()
    monkeypatch.setattr(metrics, "SCRAPE_TIMEOUT", 0.2)
    server = MetricsServer(Listen(A, 0), speaker)
    answers: list[str] = []

    def get() -> None:
        url = f"http://{A}:{server.port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as answer:
            answers.append(answer.read().decode())

    try:
        thread = threading.Thread(target=get)
        with caplog.at_level(logging.WARNING, logger="minibgp"):
            thread.start()
            time.sleep(0.5)  # the loop is blocked: the scrape gives up waiting for it
            thread.join(5)
        assert answers == [""]
        assert "the speaker was busy" in caplog.text
        await asyncio.to_thread(get)  # the loop runs again: a whole answer
        assert "minibgp_peer_state" in answers[1]
    finally:
        await server.close()


def test_metrics_address_in_the_config(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        CONFIG.replace(
            'router_id = "192.168.57.100"\n',
            'router_id = "192.168.57.100"\nmetrics = "[::1]:9179"\n',
        )
    )
    assert load_config(path).speaker.metrics == Listen("::1", 9179)
    path.write_text(
        CONFIG.replace(
            'router_id = "192.168.57.100"\n', 'router_id = "192.168.57.100"\nmetrics = "9179"\n'
        )
    )
    with pytest.raises(ConfigError, match=r"s.toml:4: speaker.metrics: '9179' is not ADDRESS:PORT"):
        load_config(path)
