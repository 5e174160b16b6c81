"""`lab capture NODE`: tcpdump on a node's link, as the seed's `sudo tcpdump -i enp0s8`."""

from __future__ import annotations

from .topology import Topology


def tcpdump_argv(
    topology: Topology,
    node: str,
    interface: str | None = None,
    write: str | None = None,
    count: int | None = None,
    filter_words: list[str] | None = None,
) -> list[str]:
    """tcpdump's command line: numeric, line-buffered, on the node's first link by default."""
    spec = topology.node(node)
    if interface is None:
        if not spec.interfaces:
            raise ValueError(f"{node} has no links")
        interface = spec.interfaces[0].name
    argv = ["tcpdump", "-n", "-l", "-i", interface]
    if write is not None:
        argv += ["-w", write, "-U"]  # -U: each packet reaches the file as it is captured
    if count is not None:
        argv += ["-c", str(count)]
    return argv + list(filter_words or [])
