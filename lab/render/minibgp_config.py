"""minibgp's TOML for a site's server: its AS, its routers, the anycast prefixes to announce."""

from __future__ import annotations

from ..topology import Node, Topology

MINIBGP_METRICS_PORT = 9179  # minibgp's Prometheus metrics, on each server's loopback


def minibgp_config(
    topology: Topology,
    node: Node,
    control_socket: str | None = None,
    minidns_pidfile: str | None = None,
) -> str:
    """The speaker announces the anycast prefixes with the site's prepends, MED and communities
    (NO_EXPORT for a local node, RFC 4786 §4.4); IPv6 over the same sessions, with the server's
    IPv6 address on the link as next hop (RFC 4760 §3).

    For fast failover (docs/failover.md): BFD to the router; the prefixes are announced only
    while the local DNS server answers on the anycast address (a held-open TCP connection sees
    it die at once) and, with `minidns_pidfile`, while its process runs; SIGTERM drains first
    (RFC 8326). Prometheus metrics on the server's own loopback (`lab ui` reads them).
    """
    if node.asn is None or node.router_id is None:
        raise ValueError(f"{node.name} does not speak BGP")
    timers, failover, service = node.bgp_timers, topology.failover, topology.service
    prefixes = ", ".join(str(prefix) for prefix in service.prefixes)
    lines = [
        f"# minibgp on {node.name}: announce {prefixes} to its router.",
        "[speaker]",
        f"asn = {node.asn}",
        f'router_id = "{node.router_id}"',
    ]
    if control_socket is not None:
        lines.append(f'control_socket = "{control_socket}"')
    lines += [
        f"drain_time = {failover.drain_time}   # RFC 8326: GRACEFUL_SHUTDOWN first, then withdraw",
        "drain_on_sigterm = true",
        f'metrics = "127.0.0.1:{MINIBGP_METRICS_PORT}"   # Prometheus, on the server\'s loopback',
    ]
    bfd = (
        f"{{ min_tx = {failover.bfd_min_tx}, min_rx = {failover.bfd_min_rx}, "
        f"multiplier = {failover.bfd_multiplier} }}"
    )
    for neighbor in topology.neighbors(node.name):
        lines += [
            "",
            "[[peer]]",
            f'address = "{neighbor.address}"',
            f"asn = {neighbor.asn}",
            f'description = "{neighbor.node}"',
            f"hold_time = {timers.hold}",
            f"connect_retry = {timers.connect_retry}",
            f"bfd = {bfd}   # ms, ms, Detect Mult",
        ]
        if neighbor.local_address6 is not None and service.anycast6 is not None:
            lines.append(f'next_hop = "{neighbor.local_address6}"   # for the IPv6 prefix')
    checks = ["dns"]
    lines += [
        "",
        "# The prefixes are announced only while the DNS server answers on the anycast address.",
        "[[check]]",
        'name = "dns"',
        'kind = "dns"',
        f'target = "{service.address}:53"',
        f'query = "{service.zone}. SOA"',
        'expect_rcode = "NOERROR"',
        "keep_open = true   # a TCP connection held open: its close fails the check at once",
        f"interval = {failover.check_interval}",
        f"timeout = {failover.check_timeout}",
        "rise = 2",
        "fall = 2",
    ]
    if minidns_pidfile is not None:
        checks.append("minidns-process")
        lines += [
            "",
            "[[check]]",
            'name = "minidns-process"',
            'kind = "process"   # its exit fails the check at once',
            f'pidfile = "{minidns_pidfile}"',
        ]
    names = ", ".join(f'"{name}"' for name in checks)
    announcement = node.announcement
    for prefix in service.prefixes:
        lines += ["", "[[announce]]", f'prefix = "{prefix}"']
        if announcement.prepend:
            lines.append(f"as_path_prepend = {announcement.prepend}")
        if announcement.med is not None:
            lines.append(f"med = {announcement.med}")
        communities = announcement.all_communities()
        if communities:
            lines.append("communities = [" + ", ".join(f'"{c}"' for c in communities) + "]")
        lines.append(f"checks = [{names}]")
    lines.append("")
    return "\n".join(lines)
