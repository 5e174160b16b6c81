"""`lab generate`: a topology file shaped like the Internet, of any size, for scale tests.

    python -m lab generate --routers 100 --out /tmp/internet-100.toml

The hierarchy is the one `lab/topologies/global.toml` draws by hand: a few tier-1 transit ASes
(two routers each, peering in a full mesh), regional ISPs (one or two routers, customers of one
or two transits, some peering with each other), enterprise networks (one router, customers of
one or two ISPs), anycast sites at ISPs (one local, NO_EXPORT), and a client behind every
enterprise network and every ISP's first router until the clients run out. The same arguments
(and `--seed`) always give the same file.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

TIER1_ASES = 3
TIER1_ROUTERS = 2
FIRST_TIER1_ASN = 65536  # RFC 5398 documentation ASNs, then RFC 6996 private ones
FIRST_ISP_ASN = 4200000000
FIRST_SITE_ASN = 64512
ANYCAST = "169.254.0.1/32"
ANYCAST6 = "2001:db8:53::1/128"


@dataclass
class _As:
    name: str
    asn: int
    routers: list[str]
    tier: str  # "transit", "isp", "enterprise"


@dataclass
class _Plan:
    ases: list[_As] = field(default_factory=list)
    links: list[tuple[str, str, str | None]] = field(default_factory=list)  # a, b, relationship
    sites: list[tuple[str, str, int, bool]] = field(default_factory=list)  # site, router, AS, local
    clients: list[tuple[str, str]] = field(default_factory=list)  # client, router


def generate(
    routers: int, sites: int = 6, clients: int | None = None, seed: int = 1, ipv6: bool = True
) -> str:
    """The TOML text of a topology with `routers` routers (at least 10)."""
    if routers < 10:
        raise ValueError("at least 10 routers (6 of them are the tier-1 transits')")
    if sites < 1:
        raise ValueError("at least one site")
    plan = _plan(routers, sites, clients, random.Random(seed))
    return _toml(plan, routers, seed, ipv6)


def _plan(routers: int, sites: int, clients: int | None, rng: random.Random) -> _Plan:
    plan = _Plan()
    transits = [
        _As(f"t{i + 1}", FIRST_TIER1_ASN + i, [f"t{i + 1}-r{j + 1}" for j in range(TIER1_ROUTERS)],
            "transit")
        for i in range(TIER1_ASES)
    ]  # fmt: skip
    plan.ases += transits
    left = routers - TIER1_ASES * TIER1_ROUTERS
    isp_routers = max(2, round(left * 0.45))
    isps: list[_As] = []
    while isp_routers > 0:
        size = 2 if isp_routers >= 2 and rng.random() < 0.5 else 1
        index = len(isps) + 1
        isps.append(
            _As(f"isp{index}", FIRST_ISP_ASN + index, [f"isp{index}-r{j + 1}" for j in range(size)],
                "isp")
        )  # fmt: skip
        isp_routers -= size
    enterprises = [
        _As(f"ent{i + 1}", FIRST_ISP_ASN + 1000 + i, [f"ent{i + 1}"], "enterprise")
        for i in range(left - sum(len(a.routers) for a in isps))
    ]
    plan.ases += isps + enterprises
    for autonomous in plan.ases:  # iBGP: a full mesh inside each AS
        names = autonomous.routers
        plan.links += [(a, b, None) for i, a in enumerate(names) for b in names[i + 1 :]]
    for i, a in enumerate(transits):  # tier 1: everyone peers with everyone
        for b in transits[i + 1 :]:
            plan.links.append((rng.choice(a.routers), rng.choice(b.routers), "peer"))
    for isp in isps:
        for transit in rng.sample(transits, rng.choice((1, 2))):
            plan.links.append(
                (rng.choice(transit.routers), rng.choice(isp.routers), "provider-customer")
            )
    for i, a in enumerate(isps):
        for b in isps[i + 1 :]:
            if rng.random() < min(0.3, 3 / len(isps)):
                plan.links.append((rng.choice(a.routers), rng.choice(b.routers), "peer"))
    chosen = rng.sample(isps, min(sites, len(isps)))
    for i, isp in enumerate(chosen):
        local = i == sites - 1 and sites > 1
        plan.sites.append((f"site{i + 1}", isp.routers[0], FIRST_SITE_ASN + i, local))
    # A local site's ISP passes none of the anycast routes to its customers (its best one says
    # NO_EXPORT): its enterprise customers buy from another ISP too.
    local_isps = [chosen[i] for i, (_, _, _, local) in enumerate(plan.sites) if local]
    for enterprise in enterprises:
        providers = rng.sample(isps, min(len(isps), rng.choice((1, 1, 2))))
        if len(isps) > 1 and all(provider in local_isps for provider in providers):
            providers.append(rng.choice([isp for isp in isps if isp not in local_isps]))
        for isp in providers:
            plan.links.append((rng.choice(isp.routers), enterprise.routers[0], "provider-customer"))
    hosts = [e.routers[0] for e in enterprises] + [isp.routers[-1] for isp in isps]
    wanted = len(hosts) if clients is None else clients
    plan.clients = [(f"client{i + 1}", hosts[i % len(hosts)]) for i in range(wanted)]
    return plan


def _toml(plan: _Plan, routers: int, seed: int, ipv6: bool) -> str:
    tiers = {
        tier: sum(1 for a in plan.ases if a.tier == tier)
        for tier in ("transit", "isp", "enterprise")
    }
    lines = [
        f"# Generated by `python -m lab generate --routers {routers} --seed {seed}`: "
        f"{tiers['transit']} tier-1 transits, {tiers['isp']} ISPs,",
        f"# {tiers['enterprise']} enterprise networks, {len(plan.sites)} anycast sites, "
        f"{len(plan.clients)} clients.",
        "",
        "[service]",
        f'anycast = "{ANYCAST}"',
    ]
    if ipv6:
        lines.append(f'anycast6 = "{ANYCAST6}"')
    lines.append("")
    for autonomous in plan.ases:
        for router in autonomous.routers:
            lines += [f"[nodes.{router}]", 'role = "router"', f"asn = {autonomous.asn}", ""]
    for site, _, asn, local in plan.sites:
        lines += [f"[nodes.{site}]", 'role = "server"', f"asn = {asn}"]
        if local:
            lines.append('scope = "local"')
        lines.append("")
    for client, _ in plan.clients:
        lines += [f"[nodes.{client}]", 'role = "client"', ""]
    links = plan.links + [(router, site, None) for site, router, _, _ in plan.sites]
    links += [(router, client, None) for client, router in plan.clients]
    for number, (a, b, relationship) in enumerate(links, start=1):
        lines += ["[[links]]", f'network = "10.{number // 256}.{number % 256}.0/24"']
        if ipv6:
            lines.append(f'network6 = "2001:db8:1:{number:x}::/64"')
        if relationship is not None:
            lines.append(f'relationship = "{relationship}"')
        lines += [f'ends = ["{a}", "{b}"]', ""]
    return "\n".join(lines)
