"""`lab status`: the lab at a glance."""

from __future__ import annotations

from lab.lab import Lab


def format_status(lab: Lab) -> str:
    """Nodes with their daemons, BGP sessions, and the server each router prefers."""
    if not lab.is_up():
        return f"lab {lab.name!r} is down"
    state = lab.state
    lines = [f"lab {lab.name!r}: {state.mode} mode, state in {lab.state_dir}", ""]
    lines.append(f"{'node':8}  {'namespace':24}  {'links':5}  daemons")
    for node in lab.topology.nodes.values():
        links = "down" if node.name in state.halted else "up"
        daemons = ", ".join(
            f"{d.name} ({d.pid}{'' if d.is_running() else ', gone'})"
            for d in lab.daemons_of(node.name)
        )
        lines.append(f"{node.name:8}  {lab.prefix + node.name:24}  {links:5}  {daemons or '-'}")
    lines += ["", "BGP sessions (as FRR or minibgp reports them):"]
    for node in lab.topology.nodes.values():
        if not any(d.name in ("bgpd", "minibgp") for d in lab.daemons_of(node.name)):
            continue
        sessions = lab.bgp_sessions(node.name)
        text = ", ".join(f"{peer} {state}" for peer, state in sessions.items()) or "none"
        lines.append(f"  {node.name:8} {text}")
    anycast = lab.topology.service.anycast.network
    lines += ["", f"{anycast}:"]
    for router in lab.topology.of_role("router"):
        if router.name in state.halted:
            lines.append(f"  {router.name} is halted")
            continue
        paths = lab.bgp_paths(router.name)
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
