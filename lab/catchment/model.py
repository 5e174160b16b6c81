"""The catchment map: for each client network and address family, the anycast site it reaches,
as two methods saw it, and the path its router selected.

DNS: the client asks the anycast address and the answer's NSID names the site (RFC 5001).
Verfploeter (de Vries et al., IMC 2017): each site pings the client network from the anycast
address, and the reply goes back to the anycast address, so it arrives at the site whose
catchment the client is in. In a converged lab both name the same site for every client;
`Catchment.agree` says whether they do, `ClientCatchment.verdict` says how a client differs.

Pure: built from what was measured (`lab.catchment.measure` does the measuring).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..answers import Answer
from ..topology import Family

Method = Literal["dns", "verfploeter"]
METHODS: tuple[Method, ...] = ("dns", "verfploeter")
Verdict = Literal[
    "agree",  # both methods name the same single site
    "differ",  # each names one site, not the same
    "split",  # a method saw several sites (answers or replies at more than one)
    "no DNS answer",
    "no echo reply",
    "unanswered",  # neither method saw anything
    "DNS only",  # Verfploeter was not run
]


@dataclass(frozen=True)
class Target:
    """A client network of one family: the client, its address there (what Verfploeter pings),
    the network, and the router it sends its traffic to."""

    client: str
    family: Family
    address: str
    network: str
    router: str


@dataclass(frozen=True)
class Seen:
    """What one method saw of one target: how many answers came from (DNS) or replies arrived
    at (Verfploeter) each site, out of how many asked; the round trip; why nothing, if not."""

    sites: Mapping[str, int] = field(default_factory=dict)
    asked: int = 0
    rtt: float | None = None  # seconds, the median of the round trips measured
    error: str | None = None

    @property
    def site(self) -> str | None:
        """The one site seen; None when there was none or there were several."""
        return next(iter(self.sites)) if len(self.sites) == 1 else None

    @property
    def answered(self) -> int:
        return sum(self.sites.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "sites": dict(self.sites),
            "asked": self.asked,
            "answered": self.answered,
            "rtt_ms": None if self.rtt is None else round(self.rtt * 1000, 3),
            "error": self.error,
        }


def dns_seen(answers: Sequence[Answer]) -> Seen:
    """Several DNS answers of one client and family, summed up."""
    sites = Counter(answer.site for answer in answers if answer.site is not None)
    rtts = [answer.rtt for answer in answers if answer.site is not None and answer.rtt is not None]
    errors = Counter(answer.error for answer in answers if answer.site is None and answer.error)
    return Seen(
        sites=dict(sites.most_common()),
        asked=len(answers),
        rtt=statistics.median(rtts) if rtts else None,
        error=None if sites or not errors else errors.most_common(1)[0][0],
    )


@dataclass(frozen=True)
class SelectedPath:
    """The path a router selected for an anycast prefix (RFC 4271 §9.1.2), and the site it
    leads to (by its next hop or the AS that originates it; None when that does not tell)."""

    router: str
    as_path: str
    next_hop: str
    site: str | None
    paths: int  # how many paths the router knew

    def to_json(self) -> dict[str, Any]:
        return {
            "as_path": self.as_path,
            "next_hop": self.next_hop,
            "site": self.site,
            "paths": self.paths,
        }


@dataclass(frozen=True)
class ClientCatchment:
    """One client network over one family: where each method says it goes, and its router's path."""

    target: Target
    dns: Seen
    verfploeter: Seen | None  # None: not measured
    path: SelectedPath | None  # the best path of the client's router; None: it has none

    @property
    def client(self) -> str:
        return self.target.client

    @property
    def family(self) -> Family:
        return self.target.family

    @property
    def site(self) -> str | None:
        """The site whose catchment the client is in: the one that answered its DNS queries,
        else the one its echo replies reached (a site that routes but does not answer)."""
        if self.dns.site is not None:
            return self.dns.site
        return None if self.verfploeter is None else self.verfploeter.site

    @property
    def verdict(self) -> Verdict:
        return compare(self.dns, self.verfploeter)

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.target.address,
            "network": self.target.network,
            "site": self.site,
            "dns": self.dns.to_json(),
            "verfploeter": None if self.verfploeter is None else self.verfploeter.to_json(),
            "path": None if self.path is None else self.path.to_json(),
            "verdict": self.verdict,
        }


def compare(dns: Seen, verfploeter: Seen | None) -> Verdict:
    """Whether the two methods saw the same single site for a target, and if not, how not."""
    if verfploeter is None:
        return "DNS only"
    if not dns.sites and not verfploeter.sites:
        return "unanswered"
    if not dns.sites:
        return "no DNS answer"
    if not verfploeter.sites:
        return "no echo reply"
    if len(dns.sites) > 1 or len(verfploeter.sites) > 1:
        return "split"
    return "agree" if dns.site == verfploeter.site else "differ"


@dataclass(frozen=True)
class Move:
    """A client whose site changed between two measurements (None: not served)."""

    client: str
    family: Family
    before: str | None
    after: str | None


@dataclass(frozen=True)
class Catchment:
    """The catchment of every client network of a lab, over each family, at one moment."""

    lab: str
    topology: str
    mode: str
    sites: tuple[str, ...]
    families: tuple[Family, ...]
    clients: tuple[ClientCatchment, ...]
    paths: Mapping[tuple[str, Family], SelectedPath | None]  # every router's selected path
    measured_at: float  # wall clock, seconds
    duration: float  # seconds the measurement took

    def get(self, client: str, family: Family = 4) -> ClientCatchment:
        for entry in self.clients:
            if entry.client == client and entry.family == family:
                return entry
        raise KeyError(f"no client {client!r} over IPv{family} in this catchment")

    def sites_of(self, family: Family = 4, method: Method | None = None) -> dict[str, str | None]:
        """Client → its site over `family`: as `method` saw it, or `ClientCatchment.site`."""
        return {
            entry.client: _site_by(entry, method)
            for entry in self.clients
            if entry.family == family
        }

    def clients_of(self, family: Family = 4) -> dict[str | None, list[str]]:
        """Site → the clients it serves over `family`, every site listed (None: not served)."""
        result: dict[str | None, list[str]] = {site: [] for site in self.sites}
        for client, site in self.sites_of(family).items():
            result.setdefault(site, []).append(client)
        return result

    @property
    def verfploeter_run(self) -> bool:
        return any(entry.verfploeter is not None for entry in self.clients)

    @property
    def agree(self) -> bool:
        """Every client is served, and both methods (when both ran) name the same site."""
        if not self.verfploeter_run:
            return all(entry.dns.site is not None for entry in self.clients)
        return all(entry.verdict == "agree" for entry in self.clients)

    def problems(self) -> list[ClientCatchment]:
        """The clients where the methods do not agree on one site (or DNS alone saw none)."""
        if not self.verfploeter_run:
            return [entry for entry in self.clients if entry.dns.site is None]
        return [entry for entry in self.clients if entry.verdict != "agree"]

    def moves(self, later: Catchment) -> list[Move]:
        """The clients served by another site in `later` than here."""
        return moves(self, later)

    def to_json(self) -> dict[str, Any]:
        clients: dict[str, dict[str, Any]] = {}
        for entry in self.clients:
            item = clients.setdefault(entry.client, {"router": entry.target.router, "families": {}})
            item["families"][f"ipv{entry.family}"] = entry.to_json()
        return {
            "lab": self.lab,
            "topology": self.topology,
            "mode": self.mode,
            "measured_at": round(self.measured_at, 3),
            "duration_s": round(self.duration, 3),
            "sites": list(self.sites),
            "families": [f"ipv{family}" for family in self.families],
            "methods": list(METHODS if self.verfploeter_run else METHODS[:1]),
            "agree": self.agree,
            "clients": clients,
            "catchment": {
                f"ipv{family}": {
                    site if site is not None else "none": clients_
                    for site, clients_ in self.clients_of(family).items()
                }
                for family in self.families
            },
            "routers": self._routers_json(),
        }

    def _routers_json(self) -> dict[str, dict[str, Any]]:
        routers: dict[str, dict[str, Any]] = {}
        for (router, family), path in self.paths.items():
            routers.setdefault(router, {})[f"ipv{family}"] = (
                None if path is None else path.to_json()
            )
        return routers


def _site_by(entry: ClientCatchment, method: Method | None) -> str | None:
    if method is None:
        return entry.site
    if method == "dns":
        return entry.dns.site
    return None if entry.verfploeter is None else entry.verfploeter.site


def moves(before: Catchment, after: Catchment, method: Method | None = None) -> list[Move]:
    """The clients whose site differs between two measurements, in `after`'s order."""
    found = []
    for family in after.families:
        earlier = before.sites_of(family, method)
        for client, site in after.sites_of(family, method).items():
            if client in earlier and earlier[client] != site:
                found.append(Move(client, family, earlier[client], site))
    return found


def build(
    *,
    lab: str,
    topology: str,
    mode: str,
    sites: Iterable[str],
    targets: Sequence[Target],
    dns: Mapping[Target, Seen],
    verfploeter: Mapping[Target, Seen] | None,
    paths: Mapping[tuple[str, Family], SelectedPath | None],
    measured_at: float,
    duration: float,
) -> Catchment:
    """The catchment from what each method saw of each target, and the routers' paths."""
    return Catchment(
        lab=lab,
        topology=topology,
        mode=mode,
        sites=tuple(sites),
        families=tuple(dict.fromkeys(target.family for target in targets)),
        clients=tuple(
            ClientCatchment(
                target=target,
                dns=dns.get(target, Seen(error="not asked")),
                verfploeter=None if verfploeter is None else verfploeter.get(target, Seen()),
                path=paths.get((target.router, target.family)),
            )
            for target in targets
        ),
        paths=dict(paths),
        measured_at=measured_at,
        duration=duration,
    )
