"""Every configuration of the lab, rendered from the topology in one place.

The namespace lab and the Vagrant machines use the same texts: FRR configs for the routers and for
the servers in reference mode, minibgp's TOML, the example.com zone file, the pdnsutil commands
that fill PowerDNS's gsqlite3 database, and the command lines of minidns and pdns_server.

    python -m lab render --node server1 --mode reference --out DIR   # one node's files
    python -m lab render --format json                               # the topology for Vagrant

Only the standard library is used (the Vagrant machines run this with Debian 12's python3).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path
from typing import Literal

from lab.topology import Node, Topology

Mode = Literal["python", "reference"]
MODES: tuple[Mode, ...] = ("python", "reference")

ZONE_TTL = 3600
MINIDNS_PIDFILE = "minidns.pid"  # written by whoever starts minidns: the lab, or systemd
MINIDNS_METRICS_PORT = 9153  # minidns's --metrics, on each server's loopback
# The SOA of the zone: `pdnsutil create-zone example.com ns1.example.com` with the lab's
# default-soa-content (PowerDNS's own default names a.misconfigured.dns.server.invalid).
# Fields: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM (RFC 1035 §3.3.13).
SOA_TIMERS = "0 10800 3600 604800 3600"


@dataclass(frozen=True)
class NodeFiles:
    """File name → content for one node in one mode."""

    files: dict[str, str]

    def write(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in self.files.items():
            path = directory / name
            path.write_text(text)
            path.chmod(0o755 if name.endswith(".sh") else 0o644)
            written.append(path)
        return written


# --- FRR ---------------------------------------------------------------------------------------


BFD_PROFILE = "fast"  # the routers' BFD profile towards their server (python mode)
GSHUT_COMMUNITY_LIST = "graceful-shutdown"
FROM_SERVER_ROUTE_MAP = "from-server"


def frr_config(topology: Topology, node: Node, mode: Mode = "python") -> str:
    """frr.conf for a router, or for a server announcing the anycast /32 (reference mode).

    A router originates the /24s of its links; a server originates the anycast prefix, which is
    on its loopback. Both say `no bgp ebgp-requires-policy`: FRR 8.4's `traditional` defaults
    otherwise drop every eBGP route that no policy accepts (RFC 8212).

    A router honours GRACEFUL_SHUTDOWN from its server (an import route-map), and in python mode
    runs BFD to it. Blocks end with `!`, not `exit`: zebra, bgpd and bfdd all read this file, and
    an `exit` in a node one of them does not know would end that daemon's configure mode.
    """
    if node.asn is None or node.router_id is None:
        raise ValueError(f"{node.name} does not speak BGP")
    timers = topology.bgp_timers
    router = node.role == "router"
    neighbors = topology.neighbors(node.name)
    servers = [n for n in neighbors if router and topology.node(n.node).role == "server"]
    bfd = router and mode == "python"
    if router:
        networks = [str(link.network) for link in topology.links_of(node.name)]
    else:
        networks = [str(topology.service.anycast.network)]
    lines = ["frr defaults traditional", f"hostname {node.name}", "!"]
    if bfd:
        lines += _bfd_profile(topology)
    if servers:
        lines += _graceful_shutdown_policy()
    lines += [
        f"router bgp {node.asn}",
        f" bgp router-id {node.router_id}",
        " no bgp ebgp-requires-policy",
    ]
    for neighbor in neighbors:
        kind = "iBGP" if neighbor.internal else "eBGP"
        lines += [
            f" neighbor {neighbor.address} remote-as {neighbor.asn}",
            f" neighbor {neighbor.address} description {neighbor.node} ({kind})",
            f" neighbor {neighbor.address} timers {timers.keepalive} {timers.hold}",
            f" neighbor {neighbor.address} timers connect {timers.connect_retry}",
        ]
        if bfd and neighbor in servers:
            lines.append(f" neighbor {neighbor.address} bfd profile {BFD_PROFILE}")
    lines.append(" address-family ipv4 unicast")
    lines += [f"  network {network}" for network in networks]
    lines += [f"  neighbor {n.address} route-map {FROM_SERVER_ROUTE_MAP} in" for n in servers]
    lines += [" exit-address-family", "!", "line vty", "!", ""]
    return "\n".join(lines)


def _bfd_profile(topology: Topology) -> list[str]:
    """bfdd's profile for the sessions to the servers (RFC 5880 §6.8.1 timers, in ms)."""
    failover = topology.failover
    return [
        "bfd",
        f" profile {BFD_PROFILE}",
        f"  transmit-interval {failover.bfd_min_tx}",
        f"  receive-interval {failover.bfd_min_rx}",
        f"  detect-multiplier {failover.bfd_multiplier}",
        " !",
        "!",
    ]


def _graceful_shutdown_policy() -> list[str]:
    """RFC 8326 §4.1: a route carrying GRACEFUL_SHUTDOWN (65535:0) gets LOCAL_PREF 0 on import,
    so that any other path wins; iBGP carries the LOCAL_PREF to the other router."""
    return [
        f"bgp community-list standard {GSHUT_COMMUNITY_LIST} seq 5 permit graceful-shutdown",
        "!",
        f"route-map {FROM_SERVER_ROUTE_MAP} permit 10",
        f" match community {GSHUT_COMMUNITY_LIST}",
        " set local-preference 0",
        "!",
        f"route-map {FROM_SERVER_ROUTE_MAP} permit 20",
        "!",
    ]


# --- minibgp -----------------------------------------------------------------------------------


def minibgp_config(
    topology: Topology,
    node: Node,
    control_socket: str | None = None,
    minidns_pidfile: str | None = None,
) -> str:
    """minibgp's TOML for a server: its AS, its router, and the anycast prefix to announce.

    For fast failover (docs/failover.md): BFD to the router; the prefix is announced only while
    the local DNS server answers on the anycast address (a held-open TCP connection sees it die
    at once) and, with `minidns_pidfile`, while its process runs; SIGTERM drains first (RFC 8326).
    """
    if node.asn is None or node.router_id is None:
        raise ValueError(f"{node.name} does not speak BGP")
    timers, failover, service = topology.bgp_timers, topology.failover, topology.service
    lines = [
        f"# minibgp on {node.name}: announce {service.anycast.network} to its router.",
        "[speaker]",
        f"asn = {node.asn}",
        f'router_id = "{node.router_id}"',
    ]
    if control_socket is not None:
        lines.append(f'control_socket = "{control_socket}"')
    lines += [
        f"drain_time = {failover.drain_time}   # RFC 8326: GRACEFUL_SHUTDOWN first, then withdraw",
        "drain_on_sigterm = true",
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
    checks = ["dns"]
    lines += [
        "",
        "# The prefix is announced only while the DNS server answers on it.",
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
    lines += ["", "[[announce]]", f'prefix = "{service.anycast.network}"', f"checks = [{names}]"]
    lines.append("")
    return "\n".join(lines)


# --- DNS ---------------------------------------------------------------------------------------


def soa_content(topology: Topology) -> str:
    """The SOA RDATA: the nameserver as MNAME, hostmaster@zone as RNAME (RFC 1035 §3.3.13)."""
    return f"{topology.service.nameserver}. hostmaster.{topology.service.zone}. {SOA_TIMERS}"


def zone_file(topology: Topology) -> str:
    """The zone as an RFC 1035 §5 master file, holding what the seed's pdnsutil commands make."""
    service = topology.service
    lines = [
        f"; {service.zone}: the same data as the seed's pdnsutil commands (lab/topology.toml)",
        f"$ORIGIN {service.zone}.",
        f"$TTL {ZONE_TTL}",
        f"@ IN SOA {soa_content(topology)}",
        f"@ IN NS {service.nameserver}.",
    ]
    for record in service.records:
        content = record.content
        if record.type in ("MX", "NS", "CNAME") and not content.endswith("."):
            content += "."  # pdnsutil takes names as absolute; a zone file needs the dot
        lines.append(f"{record.name} IN {record.type} {content}")
    return "\n".join(lines) + "\n"


def pdns_config(topology: Topology, node: Node, database: str) -> str:
    """pdns.conf for a server, read by pdnsutil and pdns_server alike.

    `server-id` is what PowerDNS answers to NSID (RFC 5001) and to CH TXT id.server (RFC 4892);
    `default-soa-content` is the SOA that `pdnsutil create-zone` gives the zone.
    """
    addresses = [str(topology.service.address)] + [str(i.ip) for i in node.interfaces]
    settings = {
        "launch": "gsqlite3",
        "gsqlite3-database": database,
        "default-soa-content": f"{topology.service.nameserver} hostmaster.@ {SOA_TIMERS}",
        "local-address": ",".join(addresses),
        "local-port": "53",
        "server-id": node.name,
    }
    lines = [f"# PowerDNS on {node.name} (rendered from lab/topology.toml)"]
    return "\n".join(lines + [f"{key}={value}" for key, value in settings.items()]) + "\n"


def pdnsutil_commands(topology: Topology) -> list[list[str]]:
    """The seed's pdnsutil commands (arguments after `pdnsutil --config-dir=DIR`)."""
    service = topology.service
    commands = [["create-zone", service.zone, service.nameserver]]
    for record in service.records:
        commands.append(["add-record", service.zone, record.name, record.type, record.content])
    return commands


def pdns_server_args(run_dir: str) -> list[str]:
    """pdns_server in the foreground with the pdns.conf in `run_dir`."""
    return [
        "pdns_server",
        f"--config-dir={run_dir}",
        "--daemon=no",
        "--guardian=no",
        "--disable-syslog",
        f"--socket-dir={run_dir}",
    ]


def minidns_args(topology: Topology, node: Node, zone_path: str) -> list[str]:
    """minidns's arguments (after `python -m minidns`): the zone, both addresses, the identity,
    and Prometheus metrics on the server's own loopback (`lab ui` reads them)."""
    args = ["--zone", f"{topology.service.zone}={zone_path}"]
    for address in [topology.service.address, *(i.ip for i in node.interfaces)]:
        args += ["--listen", f"{address}:53"]
    args += ["--identity", node.name, "--metrics", f"127.0.0.1:{MINIDNS_METRICS_PORT}"]
    return args


# --- per node ----------------------------------------------------------------------------------


def node_files(
    topology: Topology, node: Node, mode: Mode, run_dir: str, systemd_python: str | None = None
) -> NodeFiles:
    """Every file one node needs in one mode; paths inside them point into `run_dir`.

    With `systemd_python` (the Vagrant machines), python mode also gets systemd units that run
    minibgp and minidns with that interpreter.
    """
    files: dict[str, str] = {}
    if node.role == "router":
        files["frr.conf"] = frr_config(topology, node, mode)
    elif node.role == "server" and mode == "reference":
        files["frr.conf"] = frr_config(topology, node, mode)
        files["pdns.conf"] = pdns_config(topology, node, f"{run_dir}/pdns.sqlite3")
        files["pdnsutil.sh"] = _pdnsutil_script(topology, run_dir)
    elif node.role == "server":
        zone_path = f"{run_dir}/{topology.service.zone}.zone"
        files["minibgp.toml"] = minibgp_config(
            topology, node, f"{run_dir}/minibgp.sock", f"{run_dir}/{MINIDNS_PIDFILE}"
        )
        files[f"{topology.service.zone}.zone"] = zone_file(topology)
        if systemd_python is not None:
            files.update(_systemd_units(topology, node, run_dir, zone_path, systemd_python))
    return NodeFiles(files)


def _systemd_units(
    topology: Topology, node: Node, run_dir: str, zone_path: str, python: str
) -> dict[str, str]:
    anycast = topology.service.anycast
    minidns = " ".join([python, "-m", "minidns", *minidns_args(topology, node, zone_path)])
    minibgp = f"{python} -m minibgp --config {run_dir}/minibgp.toml"
    unit = """[Unit]
Description={what}
After=network-online.target
Wants=network-online.target

[Service]
ExecStartPre=/sbin/ip addr replace {anycast} dev lo
ExecStart={command}{after_start}
Restart=on-failure

[Install]
WantedBy=multi-user.target
"""
    return {
        "anycast-minidns.service": unit.format(
            what=f"minidns answering for {topology.service.zone} on {anycast.ip}",
            anycast=anycast,
            command=minidns,
            # minibgp's process health check reads the PID from here
            after_start=f"\nExecStartPost=/bin/sh -c 'echo $MAINPID > {run_dir}/{MINIDNS_PIDFILE}'",
        ),
        "anycast-minibgp.service": unit.format(
            what=f"minibgp announcing {anycast.network}",
            anycast=anycast,
            command=minibgp,
            after_start="",
        ),
    }


def _pdnsutil_script(topology: Topology, run_dir: str) -> str:
    """A shell script that makes the gsqlite3 database the way the seed did, with pdnsutil."""
    schema = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"
    lines = [
        "#!/bin/sh",
        "# Fill PowerDNS's gsqlite3 database with the seed's pdnsutil commands.",
        "set -e",
        f"rm -f {run_dir}/pdns.sqlite3",
        f"sqlite3 {run_dir}/pdns.sqlite3 < {schema}",
    ]
    for command in pdnsutil_commands(topology):
        quoted = " ".join(_shell_quote(arg) for arg in command)
        lines.append(f"pdnsutil --config-dir={run_dir} {quoted}")
    return "\n".join(lines) + "\n"


def _shell_quote(arg: str) -> str:
    safe = all(c.isalnum() or c in "@._-/:=" for c in arg)
    return arg if safe else "'" + arg.replace("'", "'\\''") + "'"


def lab_supernet(topology: Topology) -> IPv4Network:
    """The smallest prefix holding every link: a VM's stand-in for "default" (keeps its NAT)."""
    supernet = topology.links[0].network
    while not all(link.network.subnet_of(supernet) for link in topology.links):
        supernet = supernet.supernet()
    return supernet


def topology_json(topology: Topology) -> str:
    """The topology as the Vagrantfile reads it (nodes with their interfaces and routes)."""
    nodes = []
    for node in topology.nodes.values():
        nodes.append(
            {
                "name": node.name,
                "role": node.role,
                "asn": node.asn,
                "interfaces": [
                    {"name": i.name, "address": str(i.ip), "netmask": str(i.address.netmask)}
                    for i in node.interfaces
                ],
                "routes": [{"to": r.to, "via": str(r.via)} for r in node.routes],
            }
        )
    document = {
        "generated_by": "python -m lab render --format json (from lab/topology.toml)",
        "anycast": str(topology.service.anycast),
        "lab_network": str(lab_supernet(topology)),
        "box": topology.vagrant.box,
        "memory": topology.vagrant.memory,
        "nodes": nodes,
    }
    return json.dumps(document, indent=2) + "\n"
