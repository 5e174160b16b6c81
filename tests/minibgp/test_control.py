"""The control socket protocol and the vtysh-like text of `show`."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from minibgp.control import ControlError, request
from minibgp.control.server import start_control_server
from minibgp.control.text import format_uptime, render_neighbors, routes_json_text, routes_text

NEIGHBORS: dict[str, Any] = {
    "asn": 64520,
    "router_id": "192.168.57.100",
    "neighbors": [
        {
            "address": "192.168.57.10", "asn": 4290001234, "state": "Established",
            "uptime": 3723.5, "prefixes_received": 3, "prefixes_advertised": 1,
            "messages_received": {"OPEN": 1, "KEEPALIVE": 4, "UPDATE": 3},
            "messages_sent": {"OPEN": 1, "KEEPALIVE": 4, "UPDATE": 2}, "last_error": "",
        },
        {
            "address": "192.168.58.10", "asn": 4290001234, "state": "Connect", "uptime": None,
            "prefixes_received": 0, "prefixes_advertised": 0, "messages_received": {},
            "messages_sent": {}, "last_error": "cannot connect: Connection refused",
        },
    ],
}  # fmt: skip


def test_neighbors_text_is_a_summary_table_like_vtysh() -> None:
    text = render_neighbors(NEIGHBORS)
    lines = text.splitlines()
    assert lines[0] == "BGP router identifier 192.168.57.100, local AS number 64520"
    assert lines[2].split() == [
        "Neighbor", "AS", "MsgRcvd", "MsgSent", "Up/Down", "State/PfxRcd", "PfxSnt"
    ]  # fmt: skip
    assert lines[3].split() == ["192.168.57.10", "4290001234", "8", "7", "01:02:03", "3", "1"]
    assert lines[4].split() == ["192.168.58.10", "4290001234", "0", "0", "never", "Connect", "0"]
    assert "Total number of neighbors 2" in text
    assert "192.168.58.10: last error: cannot connect: Connection refused" in text


ROUTE = {
    "prefix": "169.254.0.1/32", "next_hop": "192.168.57.100", "as_path": [64520, 64520],
    "origin": "IGP", "med": 50, "local_pref": None, "communities": ["65000:1"],
    "large_communities": [],
}  # fmt: skip
PEER = {"address": "192.168.57.10", "asn": 4290001234}
# `show routes` as the speaker sends it: a header per list, then a line per route, then the end.
LINES = [
    json.dumps(line).encode() + b"\n"
    for line in [
        {"peer": PEER, "list": "received", "count": 0, "total": 0},
        {"peer": PEER, "list": "advertised", "count": 1, "total": 1},
        ROUTE,
        {"peer": {"address": "192.168.58.10", "asn": 4290001234}, "list": "received",
         "count": 2, "total": 5},
        ROUTE,
        ROUTE,
        {"peer": {"address": "192.168.58.10", "asn": 4290001234}, "list": "advertised",
         "count": 0, "total": 0},
        {"final": True},
    ]
]  # fmt: skip


def test_routes_text_lists_received_and_advertised_per_peer() -> None:
    text = "\n".join(routes_text(LINES))
    assert "Received from 192.168.57.10 (AS 4290001234), 0 prefixes:" in text
    assert "Advertised to 192.168.57.10, 1 prefix:" in text
    assert "Received from 192.168.58.10 (AS 4290001234), 2 of 5 prefixes:" in text
    line = next(line for line in text.splitlines() if "169.254.0.1/32" in line)
    assert line.split() == [
        "169.254.0.1/32", "192.168.57.100", "50", "64520", "64520", "i", "[communities", "65000:1]"
    ]  # fmt: skip


def test_routes_json_is_one_document_written_as_the_lines_come() -> None:
    document = json.loads("".join(routes_json_text(LINES)))
    assert document == {
        "peers": [
            {"address": "192.168.57.10", "asn": 4290001234, "received": [], "advertised": [ROUTE]},
            {"address": "192.168.58.10", "asn": 4290001234, "received": [ROUTE, ROUTE],
             "received_total": 5, "advertised": []},
        ]
    }  # fmt: skip
    assert json.loads("".join(routes_json_text([b'{"final": true}\n']))) == {"peers": []}


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, "never"), (0, "00:00:00"), (3723.9, "01:02:03"),
                          (90061, "1d01h01m")]
)  # fmt: skip
def test_uptime_like_vtysh(seconds: float | None, text: str) -> None:
    assert format_uptime(seconds) == text


async def test_a_socket_a_running_speaker_answers_on_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "c.sock"
    first = await start_control_server(path, lambda req: {"who": "first"})
    try:
        with pytest.raises(OSError, match="another speaker is running there"):
            await start_control_server(path, lambda req: {"who": "second"})
        assert await asyncio.to_thread(request, path, "show neighbors") == {"who": "first"}
    finally:
        first.close()
        await first.wait_closed()
    # The first one gone (its socket file left behind, as after a crash): the next one starts.
    second = await start_control_server(path, lambda req: {"who": "second"})
    try:
        assert await asyncio.to_thread(request, path, "show neighbors") == {"who": "second"}
    finally:
        second.close()


async def test_a_request_gets_the_handlers_answer_and_errors_are_answers(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "c.sock"
    seen: list[dict[str, Any]] = []

    def handler(req: dict[str, Any]) -> dict[str, Any]:
        seen.append(req)
        if req.get("peer") == "boom":
            raise RuntimeError("bug")
        return {"neighbors": []}

    server = await start_control_server(path, handler)
    try:
        answer = await asyncio.to_thread(request, path, "show neighbors", peer="192.0.2.1")
        assert answer == {"neighbors": []}
        assert seen == [{"command": "show neighbors", "peer": "192.0.2.1"}]
        with pytest.raises(ControlError, match="internal error: bug"):
            await asyncio.to_thread(request, path, "show routes", peer="boom")
        raw = await asyncio.to_thread(_raw_exchange, path, b"not json\n")
        assert b"not JSON" in raw
        raw = await asyncio.to_thread(_raw_exchange, path, b'{"peer": "192.0.2.1"}\n')
        assert b'with a \\"command\\"' in raw
    finally:
        server.close()
        await server.wait_closed()
    assert path.stat().st_mode & 0o777 == 0o600


def _raw_exchange(path: Path, data: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(data)
        return sock.recv(4096)


def test_no_speaker_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ControlError, match=r"nothing\.sock: cannot reach the speaker"):
        request(tmp_path / "nothing.sock", "show neighbors")


def test_a_bfd_session_is_shown_under_the_table() -> None:
    neighbor = {**NEIGHBORS["neighbors"][0], "bfd": {
        "state": "UP", "diagnostic": "NO_DIAGNOSTIC", "transmit_interval_ms": 100,
        "detection_time_ms": 300,
    }}  # fmt: skip
    text = render_neighbors({**NEIGHBORS, "neighbors": [neighbor]})
    assert "192.168.57.10: BFD UP, sending every 100 ms, detection time 300 ms" in text


def test_each_drain_is_shown_with_its_phase() -> None:
    drains = [
        {"prefixes": ["169.254.0.1/32"], "peers": None, "phase": "graceful-shutdown",
         "seconds_since_start": 0.5, "withdraw_in": 1.5},
        {"prefixes": None, "peers": ["192.168.57.10"], "phase": "withdrawn",
         "seconds_since_start": 3.0, "withdraw_in": None},
    ]  # fmt: skip
    text = render_neighbors({**NEIGHBORS, "drained": True, "drains": drains})
    assert (
        "Drained: 169.254.0.1/32 to every peer: announced with GRACEFUL_SHUTDOWN (65535:0), "
        "withdrawn in 1.5 s" in text
    )
    assert "Drained: every route to 192.168.57.10: withdrawn" in text


def test_a_drained_speaker_says_so() -> None:
    assert "Drained: every route withdrawn" in render_neighbors({**NEIGHBORS, "drained": True})
    assert "Drained" not in render_neighbors(NEIGHBORS)
