"""Carrying out a traffic-engineering action on a running lab's site.

python mode: minibgp's control socket, the runtime announcements of `python -m minibgp announce
/ withdraw / restore` (only the difference goes out: one UPDATE per prefix that changed).
reference mode: the site's bgpd through its vty socket, as `vtysh` would (`lab.te.frr`): the
route-map `announce` rewritten, `network` statements added or removed, then a soft clear.
Nothing under the lab's run directory is edited: the speakers are told, as an operator would.

The lab records what each site announces (`Lab.record_announcement`), so that the next action
starts from it and `lab start` after `lab halt` (a speaker started from its config again)
forgets it.
"""

from __future__ import annotations

from minibgp.control import ControlError, announce, restore, withdraw

from ..lab import Lab, LabError
from ..vty import VtyError
from . import frr
from .action import SiteAnnouncement, TeAction, TeError, apply


def current(lab: Lab, site: str) -> SiteAnnouncement:
    """What a site announces now."""
    announcement, withdrawn = lab.announcement(site)
    return SiteAnnouncement(announcement, withdrawn)


def change(lab: Lab, site: str, action: TeAction) -> tuple[SiteAnnouncement, SiteAnnouncement]:
    """Carry out `action` on `site`'s speaker; return what it announced before and after."""
    node = lab.topology.node(site)
    if node.role != "server":
        sites = ", ".join(s.name for s in lab.topology.sites)
        raise LabError(f"{site} is a {node.role}, not an anycast site ({sites})")
    if not lab.running(site) or not lab.daemons_of(site):
        raise LabError(f"{site} is halted: `python -m lab start {site} --name {lab.name}` first")
    before = current(lab, site)
    try:
        after = apply(action, before, node.announcement)
    except TeError as error:
        raise LabError(f"{site}: {error}") from None
    if after == before:
        return before, after  # nothing to tell (a speaker refuses to withdraw twice)
    if lab.mode == "python":
        _tell_minibgp(lab, site, after, restored=action.verb == "restore")
    else:
        _tell_bgpd(lab, site, before, after)
    configured = after == SiteAnnouncement(node.announcement)
    lab.record_announcement(
        site, None if configured else after.announcement, withdrawn=after.withdrawn
    )
    return before, after


def _tell_minibgp(lab: Lab, site: str, after: SiteAnnouncement, restored: bool) -> None:
    socket = lab.minibgp_socket(site)
    a = after.announcement
    try:
        for prefix in lab.topology.service.prefixes:
            if restored:
                restore(socket, str(prefix))
            elif after.withdrawn:
                withdraw(socket, str(prefix))
            else:
                announce(
                    socket,
                    str(prefix),
                    as_path_prepend=a.prepend,
                    med=a.med,
                    communities=list(a.all_communities()),
                )
    except ControlError as error:
        raise LabError(f"{site}: minibgp refused: {error}") from None


def _tell_bgpd(lab: Lab, site: str, before: SiteAnnouncement, after: SiteAnnouncement) -> None:
    service, node = lab.topology.service, lab.topology.node(site)
    try:
        with lab.vty(site) as vty:
            vty.configure(*frr.configuration(node, service, before, after))
            for command in frr.soft_clear(service):
                vty.command(command)
    except VtyError as error:
        raise LabError(f"{site}: bgpd refused: {error}") from None
