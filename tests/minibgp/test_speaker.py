"""Two minibgp speakers in one event loop, peering over loopback TCP (tests/minibgp/loopback.py):
sessions, reloads, health checks, BFD, drains, the control socket."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from minibgp.announcements import routes_for
from minibgp.bfd.packet import Diagnostic
from minibgp.bfd.session import SessionDown as BfdSessionDown
from minibgp.cli import main as cli_main
from minibgp.config import AnnounceConfig, PeerConfig, load_config
from minibgp.control import ControlError, request, request_steps, show_routes
from minibgp.fsm import State
from minibgp.sockets import plain_address
from minibgp.speaker import Speaker
from tests.minibgp.loopback import (
    A,
    B,
    Duo,
    advertised,
    config_text,
    established,
    free_port,
    received,
    until,
)


async def test_two_speakers_establish_and_exchange_routes(duo: Duo) -> None:
    await until(lambda: established(duo.a) and established(duo.b))
    await until(lambda: len(received(duo.b)) == 2 and len(received(duo.a)) == 1)
    route = received(duo.b)["169.254.0.1/32"]
    assert route["as_path"] == [64520] and route["next_hop"] == A
    # an IPv4 next hop for an IPv6 route, written as ::ffff:a.b.c.d where it is sent and received
    assert received(duo.b)["2001:db8:53::1/128"]["next_hop"] == f"::ffff:{A}"
    assert advertised(duo.a)["2001:db8:53::1/128"]["next_hop"] == f"::ffff:{A}"
    assert received(duo.a)["10.57.1.0/24"]["as_path"] == [4290001234]
    # only one of the two connections both sides opened carries the session (RFC 4271 §6.8)
    assert duo.link(duo.a).peer.candidate is None and duo.link(duo.b).peer.candidate is None


async def test_the_log_tells_our_withdraw_from_the_peers(
    duo: Duo, caplog: pytest.LogCaptureFixture
) -> None:
    await until(lambda: len(received(duo.b)) == 2)
    with caplog.at_level(logging.INFO, logger="minibgp"):
        duo.rewrite_a(("169.254.0.1/32",))
        duo.a.reload()
        await until(lambda: set(received(duo.b)) == {"169.254.0.1/32"})
    assert f"peer {B}: withdrawing 2001:db8:53::1/128" in caplog.text  # a sends
    assert f"peer {A}: withdrew 2001:db8:53::1/128" in caplog.text  # b receives


async def test_show_neighbors_over_the_control_socket(duo: Duo) -> None:
    await until(lambda: established(duo.a) and len(received(duo.a)) == 1)
    answer = await asyncio.to_thread(request, duo.tmp / "a.sock", "show neighbors")
    (neighbor,) = answer["neighbors"]
    assert neighbor["address"] == B and neighbor["asn"] == 4290001234
    assert neighbor["state"] == "Established" and neighbor["peer_router_id"] == B
    assert neighbor["prefixes_received"] == 1 and neighbor["prefixes_advertised"] == 2
    assert neighbor["messages_received"]["OPEN"] == 1


async def test_reload_sends_only_the_difference_without_a_session_reset(duo: Duo) -> None:
    await until(lambda: len(received(duo.b)) == 2)
    opens_before = duo.link(duo.b).peer.connection.messages_received["OPEN"]
    duo.rewrite_a(("169.254.0.1/32", "169.254.0.2/32"))
    duo.a.reload()
    await until(lambda: set(received(duo.b)) == {"169.254.0.1/32", "169.254.0.2/32"})
    assert duo.link(duo.b).peer.connection.messages_received["OPEN"] == opens_before


async def test_reload_takes_new_drain_settings_but_not_other_speaker_changes(
    duo: Duo, caplog: pytest.LogCaptureFixture
) -> None:
    text = duo.a_config.read_text()
    duo.a_config.write_text(text.replace("[speaker]\n", "[speaker]\ndrain_time = 0.25\n"))
    duo.a.reload()
    assert duo.a.config.speaker.drain_time == 0.25
    duo.a_config.write_text(text.replace("asn = 64520", "asn = 64521"))
    with caplog.at_level(logging.ERROR, logger="minibgp"):
        duo.a.reload()
    assert "changes to [speaker] need a restart" in caplog.text
    assert duo.a.config.speaker.asn == 64520


async def test_a_bad_reload_keeps_the_running_config(
    duo: Duo, caplog: pytest.LogCaptureFixture
) -> None:
    await until(lambda: len(received(duo.b)) == 2)
    duo.a_config.write_text(duo.a_config.read_text().replace("asn = 4290001234", "asn = 0"))
    with caplog.at_level(logging.ERROR, logger="minibgp"):
        duo.a.reload()
    assert f"{duo.a_config}:9: peer[0].asn: must be 1..4294967295" in caplog.text
    assert "config not reloaded" in caplog.text
    assert established(duo.a) and len(received(duo.b)) == 2


async def test_shutdown_sends_cease_administrative_shutdown(
    duo: Duo, caplog: pytest.LogCaptureFixture
) -> None:
    await until(lambda: len(received(duo.b)) == 2)
    with caplog.at_level(logging.INFO, logger="minibgp"):
        await duo.a.shutdown()
        await until(lambda: duo.link(duo.b).peer.connection.state is not State.Established)
    assert "received NOTIFICATION Cease / Administrative Shutdown" in caplog.text
    assert received(duo.b) == {}


async def test_a_connection_from_an_unknown_address_is_closed(duo: Duo) -> None:
    loop = asyncio.get_running_loop()
    with socket.socket() as sock:
        sock.bind(("127.0.0.3", 0))
        sock.setblocking(False)
        await loop.sock_connect(sock, (A, duo.ports[0]))
        assert await asyncio.wait_for(loop.sock_recv(sock, 100), timeout=2) == b""


def test_plain_address_unmaps_ipv4_mapped_ipv6() -> None:
    assert plain_address("::ffff:192.168.57.10") == ipaddress.IPv4Address("192.168.57.10")
    assert plain_address("fe80::1%eth0") == ipaddress.IPv6Address("fe80::1")


def test_routes_for_picks_the_next_hop_by_family() -> None:
    peer = PeerConfig(
        address=ipaddress.ip_address("192.168.57.10"),
        asn=4290001234,
        next_hop=ipaddress.ip_address("192.168.57.200"),
    )
    announcements = [
        AnnounceConfig(ipaddress.ip_network("169.254.0.1/32"), med=5, as_path_prepend=1),
        AnnounceConfig(
            ipaddress.ip_network("169.254.0.2/32"),
            next_hop=ipaddress.ip_address("192.168.57.201"),
        ),
        AnnounceConfig(ipaddress.ip_network("2001:db8::1/128")),
        AnnounceConfig(
            ipaddress.ip_network("169.254.0.3/32"),
            peers=(ipaddress.ip_address("192.168.58.10"),),
        ),
    ]
    routes = {str(r.prefix): r for r in routes_for(peer, announcements)}
    assert set(routes) == {"169.254.0.1/32", "169.254.0.2/32", "2001:db8::1/128"}
    assert str(routes["169.254.0.1/32"].next_hop) == "192.168.57.200"
    assert routes["169.254.0.1/32"].med == 5 and routes["169.254.0.1/32"].as_path_prepend == 1
    assert str(routes["169.254.0.2/32"].next_hop) == "192.168.57.201"
    assert str(routes["2001:db8::1/128"].next_hop) == "192.168.57.200"  # sent as ::ffff:…


async def test_a_prefix_with_a_failing_health_check_is_withdrawn(duo: Duo) -> None:
    """[[check]] wiring: announced while its TCP check passes, withdrawn when it fails."""
    service = socket.socket()
    service.bind((A, 0))
    service.listen()
    check = (
        f'\n[[check]]\nname = "svc"\nkind = "tcp"\ntarget = "{A}:{service.getsockname()[1]}"\n'
        "interval = 0.05\ntimeout = 0.5\nrise = 1\nfall = 1\n"
    )
    await until(lambda: len(received(duo.b)) == 2)
    duo.rewrite_a(("169.254.0.1/32",), extra=check)
    text = duo.a_config.read_text()
    duo.a_config.write_text(
        text.replace('prefix = "169.254.0.1/32"\n', 'prefix = "169.254.0.1/32"\nchecks = ["svc"]\n')
    )
    duo.a.reload()
    await until(lambda: "169.254.0.1/32" in received(duo.b))
    service.close()  # the service dies
    await until(lambda: "169.254.0.1/32" not in received(duo.b))
    assert established(duo.a)  # only the route went, not the session


async def test_a_reload_that_changes_one_check_leaves_the_other_prefixes_announced(
    duo: Duo, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGHUP changes one check: only its prefix is withdrawn (until the check passes again);
    a prefix whose check did not change is not withdrawn for a moment."""
    service = socket.socket()
    service.bind((A, 0))
    service.listen()
    target = f"{A}:{service.getsockname()[1]}"

    def config(interval_b: float) -> str:
        return "".join(
            f'\n[[check]]\nname = "{name}"\nkind = "tcp"\ntarget = "{target}"\n'
            f"interval = {interval}\ntimeout = 0.5\nrise = 1\nfall = 1\n"
            for name, interval in (("svc-a", 0.05), ("svc-b", interval_b))
        )

    def rewrite(interval_b: float) -> None:
        duo.rewrite_a(("169.254.0.1/32", "169.254.0.2/32"), extra=config(interval_b))
        text = duo.a_config.read_text()
        for prefix, check in (("169.254.0.1/32", "svc-a"), ("169.254.0.2/32", "svc-b")):
            text = text.replace(
                f'prefix = "{prefix}"\n', f'prefix = "{prefix}"\nchecks = ["{check}"]\n'
            )
        duo.a_config.write_text(text)

    try:
        rewrite(0.05)
        duo.a.reload()
        await until(lambda: {"169.254.0.1/32", "169.254.0.2/32"} <= set(received(duo.b)))
        rewrite(0.07)
        with caplog.at_level(logging.INFO, logger="minibgp"):
            duo.a.reload()
            assert "169.254.0.1/32" in advertised(duo.a)  # not withdrawn by the reload
            await until(lambda: "169.254.0.2/32" in advertised(duo.a))  # back once it passes
        assert "withdrawing 169.254.0.1/32" not in caplog.text
        assert "169.254.0.1/32" in received(duo.b)
    finally:
        service.close()


async def test_bfd_comes_up_and_a_bfd_down_drops_and_restarts_the_session(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`bfd = true` on both sides: BFD Up; when BFD says the path failed, Cease / BFD Down."""
    monkeypatch.setattr(Speaker, "bfd_port", free_udp_port())
    a, b = bfd_speakers(tmp_path)
    caplog.set_level(logging.INFO, logger="minibgp")
    await a.start()
    await b.start()
    try:
        await until(lambda: established(a) and established(b))
        await until(lambda: caplog.text.count("BFD session Up") == 2, timeout=10)
        a._on_bfd(
            ipaddress.ip_address(B), BfdSessionDown(Diagnostic.CONTROL_DETECTION_TIME_EXPIRED)
        )
        await until(lambda: "received NOTIFICATION Cease / BFD Down" in caplog.text)
        await until(lambda: established(a) and established(b))  # and it comes back
    finally:
        await b.shutdown()
        await a.shutdown()


async def test_bfd_runs_only_while_the_bgp_session_is_established(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No BFD session before Established (a router may replace its own then, and the Down of
    its new session would end ours); it ends, with AdminDown, when the BGP session does."""
    monkeypatch.setattr(Speaker, "bfd_port", free_udp_port())
    a, b = bfd_speakers(tmp_path)
    caplog.set_level(logging.INFO, logger="minibgp")
    await a.start()  # its peer b is not there yet
    b_running = False
    try:
        assert a.bfd is None
        await b.start()
        b_running = True
        await until(lambda: established(a) and established(b))
        assert a.bfd is not None and [p.address for p in a.bfd.peers] == [B]
        await until(lambda: caplog.text.count("BFD session Up") == 2, timeout=10)
        await b.shutdown()
        b_running = False
        await until(lambda: not established(a))
        assert a.bfd.peers == []
        assert "BFD session Down" not in caplog.text  # b said AdminDown, then a ended its own
    finally:
        if b_running:
            await b.shutdown()
        await a.shutdown()


def bfd_speakers(tmp_path: Path) -> tuple[Speaker, Speaker]:
    """Speakers A and B peering over loopback with `bfd = true`."""
    ports = (free_port(A), free_port(B))
    speakers = []
    for me, peer, port, peer_port, asn, peer_asn in (
        (A, B, ports[0], ports[1], 64520, 4290001234),
        (B, A, ports[1], ports[0], 4290001234, 64520),
    ):
        path = tmp_path / f"{me}.toml"
        path.write_text(
            config_text(asn, me, port, peer, peer_asn, peer_port, tmp_path / f"{me}.sock",
                        peer_extra="bfd = true")
        )  # fmt: skip
        speakers.append(Speaker(load_config(path)))
    return speakers[0], speakers[1]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((A, 0))
        return int(sock.getsockname()[1])


def graceful_shutdown_seen(speaker: Speaker) -> int:
    """How many routes `speaker` received with the GRACEFUL_SHUTDOWN community."""
    routes = received(speaker).values()
    return sum("GRACEFUL_SHUTDOWN" in r["communities"] for r in routes)  # type: ignore[operator]


async def test_drain_marks_graceful_shutdown_then_withdraws_and_keeps_the_sessions(
    duo: Duo,
) -> None:
    """RFC 8326: the routes come again with 65535:0, then go; undrain brings them back."""
    await until(lambda: len(received(duo.b)) == 2)
    steps: list[dict[str, object]] = []

    def drain() -> None:
        steps.extend(request_steps(duo.tmp / "a.sock", "drain", None, drain_time=0.5))

    draining = asyncio.create_task(asyncio.to_thread(drain))
    await until(lambda: graceful_shutdown_seen(duo.b) == 2)
    assert not draining.done()  # `drain` returns when the routes are withdrawn
    await draining
    assert [step["step"] for step in steps] == ["graceful-shutdown", "withdrawn"]
    assert steps[-1]["drained"] is True and steps[-1]["final"] is True
    await until(lambda: received(duo.b) == {})
    assert established(duo.a) and established(duo.b)
    await asyncio.to_thread(request, duo.tmp / "a.sock", "undrain")
    await until(lambda: len(received(duo.b)) == 2)
    assert all(r["communities"] == [] for r in received(duo.b).values())


async def test_drain_of_one_prefix_without_waiting(duo: Duo) -> None:
    await until(lambda: len(received(duo.b)) == 2)
    answer = await asyncio.to_thread(
        request, duo.tmp / "a.sock", "drain", prefixes=["169.254.0.1/32"], drain_time=0,
        wait=False,
    )  # fmt: skip
    assert answer["step"] == "withdrawn" and answer["final"] is True
    await until(lambda: set(received(duo.b)) == {"2001:db8:53::1/128"})


async def test_the_drain_command_prints_each_step(
    duo: Duo, capsys: pytest.CaptureFixture[str]
) -> None:
    await until(lambda: len(received(duo.b)) == 2)
    socket_path = str(duo.tmp / "a.sock")
    argv = ["drain", "--socket", socket_path, "--time", "0.1", "--peer", B]
    assert await asyncio.to_thread(cli_main, argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "graceful shutdown: announced with GRACEFUL_SHUTDOWN (65535:0); withdrawing in 0.1 s"
    )
    assert lines[1].startswith("withdrawn after 0.1")
    assert any(line.startswith(f"Drained: every route to {B}: withdrawn") for line in lines)
    await until(lambda: received(duo.b) == {})
    assert await asyncio.to_thread(cli_main, ["undrain", "--socket", socket_path]) == 0
    await until(lambda: len(received(duo.b)) == 2)


async def test_a_bad_drain_request_gets_an_error_answer(duo: Duo) -> None:
    with pytest.raises(ControlError, match="prefixes"):
        await asyncio.to_thread(request, duo.tmp / "a.sock", "drain", prefixes=["bogus"])
    assert duo.a.drains.drains == []


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ({"peers": ["192.0.2.99"]}, "192.0.2.99 is not a configured peer"),
        ({"prefixes": ["10.0.0.0/8"]}, "10.0.0.0/8 is not announced"),
    ],
)
async def test_a_drain_of_something_we_do_not_have_is_refused(
    duo: Duo, arguments: dict[str, list[str]], reason: str
) -> None:
    """A typo in `drain --peer` or `--prefix` must not look like a drain that worked."""
    with pytest.raises(ControlError, match=re.escape(reason)):
        await asyncio.to_thread(request, duo.tmp / "a.sock", "drain", drain_time=0, **arguments)
    assert duo.a.drains.drains == []


async def test_show_for_a_peer_we_do_not_have_is_an_error(duo: Duo) -> None:
    with pytest.raises(ControlError, match=re.escape("192.0.2.99 is not a configured peer")):
        await asyncio.to_thread(request, duo.tmp / "a.sock", "show routes", peer="192.0.2.99")


async def test_drain_before_stop_waits_and_a_second_stop_cuts_it_short(duo: Duo) -> None:
    """drain_on_sigterm: the routes carry 65535:0 until drain_time, or a second SIGTERM."""
    await until(lambda: len(received(duo.b)) == 2)
    duo.a.config = replace(duo.a.config, speaker=replace(duo.a.config.speaker, drain_time=60.0))
    duo.a._stopping = asyncio.Event()
    duo.a.request_stop()
    draining = asyncio.create_task(duo.a.drain_before_stop())
    await until(lambda: graceful_shutdown_seen(duo.b) == 2)
    assert not draining.done()
    duo.a.request_stop()  # the second SIGTERM
    await asyncio.wait_for(draining, timeout=2)
    await until(lambda: received(duo.b) == {})
    assert established(duo.a) and established(duo.b)  # the shutdown sends the Cease


async def test_an_unknown_command_is_refused_with_the_known_ones(duo: Duo) -> None:
    with pytest.raises(ControlError, match="unknown command; known: show neighbors, show routes"):
        await asyncio.to_thread(request, duo.tmp / "a.sock", "clear everything")


async def test_show_routes_filters_and_its_json_is_one_document(
    duo: Duo, capsys: pytest.CaptureFixture[str]
) -> None:
    await until(lambda: len(received(duo.a)) == 1 and len(advertised(duo.a)) == 2)
    socket = duo.tmp / "a.sock"
    whole = await asyncio.to_thread(show_routes, socket)
    (peer,) = whole["peers"]
    assert [r["prefix"] for r in peer["received"]] == ["10.57.1.0/24"]
    assert {r["prefix"] for r in peer["advertised"]} == {"169.254.0.1/32", "2001:db8:53::1/128"}
    inside = await asyncio.to_thread(show_routes, socket, prefix="10.0.0.0/8")
    assert [r["prefix"] for r in inside["peers"][0]["received"]] == ["10.57.1.0/24"]
    assert inside["peers"][0]["advertised"] == []
    elsewhere = await asyncio.to_thread(show_routes, socket, prefix="169.254.0.0/16", limit=0)
    assert elsewhere["peers"][0]["received"] == []
    assert (
        elsewhere["peers"][0]["advertised"] == [] and elsewhere["peers"][0]["advertised_total"] == 1
    )
    argv = ["show", "routes", "--json", "--socket", str(socket)]
    assert await asyncio.to_thread(cli_main, argv) == 0
    assert json.loads(capsys.readouterr().out) == whole
    with pytest.raises(ControlError, match="show routes: 'ten' is not a prefix"):
        await asyncio.to_thread(show_routes, socket, prefix="ten")
    with pytest.raises(ControlError, match="limit must be an integer"):
        await asyncio.to_thread(request, socket, "show routes", limit=-1)


async def test_show_checks_says_each_checks_last_result_and_why_each_prefix_waits(
    duo: Duo, capsys: pytest.CaptureFixture[str]
) -> None:
    service = socket.socket()
    service.bind((A, 0))
    service.listen()
    closed = free_port(A)  # nothing listens there
    checks = "".join(
        f'\n[[check]]\nname = "{name}"\nkind = "tcp"\ntarget = "{A}:{port}"\n'
        "interval = 0.05\ntimeout = 0.5\nrise = 1\nfall = 1\n"
        for name, port in (("up", service.getsockname()[1]), ("down", closed))
    )
    duo.rewrite_a(("169.254.0.1/32", "169.254.0.2/32", "169.254.0.3/32"), extra=checks)
    text = duo.a_config.read_text()
    for prefix, names in (("169.254.0.1/32", '"up"'), ("169.254.0.2/32", '"up", "down"')):
        text = text.replace(f'prefix = "{prefix}"\n', f'prefix = "{prefix}"\nchecks = [{names}]\n')
    duo.a_config.write_text(text)
    try:
        duo.a.reload()
        await until(lambda: "169.254.0.1/32" in advertised(duo.a))
        socket_path = duo.tmp / "a.sock"
        answer = await asyncio.to_thread(request, socket_path, "show checks")
        checks_by_name = {check["name"]: check for check in answer["checks"]}
        assert checks_by_name["up"]["passing"] and checks_by_name["up"]["last"]["ok"]
        assert checks_by_name["up"]["checks"] == f"tcp connection to {A}:{service.getsockname()[1]}"
        down = checks_by_name["down"]
        assert (
            not down["passing"]
            and down["last"]["reason"] == f"tcp {A}:{closed}: Connection refused"
        )
        states = {p["prefix"]: p["state"] for p in answer["prefixes"]}
        assert states == {
            "169.254.0.1/32": "announced",
            "169.254.0.2/32": f"held back: down fails (tcp {A}:{closed}: Connection refused)",
            "169.254.0.3/32": "announced",
        }
        argv = ["show", "checks", "--socket", str(socket_path)]
        assert await asyncio.to_thread(cli_main, argv) == 0
        out = capsys.readouterr().out
        assert f"down             failing  tcp {A}:{closed}: Connection refused (" in out
        assert "169.254.0.2/32           up, down                 held back: down fails" in out
    finally:
        service.close()
