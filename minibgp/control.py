"""The control socket: a running speaker answers `show` requests on a unix socket.

One request per connection: the client writes one JSON line (``{"command": "show neighbors"}``,
``{"command": "show routes", "peer": "192.168.57.10"}``, ``{"command": "drain"}`` or
``{"command": "undrain"}``), the speaker answers with one JSON line and closes. A `drain` answers
with a line per step instead (graceful shutdown begun, routes withdrawn), the last one final.
`python -m minibgp show neighbors|routes [--json]` (and `drain`, `undrain`) is the client; the
text renderers here lay the answer out the way vtysh shows FRR's `show bgp summary` and
`show bgp ipv4 unicast`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

from minibgp.announce import Route
from minibgp.wire.attributes import AttributeSet
from minibgp.wire.attributes.communities import community_to_text
from minibgp.wire.nlri import Prefix

log = logging.getLogger("minibgp.control")

COMMANDS = ("show neighbors", "show routes", "drain", "undrain")
MAX_REQUEST = 64 * 1024

Answer = dict[str, Any] | AsyncIterator[dict[str, Any]]  # one answer, or a line per step
Handler = Callable[[dict[str, Any]], Answer]


class ControlError(Exception):
    """The speaker could not be reached, or refused the request."""


# -- the server, inside the speaker ------------------------------------------------------------


async def start_control_server(path: Path, handler: Handler) -> asyncio.AbstractServer:
    """Listen on `path` (replacing a stale socket); `handler(request)` gives each answer.

    Raises OSError when a running speaker already answers on `path`: taking its socket over
    would leave it unreachable by `show`, and remove the socket for good when we stop.
    """

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=5)
            answer = _answer(line, handler)
            if isinstance(answer, dict):
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
                return
            try:
                async for step in answer:
                    writer.write(json.dumps(step).encode() + b"\n")
                    await writer.drain()
            except ConnectionError:
                raise
            except Exception as exc:  # a bug answering must not take the speaker down
                log.exception("control request %r failed", line)
                writer.write(json.dumps({"error": f"internal error: {exc}"}).encode() + b"\n")
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    path.parent.mkdir(parents=True, exist_ok=True)
    if _answers(path):
        raise OSError(f"{path}: another speaker is running there (give this one a control_socket)")
    with contextlib.suppress(FileNotFoundError):
        if path.is_socket():
            path.unlink()
    server = await asyncio.start_unix_server(serve, path=str(path), limit=MAX_REQUEST)
    os.chmod(path, 0o600)
    return server


def _answer(line: bytes, handler: Handler) -> Answer:
    try:
        request = json.loads(line)
    except ValueError:
        return {"error": "the request is not JSON"}
    if not isinstance(request, dict) or request.get("command") not in COMMANDS:
        return {"error": f"unknown command; known: {', '.join(COMMANDS)}"}
    try:
        return handler(request)
    except Exception as exc:  # a bug answering must not take the speaker down
        log.exception("control request %s failed", request)
        return {"error": f"internal error: {exc}"}


def _answers(path: Path) -> bool:
    """Whether a process listens on the unix socket `path` (a stale one refuses)."""
    if not path.is_socket():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


# -- the client, in `python -m minibgp show` ----------------------------------------------------


def request(
    path: Path, command: str, timeout: float | None = 10.0, **arguments: Any
) -> dict[str, Any]:
    """Send one request to the speaker listening on `path`; return its (final) answer."""
    steps = list(request_steps(path, command, timeout, **arguments))
    if not steps:
        raise ControlError(f"{path}: the speaker closed without an answer")
    return steps[-1]


def request_steps(
    path: Path, command: str, timeout: float | None = 10.0, **arguments: Any
) -> Iterator[dict[str, Any]]:
    """Send one request; yield each line of the answer as it comes (a drain's steps).

    `timeout` bounds each wait for a line (None: wait as long as the speaker takes)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10.0 if timeout is None else timeout)
        try:
            sock.connect(str(path))
        except OSError as exc:
            raise ControlError(
                f"{path}: cannot reach the speaker ({exc.strerror or exc})"
            ) from None
        sock.sendall(json.dumps({"command": command, **arguments}).encode() + b"\n")
        sock.settimeout(timeout)
        with sock.makefile("rb") as lines:
            while True:
                try:
                    line = lines.readline()
                except OSError as exc:  # the timeout, or the speaker went away
                    raise ControlError(f"{path}: no answer ({exc.strerror or exc})") from None
                if not line:
                    return
                try:
                    answer = json.loads(line)
                except ValueError:
                    raise ControlError(f"{path}: the speaker's answer is not JSON") from None
                if not isinstance(answer, dict):
                    raise ControlError(f"{path}: the speaker's answer is not a JSON object")
                if "error" in answer:
                    raise ControlError(f"{path}: {answer['error']}")
                yield answer


# -- routes, as `show routes` gives them ------------------------------------------------------


def route_json(prefix: Prefix, attributes: AttributeSet) -> dict[str, Any]:
    """A received route as `show routes --json` gives it."""
    path: list[int | str] = []
    for segment in attributes.as_path.segments:
        if segment.type.name == "AS_SEQUENCE":
            path.extend(segment.asns)
        else:
            path.append("{" + ",".join(map(str, segment.asns)) + "}")
    next_hop = attributes.next_hop
    origin = attributes.origin
    return {
        "prefix": str(prefix),
        "next_hop": str(next_hop) if next_hop else None,
        "as_path": path,
        "origin": origin.name if origin is not None else None,
        "med": attributes.med,
        "local_pref": attributes.local_pref,
        "communities": [community_to_text(c) for c in attributes.communities],
        "large_communities": [":".join(map(str, c)) for c in attributes.large_communities],
    }


def route_summary(route: dict[str, Any]) -> str:
    """One line for the log: 'AS path 4290001234, next hop 192.168.57.10, MED 0'."""
    parts = [
        "AS path " + (" ".join(map(str, route["as_path"])) or "(empty)"),
        f"next hop {route['next_hop']}",
    ]
    if route["med"] is not None:
        parts.append(f"MED {route['med']}")
    if route["communities"]:
        parts.append("communities " + " ".join(route["communities"]))
    if route["large_communities"]:
        parts.append("large communities " + " ".join(route["large_communities"]))
    return ", ".join(parts)


def advertised_route_json(route: Route, local_as: int, local_address: str | None) -> dict[str, Any]:
    """A route we advertise (eBGP view: our AS, prepended as configured)."""
    next_hop = str(route.next_hop) if route.next_hop else local_address
    if next_hop and route.prefix.version == 6 and ":" not in next_hop:
        next_hop = f"::ffff:{next_hop}"  # an IPv4 next hop goes IPv4-mapped (see minibgp.announce)
    return {
        "prefix": str(route.prefix),
        "next_hop": next_hop,
        "as_path": [local_as] * (1 + route.as_path_prepend),
        "origin": route.origin.name,
        "med": route.med,
        "communities": [community_to_text(c) for c in route.communities],
        "large_communities": [":".join(map(str, c)) for c in route.large_communities],
    }


# -- text, as vtysh would show it ----------------------------------------------------------------


def format_uptime(seconds: float | None) -> str:
    """hh:mm:ss, or "1d02h03m" beyond a day (vtysh's Up/Down column); "never" when down."""
    if seconds is None:
        return "never"
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h{minutes:02d}m"
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def render_neighbors(answer: dict[str, Any]) -> str:
    """`show neighbors` as a table like vtysh's `show bgp summary`."""
    lines = [f"BGP router identifier {answer['router_id']}, local AS number {answer['asn']}"]
    for drain in answer.get("drains", []):
        lines.append(render_drain(drain))
    if answer.get("drained") and not answer.get("drains"):
        lines.append("Drained: every route withdrawn (python -m minibgp undrain announces again)")
    lines += [
        "",
        f"{'Neighbor':<24} {'AS':>10} {'MsgRcvd':>8} {'MsgSent':>8} {'Up/Down':>9}  "
        f"{'State/PfxRcd':<12} {'PfxSnt':>7}",
    ]
    for n in answer["neighbors"]:
        state = n["prefixes_received"] if n["state"] == "Established" else n["state"]
        lines.append(
            f"{n['address']:<24} {n['asn']:>10} {sum(n['messages_received'].values()):>8} "
            f"{sum(n['messages_sent'].values()):>8} {format_uptime(n['uptime']):>9}  "
            f"{state!s:<12} {n['prefixes_advertised']:>7}"
        )
    lines.append("")
    lines.append(f"Total number of neighbors {len(answer['neighbors'])}")
    for n in answer["neighbors"]:
        if n.get("bfd"):
            lines.append(f"{n['address']}: {_bfd_text(n['bfd'])}")
        if n.get("last_error"):
            lines.append(f"{n['address']}: last error: {n['last_error']}")
    return "\n".join(lines)


def _bfd_text(bfd: dict[str, Any]) -> str:
    """'BFD UP, sending every 100 ms, detection time 300 ms' (and the diagnostic, if any)."""
    text = f"BFD {bfd['state']}, sending every {bfd['transmit_interval_ms']} ms"
    if bfd["detection_time_ms"] is not None:
        text += f", detection time {bfd['detection_time_ms']} ms"
    if bfd["diagnostic"] != "NO_DIAGNOSTIC":
        text += f" ({bfd['diagnostic']})"
    return text


def render_drain(drain: dict[str, Any]) -> str:
    """One drain as a line: what it covers and where it stands."""
    what = ", ".join(drain.get("prefixes") or ["every route"])
    peers = ", ".join(drain.get("peers") or ["every peer"])
    if drain["phase"] == "graceful-shutdown":
        state = (
            f"announced with GRACEFUL_SHUTDOWN (65535:0), withdrawn in {drain['withdraw_in']:.3g} s"
        )
    else:
        state = "withdrawn"
    return f"Drained: {what} to {peers}: {state} (python -m minibgp undrain announces again)"


def render_routes(answer: dict[str, Any]) -> str:
    """`show routes`: per peer, what it sent us and what we sent it, like vtysh's tables."""
    lines: list[str] = []
    header = f"   {'Network':<24} {'Next Hop':<24} {'MED':>10}  Path"
    for peer in answer["peers"]:
        lines.append(
            f"Received from {peer['address']} (AS {peer['asn']}), {_count(peer['received'])}:"
        )
        lines.append(header)
        lines += [_route_line(route) for route in peer["received"]]
        lines.append(f"Advertised to {peer['address']}, {_count(peer['advertised'])}:")
        lines.append(header)
        lines += [_route_line(route) for route in peer["advertised"]]
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def _count(routes: list[Any]) -> str:
    return "1 prefix" if len(routes) == 1 else f"{len(routes)} prefixes"


_ORIGIN_CODES = {"IGP": "i", "EGP": "e", "INCOMPLETE": "?"}


def _route_line(route: dict[str, Any]) -> str:
    med = "" if route.get("med") is None else str(route["med"])
    path = " ".join(str(asn) for asn in route.get("as_path", []))
    origin = _ORIGIN_CODES.get(str(route.get("origin")), "?")
    extras = []
    if route.get("communities"):
        extras.append("communities " + " ".join(route["communities"]))
    if route.get("large_communities"):
        extras.append("large " + " ".join(route["large_communities"]))
    line = f"   {route['prefix']:<24} {route.get('next_hop') or '':<24} {med:>10}  {path} {origin}"
    return line.rstrip() + ("  [" + "; ".join(extras) + "]" if extras else "")
