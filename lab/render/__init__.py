"""Every configuration of the lab, rendered from the topology.

The namespace lab and the Vagrant machines use the same texts: FRR configs for the routers and
for the servers in reference mode (`frr_config`, with the routing policy of `policy`), minibgp's
TOML (`minibgp_config`), the zone file, the pdnsutil commands that fill PowerDNS's gsqlite3
database and the DNS servers' command lines (`dns`), systemd units (`systemd`) and the JSON the
Vagrantfile reads (`vagrant`).

    python -m lab render --node server1 --mode reference --out DIR   # one node's files
    python -m lab render --format json                               # the topology for Vagrant

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
from .minibgp_config import minibgp_config
from .modes import MODES, Mode
from .systemd import systemd_units
from .vagrant import topology_json

__all__ = [
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
    "topology_json",
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


def node_files(
    topology: Topology, node: Node, mode: Mode, run_dir: str, systemd_python: str | None = None
) -> NodeFiles:
    """Every file one node needs in one mode; paths inside them point into `run_dir`.

    With `systemd_python` (the Vagrant machines), python mode also gets systemd units that run
    minibgp and minidns with that interpreter.
    """
    files: dict[str, str] = {}
    zone = topology.service.zone
    if node.role == "router":
        files["frr.conf"] = frr_config(topology, node, mode)
    elif node.role == "server" and mode == "reference":
        files["frr.conf"] = frr_config(topology, node, mode)
        files["pdns.conf"] = pdns_config(topology, node, f"{run_dir}/pdns.sqlite3")
        files["pdnsutil.sh"] = pdnsutil_script(topology, run_dir)
    elif node.role == "server":
        zone_path = f"{run_dir}/{zone}.zone"
        files["minibgp.toml"] = minibgp_config(
            topology, node, f"{run_dir}/minibgp.sock", f"{run_dir}/{MINIDNS_PIDFILE}"
        )
        files[f"{zone}.zone"] = zone_file(topology)
        if systemd_python is not None:
            files.update(systemd_units(topology, node, run_dir, zone_path, systemd_python))
    return NodeFiles(files)
