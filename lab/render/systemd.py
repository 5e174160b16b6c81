"""systemd units for a site's server on a Vagrant machine (python mode): minidns and minibgp."""

from __future__ import annotations

from ..topology import Node, Topology
from .dns import MINIDNS_PIDFILE, minidns_args

UNIT = """[Unit]
Description={what}
After=network-online.target
Wants=network-online.target

[Service]
{addresses}
ExecStart={command}{after_start}
Restart=on-failure

[Install]
WantedBy=multi-user.target
"""


def systemd_units(
    topology: Topology, node: Node, run_dir: str, zone_path: str, python: str
) -> dict[str, str]:
    service = topology.service
    addresses = [f"ExecStartPre=/sbin/ip addr replace {service.anycast} dev lo"]
    if service.anycast6 is not None:
        addresses.append(f"ExecStartPre=/sbin/ip -6 addr replace {service.anycast6} dev lo")
    minidns = " ".join([python, "-m", "minidns", *minidns_args(topology, node, zone_path)])
    minibgp = f"{python} -m minibgp --config {run_dir}/minibgp.toml"
    prefixes = ", ".join(str(prefix) for prefix in service.prefixes)
    listening_on = " and ".join(str(a) for a in (service.address, service.address6) if a)
    return {
        "anycast-minidns.service": UNIT.format(
            what=f"minidns answering for {service.zone} on {listening_on}",
            addresses="\n".join(addresses),
            command=minidns,
            # minibgp's process health check reads the PID from here
            after_start=f"\nExecStartPost=/bin/sh -c 'echo $MAINPID > {run_dir}/{MINIDNS_PIDFILE}'",
        ),
        "anycast-minibgp.service": UNIT.format(
            what=f"minibgp announcing {prefixes}",
            addresses="\n".join(addresses),
            command=minibgp,
            after_start="",
        ),
    }
