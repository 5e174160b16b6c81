"""The text of `show`: the answers laid out the way vtysh shows FRR's `show bgp summary` and
`show bgp ipv4 unicast`."""

from __future__ import annotations

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
