"""The FRR commands that change a reference-mode site's announcement while it runs (pure).

A site's frr.conf (`lab.render.frr_config`) originates the anycast prefixes with `network` and
gives them their attributes in the route-map `announce`, applied outbound on every session. A
change rewrites that route-map's `set` lines in place, adds or removes the `network`
statements (withdraw, announce), and then has bgpd send its routes again with the new policy
(`clear bgp ... soft out`: the sessions stay up, only UPDATEs flow).

bgpd applies a changed route-map on its own only when `bgp route-map delay-timer` fires (5 s
after the change by default); the change sets that timer to 0, which turns the automatic run
off and leaves it to the soft clear that follows at once.
"""

from __future__ import annotations

from ..render import policy
from ..topology import Family, Node, Service
from .action import SiteAnnouncement


def configuration(
    site: Node, service: Service, before: SiteAnnouncement, after: SiteAnnouncement
) -> list[str]:
    """The configure-mode lines that take `site` from announcing `before` to `after`."""
    if site.asn is None:
        raise ValueError(f"{site.name} does not speak BGP")
    sets = policy.announce_sets(site.asn, after.announcement)
    lines = ["bgp route-map delay-timer 0"]
    for family in service_families(service):
        lines += [
            f"route-map {policy.ANNOUNCE_ROUTE_MAP} permit {policy.ANNOUNCE_SEQUENCE[family]}",
            " no set as-path prepend",
            " no set metric",
            " no set community",
            *sets,
            "exit",
        ]
    if before.withdrawn != after.withdrawn:
        no = "no " if after.withdrawn else ""
        lines.append(f"router bgp {site.asn}")
        for family, prefix in zip(service_families(service), service.prefixes, strict=True):
            lines += [
                f" address-family ipv{family} unicast",
                f"  {no}network {prefix}",
                " exit-address-family",
            ]
        lines.append("exit")
    return lines


def soft_clear(service: Service) -> list[str]:
    """The commands (enable mode) that send every neighbour the routes under the new policy."""
    return [f"clear bgp ipv{family} unicast * soft out" for family in service_families(service)]


def service_families(service: Service) -> tuple[Family, ...]:
    return (4,) if service.anycast6 is None else (4, 6)
