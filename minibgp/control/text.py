"""The text of `show`: the answers laid out the way vtysh shows FRR's `show bgp summary` and
`show bgp ipv4 unicast`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any


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


ROUTE_LINE = b'{"prefix": '  # how a route's line of a `show routes` answer starts

Parse = Callable[[bytes], dict[str, Any]]


def routes_text(lines: Iterable[bytes], parse: Parse = json.loads) -> Iterator[str]:
    """`show routes` as it arrives (minibgp.control.commands): per peer, what it sent us and
    what we sent it, like vtysh's tables; one line of text at a time."""
    header = f"   {'Network':<24} {'Next Hop':<24} {'MED':>10}  Path"
    first = True
    for raw in lines:
        line = parse(raw)
        if "prefix" in line:
            yield _route_line(line)
        elif "list" in line:
            peer, count, total = line["peer"], line["count"], line["total"]
            prefixes = _count(count) if count == total else f"{count} of {_count(total)}"
            if line["list"] == "received":
                if not first:
                    yield ""
                first = False
                yield f"Received from {peer['address']} (AS {peer['asn']}), {prefixes}:"
            else:
                yield f"Advertised to {peer['address']}, {prefixes}:"
            yield header


def routes_json_text(lines: Iterable[bytes], parse: Parse = json.loads) -> Iterator[str]:
    """`show routes --json` as it arrives: one JSON document, {"peers": [{address, asn,
    received, advertised}]} (and `received_total` / `advertised_total` when a limit cut the
    list), a route a line, passed on as the speaker wrote it; never all in memory."""
    yield '{\n  "peers": ['
    peer_open = route_open = False
    address: str | None = None
    previous: dict[str, Any] = {}  # the header of the list being written
    separator = ""
    for raw in lines:
        if raw.startswith(ROUTE_LINE):
            yield f"{separator}\n        {raw.decode().rstrip()}"
            separator = ","
            continue
        line = parse(raw)
        if "list" not in line:
            continue
        if route_open:
            yield "\n      ]" + _total(previous)
        peer = line["peer"]
        if peer["address"] != address:
            if peer_open:
                yield "\n    },"
            yield (f'\n    {{\n      "address": {json.dumps(peer["address"])},'
                   f'\n      "asn": {peer["asn"]},')  # fmt: skip
            address, peer_open = peer["address"], True
        else:
            yield ","
        yield f'\n      "{line["list"]}": ['
        route_open, separator, previous = True, "", line
    if route_open:
        yield "\n      ]" + _total(previous)
    if peer_open:
        yield "\n    }"
    yield "\n  ]\n}\n"


def _total(header: dict[str, Any]) -> str:
    if header["count"] == header["total"]:
        return ""
    return f',\n      "{header["list"]}_total": {header["total"]}'


def _count(count: int) -> str:
    return "1 prefix" if count == 1 else f"{count} prefixes"


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


def render_announcements(answer: dict[str, Any]) -> str:
    """`show announcements`: each prefix, where it comes from, whether it is announced."""
    lines = [f"   {'Prefix':<24} {'Source':<30} State"]
    for announcement in answer["announcements"]:
        lines.append(
            f"   {announcement['prefix']:<24} {announcement['source']:<30} {announcement['state']}"
        )
        attributes = _announcement_attributes(announcement)
        if attributes:
            lines.append(f"   {'':<24} {attributes}")
    return "\n".join(lines)


def render_announcement(announcement: dict[str, Any]) -> str:
    """One announcement on a line: '169.254.0.1/32 (config, changed at runtime): announced;
    prepend 2, MED 50'."""
    source = f" ({announcement['source']})" if announcement["source"] else ""
    text = f"{announcement['prefix']}{source}: {announcement['state']}"
    attributes = _announcement_attributes(announcement)
    return f"{text}; {attributes}" if attributes else text


def _announcement_attributes(announcement: dict[str, Any]) -> str:
    parts = []
    if announcement["as_path_prepend"]:
        parts.append(f"prepend {announcement['as_path_prepend']}")
    if announcement["med"] is not None:
        parts.append(f"MED {announcement['med']}")
    if announcement["communities"]:
        parts.append("communities " + " ".join(announcement["communities"]))
    if announcement["large_communities"]:
        parts.append("large communities " + " ".join(announcement["large_communities"]))
    if announcement["next_hop"]:
        parts.append(f"next hop {announcement['next_hop']}")
    if announcement["peers"] is not None:
        parts.append("to " + ", ".join(announcement["peers"]))
    if announcement["checks"]:
        parts.append("checks " + ", ".join(announcement["checks"]))
    return ", ".join(parts)


def render_checks(answer: dict[str, Any]) -> str:
    """`show checks`: each health check and its last result, then each prefix and why it is
    (not) announced."""
    lines = [f"   {'Check':<16} {'State':<8} Last result"]
    for check in answer["checks"]:
        state = "passing" if check["passing"] else "failing"
        lines.append(f"   {check['name']:<16} {state:<8} {_last_result(check)}")
        lines.append(f"   {'':<16} {'':<8} {check['checks']}")
    if not answer["checks"]:
        lines.append("   (no [[check]] in the config)")
    lines += ["", f"   {'Prefix':<24} {'Checks':<24} State"]
    for prefix in answer["prefixes"]:
        checks = ", ".join(prefix["checks"]) or "-"
        lines.append(f"   {prefix['prefix']:<24} {checks:<24} {prefix['state']}")
    return "\n".join(lines)


def _last_result(check: dict[str, Any]) -> str:
    last = check["last"]
    if last is None:
        return "no probe yet"
    said = "ok" if last["ok"] else last["reason"]
    count = ""
    if check["passing"] and check["failures"]:
        count = f", {check['failures']} of {check['fall']} failures to fail"
    elif not check["passing"] and check["successes"]:
        count = f", {check['successes']} of {check['rise']} successes to pass"
    return f"{said} ({last['seconds_ago']:.1f} s ago{count})"
