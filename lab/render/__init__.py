"""Every configuration of the lab, rendered from the topology.

The namespace lab and the Vagrant machines use the same texts: FRR configs for the routers and
for the servers in reference mode (`frr_config`, with the routing policy of `policy`), minibgp's
TOML (`minibgp_config`), the zone file, the pdnsutil commands that fill PowerDNS's gsqlite3
database and the DNS servers' command lines (`dns`). (The Vagrant machines' provisioning,
which uses them, is lab/vagrant/provision.py.)

    python -m lab render --node server1 --mode reference --out DIR   # one node's files

Only the standard library is used (the Vagrant machines run this with Debian 12's python3).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..topology import Node, Topology
from .dns import (
    MINIDNS_METRICS_PORT,
    MINIDNS_PIDFILE,
    minidns_args,
    pdns_config,
    pdns_server_args,
    pdnsutil_script,
    zone_file,
)
from .frr_config import frr_config, frr_daemons
from .minibgp_config import MINIBGP_METRICS_PORT, minibgp_config
from .modes import MODES, Mode

__all__ = [
    "MINIBGP_METRICS_PORT",
    "MINIDNS_METRICS_PORT",
    "MINIDNS_PIDFILE",
    "MODES",
    "Mode",
    "NodeFiles",
    "frr_config",
    "frr_daemons",
    "minibgp_config",
    "minidns_args",
    "node_files",
    "pdns_server_args",
    "zone_file",
]


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


def node_files(topology: Topology, node: Node, mode: Mode, run_dir: str) -> NodeFiles:
    """Every file one node needs in one mode; paths inside them point into `run_dir`."""
    files: dict[str, str] = {}
    zone = topology.service.zone
    if node.role == "router":
        files["frr.conf"] = frr_config(topology, node, mode)
    elif node.role == "server" and mode == "reference":
        files["frr.conf"] = frr_config(topology, node, mode)
        files["pdns.conf"] = pdns_config(topology, node, f"{run_dir}/pdns.sqlite3")
        files["pdnsutil.sh"] = pdnsutil_script(topology, run_dir)
    elif node.role == "server":
        files["minibgp.toml"] = minibgp_config(
            topology, node, f"{run_dir}/minibgp.sock", f"{run_dir}/{MINIDNS_PIDFILE}"
        )
        files[f"{zone}.zone"] = zone_file(topology)
    return NodeFiles(files)
