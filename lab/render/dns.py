"""The zone and the DNS servers' command lines and configs, the same data in both modes.

python mode: minidns serves an RFC 1035 zone file. reference mode: PowerDNS serves a gsqlite3
database filled by the original lab's `pdnsutil` commands. Both answer on the anycast addresses
and on the server's own, and name the server in NSID (RFC 5001) and CH TXT id.server (RFC 4892).
"""

from __future__ import annotations

from ..topology import IPAddress, Node, Topology

ZONE_TTL = 3600
MINIDNS_PIDFILE = "minidns.pid"  # written by whoever starts minidns: the lab, or systemd
MINIDNS_METRICS_PORT = 9153  # minidns's --metrics, on each server's loopback
# The SOA of the zone: `pdnsutil create-zone example.com ns1.example.com` with the lab's
# default-soa-content (PowerDNS's own default names a.misconfigured.dns.server.invalid).
# Fields: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM (RFC 1035 §3.3.13).
SOA_TIMERS = "0 10800 3600 604800 3600"
PDNS_SCHEMA = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"


def server_addresses(topology: Topology, node: Node) -> list[IPAddress]:
    """Where a site's DNS server listens: the anycast addresses, then its own."""
    addresses: list[IPAddress] = [topology.service.address]
    if topology.service.address6 is not None:
        addresses.append(topology.service.address6)
    for interface in node.interfaces:
        addresses.append(interface.ip)
        if interface.ip6 is not None:
            addresses.append(interface.ip6)
    return addresses


def soa_content(topology: Topology) -> str:
    """The SOA RDATA: the nameserver as MNAME, hostmaster@zone as RNAME (RFC 1035 §3.3.13)."""
    return f"{topology.service.nameserver}. hostmaster.{topology.service.zone}. {SOA_TIMERS}"


def zone_file(topology: Topology) -> str:
    """The zone as an RFC 1035 §5 master file, holding what the pdnsutil commands make."""
    service = topology.service
    lines = [
        f"; {service.zone}: the same data as the original lab's pdnsutil commands",
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


def minidns_args(topology: Topology, node: Node, zone_path: str) -> list[str]:
    """minidns's arguments (after `python -m minidns`): the zone, the addresses, the identity,
    and Prometheus metrics on the server's own loopback (`lab ui` reads them)."""
    args = ["--zone", f"{topology.service.zone}={zone_path}"]
    for address in server_addresses(topology, node):
        host = f"[{address}]" if address.version == 6 else str(address)
        args += ["--listen", f"{host}:53"]
    args += ["--identity", node.name, "--metrics", f"127.0.0.1:{MINIDNS_METRICS_PORT}"]
    return args


def pdns_config(topology: Topology, node: Node, database: str) -> str:
    """pdns.conf for a server, read by pdnsutil and pdns_server alike.

    `server-id` is what PowerDNS answers to NSID (RFC 5001) and to CH TXT id.server (RFC 4892);
    `default-soa-content` is the SOA that `pdnsutil create-zone` gives the zone.
    """
    settings = {
        "launch": "gsqlite3",
        "gsqlite3-database": database,
        "default-soa-content": f"{topology.service.nameserver} hostmaster.@ {SOA_TIMERS}",
        "local-address": ",".join(str(a) for a in server_addresses(topology, node)),
        "local-port": "53",
        "server-id": node.name,
    }
    lines = [f"# PowerDNS on {node.name} (rendered from the lab's topology)"]
    return "\n".join(lines + [f"{key}={value}" for key, value in settings.items()]) + "\n"


def pdnsutil_commands(topology: Topology) -> list[list[str]]:
    """The original lab's pdnsutil commands (arguments after `pdnsutil --config-dir=DIR`)."""
    service = topology.service
    commands = [["create-zone", service.zone, service.nameserver]]
    for record in service.records:
        commands.append(["add-record", service.zone, record.name, record.type, record.content])
    return commands


def pdnsutil_script(topology: Topology, run_dir: str) -> str:
    """A shell script that makes the gsqlite3 database the original lab's way, with pdnsutil."""
    lines = [
        "#!/bin/sh",
        "# Fill PowerDNS's gsqlite3 database with the original lab's pdnsutil commands.",
        "set -e",
        f"rm -f {run_dir}/pdns.sqlite3",
        f"sqlite3 {run_dir}/pdns.sqlite3 < {PDNS_SCHEMA}",
    ]
    for command in pdnsutil_commands(topology):
        quoted = " ".join(_shell_quote(arg) for arg in command)
        lines.append(f"pdnsutil --config-dir={run_dir} {quoted}")
    return "\n".join(lines) + "\n"


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


def _shell_quote(arg: str) -> str:
    safe = all(c.isalnum() or c in "@._-/:=" for c in arg)
    return arg if safe else "'" + arg.replace("'", "'\\''") + "'"
