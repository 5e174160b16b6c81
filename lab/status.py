"""`lab status`: the lab at a glance."""

from __future__ import annotations

from pathlib import Path

from .lab import Lab
from .te import current


def format_status(lab: Lab) -> str:
    """Nodes with their daemons, BGP sessions, and the site each router's best path leads to."""
    if not lab.is_up():
        return f"lab {lab.name!r} is down"
    state, topology = lab.state, lab.topology
    source = Path(state.topology)
    if source.is_relative_to(Path.cwd()):
        source = source.relative_to(Path.cwd())
    lines = [
        f"lab {lab.name!r}: {state.mode} mode, topology {topology.name} ({source}), "
        f"state in {lab.state_dir}",
        "",
    ]
    width = max(8, *(len(name) for name in topology.nodes))
    space = max(24, len(lab.prefix) + width)
    lines.append(f"{'node':{width}}  {'namespace':{space}}  {'links':5}  daemons")
    for node in topology.nodes.values():
        links = "down" if node.name in state.halted else "up"
        daemons = ", ".join(
            f"{d.name} ({d.pid}{'' if d.is_running() else ', gone'})"
            for d in lab.daemons_of(node.name)
        )
        namespace = lab.prefix + node.name
        lines.append(f"{node.name:{width}}  {namespace:{space}}  {links:5}  {daemons or '-'}")
    lines += ["", "BGP sessions (as FRR or minibgp reports them):"]
    for node in topology.nodes.values():
        if not any(d.name in ("bgpd", "minibgp") for d in lab.daemons_of(node.name)):
            continue
        sessions = lab.bgp_sessions(node.name)
        text = ", ".join(f"{peer} {state}" for peer, state in sessions.items()) or "none"
        lines.append(f"  {node.name:{width}} {text}")
    changed = [site.name for site in topology.sites if site.name in state.announcements]
    if changed:
        lines += ["", "Announcements changed at runtime (lab te; restore undoes):"]
        lines += [f"  {site:{width}} {current(lab, site).describe()}" for site in changed]
    for family in topology.families:
        anycast = topology.service.anycast if family == 4 else topology.service.anycast6
        assert anycast is not None
        lines += ["", f"{anycast.network}:"]
        for router in topology.routers:
            if router.name in state.halted:
                lines.append(f"  {router.name} is halted")
                continue
            paths = lab.bgp_paths(router.name, family)
            best = [p for p in paths if p.best]
            if not best:
                lines.append(f"  {router.name} has no route")
                continue
            how = "iBGP" if best[0].internal else "eBGP"
            lines.append(
                f"  {router.name} prefers {best[0].server} (next hop {best[0].next_hop}, "
                f"AS path {best[0].as_path}, {how}; {len(paths)} path(s) known)"
            )
    return "\n".join(lines)
