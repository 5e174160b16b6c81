"""The lab's actions the page offers, done the way `lab failover` does them.

Each takes a `Lab` and a target, blocks until it is done (the server runs it in a thread) and
returns a sentence for the page; a refusal is a `LabError` with a sentence too. Whether an
action makes sense now (a node already halted, a link already cut) is decided before, by
`LabView.refusal`, from what the page shows.

    halt / start NODE      `lab halt` / `lab start`; start on a node with a dead daemon
                           halts it first (a restart)
    kill-dns SERVER        SIGKILL to minidns (python mode) or pdns_server (reference mode)
    hang / resume NODE     SIGSTOP / SIGCONT to every process in the node's namespace
    drain / undrain SERVER minibgp's drain (RFC 8326), or FRR's `bgp graceful-shutdown`
    cut / restore LINK     the first end's interface down (the other end loses carrier) / up
    silence / unsilence    a `blackhole` qdisc on both ends: carrier stays, every packet is
                           dropped

and, on a site, what `lab te` does (`lab.te.change`; `view.TE_ACTIONS` has each in its words):

    prepend-more / prepend-none   prepend one more time / not at all
    no-export / export            add NO_EXPORT (a local node) / take it away
    withdraw / announce           withdraw the anycast prefixes / announce them again
    as-configured                 announce as the topology file says
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable

from minibgp.control import ControlError, request

from ..lab import Lab, LabError
from ..netns import pids_in
from ..te import TeAction, change, current
from ..topology.reader import MAX_PREPEND
from .view import TE_ACTIONS

ActionFunction = Callable[[Lab, str], str]


def halt(lab: Lab, node: str) -> str:
    stopped = lab.halt(node)
    names = ", ".join(d.name for d in stopped) or "no daemons"
    return f"{node} halted ({names} stopped, links down)"


def start(lab: Lab, node: str) -> str:
    restarted = node not in lab.state.halted
    if restarted:
        lab.halt(node)
    started = lab.start(node)
    names = ", ".join(d.name for d in started) or "no daemons"
    return f"{node} {'restarted' if restarted else 'started'}: links up, {names}"


def kill_dns(lab: Lab, node: str) -> str:
    for daemon in lab.daemons_of(node):
        if daemon.name in ("minidns", "pdns_server") and daemon.is_running():
            os.kill(daemon.pid, signal.SIGKILL)
            return f"{daemon.name} on {node} killed (SIGKILL, pid {daemon.pid})"
    raise LabError(f"{node}'s DNS server is not running")


def _signal_all(lab: Lab, node: str, signum: int) -> list[int]:
    pids = pids_in(lab.host(node).name)
    if not pids:
        raise LabError(f"{node} runs no process")
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
    return pids


def hang(lab: Lab, node: str) -> str:
    pids = _signal_all(lab, node, signal.SIGSTOP)
    return f"{node} hung: {len(pids)} processes stopped (SIGSTOP)"


def resume(lab: Lab, node: str) -> str:
    pids = _signal_all(lab, node, signal.SIGCONT)
    return f"{node} resumed: {len(pids)} processes continued (SIGCONT)"


def _speaker_socket(lab: Lab, node: str) -> str:
    return str(lab.run_dir(node) / "minibgp.sock")


def _server_bgp(lab: Lab, node: str, line: str) -> None:
    asn = lab.topology.node(node).asn
    lab.frr(node).vtysh("configure terminal", f"router bgp {asn}", line)


def drain(lab: Lab, node: str) -> str:
    if lab.mode == "python":
        try:
            request(lab.run_dir(node) / "minibgp.sock", "drain", wait=False)
        except ControlError as error:
            raise LabError(f"{node}: minibgp did not drain: {error}") from None
        return f"{node} drained: minibgp announces with GRACEFUL_SHUTDOWN, then withdraws"
    _server_bgp(lab, node, "bgp graceful-shutdown")
    return f"{node} drained: FRR's bgp graceful-shutdown (routes carry 65535:0)"


def undrain(lab: Lab, node: str) -> str:
    if lab.mode == "python":
        try:
            request(lab.run_dir(node) / "minibgp.sock", "undrain")
        except ControlError as error:
            raise LabError(f"{node}: minibgp did not undrain: {error}") from None
        return f"{node} undrained: minibgp announces again"
    _server_bgp(lab, node, "no bgp graceful-shutdown")
    return f"{node} undrained: no bgp graceful-shutdown"


def _ends(lab: Lab, link_id: str) -> list[tuple[str, str]]:
    try:
        link = lab.topology.links[int(link_id)]
    except (ValueError, IndexError):
        raise LabError(f"no link {link_id!r}") from None
    return [(end.node, end.name) for end in link.ends]


def cut(lab: Lab, link_id: str) -> str:
    node, interface = _ends(lab, link_id)[0]
    lab.host(node).ip("link", "set", interface, "down")
    return f"link {_label(lab, link_id)} cut ({interface} of {node} down)"


def restore(lab: Lab, link_id: str) -> str:
    for node, interface in _ends(lab, link_id):
        lab.host(node).ip("link", "set", interface, "up")
    return f"link {_label(lab, link_id)} restored"


def silence(lab: Lab, link_id: str) -> str:
    for node, interface in _ends(lab, link_id):
        lab.host(node).run(["tc", "qdisc", "replace", "dev", interface, "root", "blackhole"])
    return f"link {_label(lab, link_id)} silent (blackhole qdisc on both ends, carrier up)"


def unsilence(lab: Lab, link_id: str) -> str:
    for node, interface in _ends(lab, link_id):
        lab.host(node).run(["tc", "qdisc", "del", "dev", interface, "root"], check=False)
    return f"link {_label(lab, link_id)} speaks again"


def _label(lab: Lab, link_id: str) -> str:
    (a, _), (b, _) = _ends(lab, link_id)
    return f"{a}↔{b}"


def _te(lab: Lab, node: str, action: TeAction) -> str:
    before, after = change(lab, node, action)
    if after == before:
        return f"{node} already announces: {after.describe()}"
    return f"{node} now announces: {after.describe()} (was: {before.describe()})"


def prepend_more(lab: Lab, node: str) -> str:
    prepend = current(lab, node).announcement.prepend
    if prepend >= MAX_PREPEND:
        raise LabError(f"{node} already prepends {MAX_PREPEND} times")
    return _te(lab, node, TeAction("prepend", prepend + 1))


def _te_action(key: str) -> ActionFunction:
    """The page's traffic-engineering button `key`, done as `lab te SITE <its words>`."""
    action = TeAction.parse(TE_ACTIONS[key].split())
    return lambda lab, node: _te(lab, node, action)


ACTIONS: dict[str, ActionFunction] = {
    "halt": halt,
    "start": start,
    "kill-dns": kill_dns,
    "hang": hang,
    "resume": resume,
    "drain": drain,
    "undrain": undrain,
    "cut": cut,
    "restore": restore,
    "silence": silence,
    "unsilence": unsilence,
    "prepend-more": prepend_more,
    **{key: _te_action(key) for key in TE_ACTIONS if key != "prepend-more"},
}
