"""Routing policy in FRR's words: business relationships, graceful shutdown, a site's announcement.

Between ASes, a router treats its neighbour's routes by what the neighbour is to it, the way
networks on the Internet do (Gao and Rexford, "Stable Internet routing without global
coordination", 2001; RFC 9234 §1 names the same roles):

- **import**: routes from a customer get LOCAL_PREF 200, from a peer 150, from a provider 100, so
  that a customer's route wins over a peer's over a provider's (RFC 4271 §9.1.1); each is tagged
  with a large community (RFC 8092) saying where it was learnt, `ASN:1:1` customer, `ASN:1:2`
  peer, `ASN:1:3` provider, which iBGP carries to the AS's other routers;
- **export** (valley-free): everything goes to customers; to peers and providers only routes
  learnt from customers and the router's own, so an AS never carries traffic between two of
  its peers or providers for free.

A route carrying GRACEFUL_SHUTDOWN (65535:0) gets LOCAL_PREF 0 on import, whatever the
neighbour, so that any other path wins while it drains (RFC 8326 §4.1). In a topology without
relationships (the original lab) only the routers' sessions to their servers have an import
policy: `from-server`, graceful shutdown alone.

A site announces the anycast prefixes and nothing else (`announce`), with its prepends, MED and
communities, and NO_EXPORT when it is a local node (RFC 4786 §4.4).
"""

from __future__ import annotations

from ..topology import RELATIONSHIPS, Announcement, Relationship

GSHUT_COMMUNITY_LIST = "graceful-shutdown"
FROM_SERVER_ROUTE_MAP = "from-server"
ANNOUNCE_ROUTE_MAP = "announce"
ANYCAST_PREFIX_LIST = "anycast"
ANNOUNCE_SEQUENCE = {4: 10, 6: 20}  # the `announce` route-map's entry for each family
LOCAL_PREFERENCE: dict[Relationship, int] = {"customer": 200, "peer": 150, "provider": 100}
LEARNED_FROM: dict[Relationship, int] = {"customer": 1, "peer": 2, "provider": 3}
NOT_FROM_CUSTOMER_LIST = "from-peer-or-provider"
GSHUT_LOCAL_PREFERENCE = 0  # RFC 8326 §4.1 suggests 0


def import_map(relationship: Relationship) -> str:
    return f"from-{relationship}"


def export_map(relationship: Relationship) -> str:
    return f"to-{relationship}"


def learned_from(asn: int, relationship: Relationship) -> str:
    """The large community (RFC 8092 §3: global administrator, two data parts) tagging a route
    learnt from a neighbour of that kind."""
    return f"{asn}:1:{LEARNED_FROM[relationship]}"


def graceful_shutdown_list() -> list[str]:
    return [
        f"bgp community-list standard {GSHUT_COMMUNITY_LIST} seq 5 permit graceful-shutdown",
        "!",
    ]


def from_server_map() -> list[str]:
    """The original lab's import policy from a server: graceful shutdown only (RFC 8326 §4.1)."""
    return [
        f"route-map {FROM_SERVER_ROUTE_MAP} permit 10",
        f" match community {GSHUT_COMMUNITY_LIST}",
        f" set local-preference {GSHUT_LOCAL_PREFERENCE}",
        "!",
        f"route-map {FROM_SERVER_ROUTE_MAP} permit 20",
        "!",
    ]


def relationship_policy(asn: int, relationships: set[Relationship]) -> list[str]:
    """The lists and route-maps a router in `asn` needs for neighbours of these kinds."""
    lines: list[str] = []
    if relationships & {"peer", "provider"}:
        for seq, relationship in enumerate(RELATIONSHIPS[1:], start=1):
            lines.append(
                f"bgp large-community-list standard {NOT_FROM_CUSTOMER_LIST} seq {5 * seq} "
                f"permit {learned_from(asn, relationship)}"
            )
        lines.append("!")
    for relationship in RELATIONSHIPS:
        if relationship not in relationships:
            continue
        name, tag = import_map(relationship), learned_from(asn, relationship)
        lines += [
            f"route-map {name} permit 10",
            f" match community {GSHUT_COMMUNITY_LIST}",
            f" set local-preference {GSHUT_LOCAL_PREFERENCE}",
            f" set large-community {tag} additive",
            "!",
            f"route-map {name} permit 20",
            f" set local-preference {LOCAL_PREFERENCE[relationship]}",
            f" set large-community {tag} additive",
            "!",
        ]
        export = export_map(relationship)
        if relationship == "customer":
            lines += [f"route-map {export} permit 10", "!"]
        else:  # valley-free: only customers' routes and our own go to peers and providers
            lines += [
                f"route-map {export} deny 10",
                f" match large-community {NOT_FROM_CUSTOMER_LIST}",
                "!",
                f"route-map {export} permit 20",
                "!",
            ]
    return lines


def announce_map(
    asn: int, announcement: Announcement, prefix4: str, prefix6: str | None
) -> list[str]:
    """A site's export policy: the anycast prefixes only, with the announcement's attributes."""
    lines = [f"ip prefix-list {ANYCAST_PREFIX_LIST} seq 5 permit {prefix4}", "!"]
    if prefix6 is not None:
        lines += [f"ipv6 prefix-list {ANYCAST_PREFIX_LIST} seq 5 permit {prefix6}", "!"]
    sets = announce_sets(asn, announcement)
    lines += [
        f"route-map {ANNOUNCE_ROUTE_MAP} permit {ANNOUNCE_SEQUENCE[4]}",
        f" match ip address prefix-list {ANYCAST_PREFIX_LIST}",
        *sets,
        "!",
    ]
    if prefix6 is not None:
        lines += [
            f"route-map {ANNOUNCE_ROUTE_MAP} permit {ANNOUNCE_SEQUENCE[6]}",
            f" match ipv6 address prefix-list {ANYCAST_PREFIX_LIST}",
            *sets,
            "!",
        ]
    return lines


def announce_sets(asn: int, announcement: Announcement) -> list[str]:
    """The `set` lines of a site's announcement: AS-path prepending, MED (RFC 4271 §5.1.4),
    communities (RFC 1997), NO_EXPORT for a local node (RFC 4786 §4.4)."""
    sets = []
    if announcement.prepend:
        sets.append(" set as-path prepend " + " ".join([str(asn)] * announcement.prepend))
    if announcement.med is not None:
        sets.append(f" set metric {announcement.med}")
    communities = announcement.all_communities()
    if communities:
        sets.append(" set community " + " ".join(communities) + " additive")
    return sets
