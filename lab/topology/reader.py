"""Reading a topology file: TOML → `Topology`, every key checked.

Everything wrong is said before anything is created, as `FILE:LINE: KEY: REASON`, e.g.
``three-sites.toml:41: links[3].ends[0].node: no node 'server9' (nodes: ...)``. Unknown keys are
errors too: a typo must not silently turn into a default. docs/lab.md describes every key.

Only the standard library is used: the Vagrant machines run this with Debian 12's python3.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Address,
    IPv6Interface,
    IPv6Network,
    ip_address,
    ip_network,
)
from pathlib import Path
from typing import Any, TypeVar

from .model import (
    LINK_RELATIONSHIPS,
    ROLES,
    SCOPES,
    Announcement,
    BgpTimers,
    Failover,
    Interface,
    IPAddress,
    Link,
    LinkRelationship,
    Node,
    Record,
    Route,
    Scope,
    Service,
    Topology,
    TopologyError,
    VagrantSettings,
)

TOPOLOGIES = Path(__file__).parents[1] / "topologies"
SEED_TOPOLOGY = TOPOLOGIES / "seed.toml"
MAX_INTERFACE_NAME = 15  # Linux IFNAMSIZ - 1
MAX_ASN = 2**32 - 1  # RFC 6793
MAX_PREPEND = 32
NODE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,30}")
COMMUNITY = re.compile(r"(\d+):(\d+)")
WELL_KNOWN_COMMUNITIES = ("no-export", "no-advertise", "no-peer", "graceful-shutdown", "blackhole")

T = TypeVar("T")
PrefixT = TypeVar("PrefixT", IPv4Interface, IPv6Interface)


def load(path: Path | str = SEED_TOPOLOGY) -> Topology:
    """Read and check a topology file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise TopologyError(f"{path}: cannot read: {error.strerror or error}") from None
    return parse_text(text, path)


def parse_text(text: str, path: Path) -> Topology:
    """Check a topology given as TOML text; `path` names it in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TopologyError(f"{path}: not valid TOML: {error}") from None
    return _Reader(path, text).topology(data)


def parse(data: dict[str, Any], path: Path | None = None) -> Topology:
    """Check a topology given as the TOML document's data (no line numbers in messages)."""
    return _Reader(path, None).topology(data)


# --- where a key is in the file ----------------------------------------------------------------

Key = tuple[str | int, ...]
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGNMENT = re.compile(r"^\s*([A-Za-z0-9_.\"-]+)\s*=\s*(.*)$")
_INLINE_KEY = re.compile(r"([A-Za-z0-9_-]+)\s*=")


def key_lines(text: str) -> dict[Key, int]:
    """Line numbers (from 1) of the tables, keys and array elements of a TOML text, found by
    reading it the simple way TOML files are written (headers, `key = value`, one element of a
    multi-line array per line). Good enough to point at a line, not a TOML parser."""
    lines: dict[Key, int] = {}
    table: Key = ()
    arrays: dict[Key, int] = {}
    open_array: Key | None = None
    element = 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if open_array is not None:
            if stripped.startswith("]"):
                open_array = None
                continue
            content = stripped.split("#", 1)[0].strip()
            if content:
                if content.startswith("{"):
                    starts = content.count("{")
                else:
                    starts = len([item for item in content.split(",") if item.strip()])
                for offset in range(starts):
                    lines.setdefault((*open_array, element + offset), number)
                for inner in _INLINE_KEY.findall(content):
                    lines.setdefault((*open_array, element, inner), number)
                element += starts
            continue
        header = _HEADER.match(line)
        if header:
            path = tuple(part.strip().strip('"') for part in header.group(2).split("."))
            if header.group(1) == "[[":
                index = arrays.get(path, -1) + 1
                arrays[path] = index
                table = (*path, index)
            else:
                table = path
            lines.setdefault(table, number)
            continue
        assignment = _ASSIGNMENT.match(line)
        if not assignment:
            continue
        key = (*table, *(part.strip('"') for part in assignment.group(1).split(".")))
        lines.setdefault(key, number)
        value = assignment.group(2).split("#", 1)[0].strip()
        if value.startswith("{"):
            for inner in _INLINE_KEY.findall(value[1:]):
                lines.setdefault((*key, inner), number)
        elif value.startswith("[") and value.count("[") > value.count("]"):
            open_array, element = key, 0
    return lines


def _key_text(key: Key) -> str:
    text = ""
    for part in key:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


# --- the reader --------------------------------------------------------------------------------


class _Reader:
    """Walks the document; every check knows the key it is looking at."""

    def __init__(self, path: Path | None, text: str | None) -> None:
        self.path = path
        self.lines = key_lines(text) if text is not None else {}

    def error(self, key: Key, reason: str) -> TopologyError:
        where = str(self.path) if self.path is not None else "topology"
        for length in range(len(key), 0, -1):
            line = self.lines.get(key[:length])
            if line is not None:
                where += f":{line}"
                break
        return TopologyError(f"{where}: {_key_text(key) or '(top)'}: {reason}")

    # --- the document --------------------------------------------------------------------------

    def topology(self, data: dict[str, Any]) -> Topology:
        self.only_keys(data, (), {"service", "bgp_timers", "failover", "vagrant", "nodes", "links"})
        service = self.service(self.table(self.required(data, "service", ()), ("service",)))
        timers = self.bgp_timers(data.get("bgp_timers", {}), ("bgp_timers",), BgpTimers())
        nodes_data = self.table(self.required(data, "nodes", ()), ("nodes",))
        nodes = {
            name: self.node(name, self.table(spec, ("nodes", name)), timers)
            for name, spec in nodes_data.items()
        }
        links = [
            self.link(self.table(spec, ("links", i)), ("links", i), nodes)
            for i, spec in enumerate(self.array(data.get("links", []), ("links",)))
        ]
        for link in links:
            for end in link.ends:
                nodes[end.node].interfaces.append(end)
        topology = Topology(
            nodes=nodes,
            links=links,
            service=service,
            bgp_timers=timers,
            failover=self.failover(data.get("failover", {}), ("failover",)),
            vagrant=self.vagrant(data.get("vagrant", {}), ("vagrant",)),
            source=self.path,
        )
        _Checks(self, topology, nodes_data).run()
        return topology

    def service(self, table: dict[str, Any]) -> Service:
        key: Key = ("service",)
        self.only_keys(table, key, {"anycast", "anycast6", "zone", "nameserver", "records"})
        anycast = self.interface4(self.required(table, "anycast", key), (*key, "anycast"))
        anycast6 = self.optional(table, "anycast6", key, self.interface6)
        records = tuple(
            self.record(self.table(item, (*key, "records", i)), (*key, "records", i))
            for i, item in enumerate(self.array(table.get("records", []), (*key, "records")))
        )
        defaults = Service(anycast)
        return Service(
            anycast=anycast,
            anycast6=anycast6,
            zone=self.optional(table, "zone", key, self.name) or defaults.zone,
            nameserver=self.optional(table, "nameserver", key, self.name) or defaults.nameserver,
            records=records if "records" in table else defaults.records,
        )

    def record(self, table: dict[str, Any], key: Key) -> Record:
        self.only_keys(table, key, {"name", "type", "content"})
        return Record(
            self.string(self.required(table, "name", key), (*key, "name")),
            self.string(self.required(table, "type", key), (*key, "type")).upper(),
            self.string(self.required(table, "content", key), (*key, "content")),
        )

    def bgp_timers(self, value: object, key: Key, defaults: BgpTimers) -> BgpTimers:
        table = self.table(value, key)
        self.only_keys(table, key, {"keepalive", "hold", "connect_retry", "advertisement_interval"})
        hold = self.optional(table, "hold", key, self.bounded(0, 65535))
        if hold is not None and 0 < hold < 3:
            raise self.error((*key, "hold"), "must be 0 or at least 3 seconds (RFC 4271 §4.2)")
        keepalive = self.optional(
            table, "keepalive", key, lambda v, k: self.integer(v, k, 0, 21845)
        )
        retry = self.optional(
            table, "connect_retry", key, lambda v, k: self.integer(v, k, 1, 65535)
        )
        mrai = self.optional(
            table, "advertisement_interval", key, lambda v, k: self.integer(v, k, 0, 600)
        )
        timers = BgpTimers(
            keepalive=defaults.keepalive if keepalive is None else keepalive,
            hold=defaults.hold if hold is None else hold,
            connect_retry=defaults.connect_retry if retry is None else retry,
            advertisement_interval=defaults.advertisement_interval if mrai is None else mrai,
        )
        if timers.hold and timers.keepalive * 3 > timers.hold:
            raise self.error(
                key, f"keepalive {timers.keepalive} is over a third of hold {timers.hold}"
            )
        return timers

    def failover(self, value: object, key: Key) -> Failover:
        table = self.table(value, key)
        self.only_keys(table, key, {"bfd", "drain_time", "check_interval", "check_timeout"})
        defaults = Failover()
        bfd_key = (*key, "bfd")
        bfd = self.table(table.get("bfd", {}), bfd_key)
        self.only_keys(bfd, bfd_key, {"min_tx", "min_rx", "multiplier"})

        def ms(name: str, default: int) -> int:
            value = self.optional(bfd, name, bfd_key, self.bounded(1, 60_000))
            return default if value is None else value

        def seconds(name: str, default: float) -> float:
            value = self.optional(table, name, key, self.seconds)
            return default if value is None else value

        multiplier = self.optional(
            bfd, "multiplier", bfd_key, lambda v, k: self.integer(v, k, 1, 255)
        )
        return Failover(
            bfd_min_tx=ms("min_tx", defaults.bfd_min_tx),
            bfd_min_rx=ms("min_rx", defaults.bfd_min_rx),
            bfd_multiplier=defaults.bfd_multiplier if multiplier is None else multiplier,
            drain_time=seconds("drain_time", defaults.drain_time),
            check_interval=seconds("check_interval", defaults.check_interval),
            check_timeout=seconds("check_timeout", defaults.check_timeout),
        )

    def vagrant(self, value: object, key: Key) -> VagrantSettings:
        table = self.table(value, key)
        self.only_keys(table, key, {"box", "memory", "cpus"})
        defaults = VagrantSettings()
        box = self.optional(table, "box", key, self.string)
        memory = self.optional(table, "memory", key, self.bounded(128, 65536))
        cpus = self.optional(table, "cpus", key, self.bounded(1, 64))
        return VagrantSettings(
            box=defaults.box if box is None else box,
            memory=defaults.memory if memory is None else memory,
            cpus=defaults.cpus if cpus is None else cpus,
        )

    # --- nodes ---------------------------------------------------------------------------------

    NODE_KEYS = {
        "server": {"role", "asn", "router_id", "routes", "description", "bgp_timers", "prepend",
                   "med", "communities", "scope"},
        "router": {"role", "asn", "router_id", "routes", "description", "bgp_timers",
                   "route_reflector"},
        "client": {"role", "routes", "description"},
    }  # fmt: skip

    def node(self, name: str, table: dict[str, Any], timers: BgpTimers) -> Node:
        key: Key = ("nodes", name)
        if not NODE_NAME.fullmatch(name):
            raise self.error(key, "a node's name is a-z, then up to 30 of a-z, 0-9, '-', '_'")
        role = self.required(table, "role", key)
        if role not in ROLES:
            raise self.error((*key, "role"), f"{role!r} is not one of {', '.join(ROLES)}")
        allowed = self.NODE_KEYS[role]
        for item in table:
            if item not in allowed:
                other = [r for r in ROLES if item in self.NODE_KEYS[r]]
                why = f"a {role} takes no {item!r}"
                if other:
                    why += f" (only a {' or '.join(other)} does)"
                raise self.error((*key, item), why)
        asn = None
        if role != "client":
            asn = self.integer(self.required(table, "asn", key), (*key, "asn"), 1, MAX_ASN)
        routes = [
            self.route(self.table(item, (*key, "routes", i)), (*key, "routes", i))
            for i, item in enumerate(self.array(table.get("routes", []), (*key, "routes")))
        ]
        return Node(
            name=name,
            role=role,
            asn=asn,
            router_id=self.optional(table, "router_id", key, self.address4),
            routes=routes,
            description=self.optional(table, "description", key, self.string) or "",
            announcement=self.announcement(table, key) if role == "server" else Announcement(),
            bgp_timers=self.bgp_timers(table.get("bgp_timers", {}), (*key, "bgp_timers"), timers),
            route_reflector=bool(self.optional(table, "route_reflector", key, self.boolean)),
        )

    def announcement(self, table: dict[str, Any], key: Key) -> Announcement:
        prepend = self.optional(
            table, "prepend", key, lambda v, k: self.integer(v, k, 0, MAX_PREPEND)
        )
        med = self.optional(table, "med", key, lambda v, k: self.integer(v, k, 0, 2**32 - 1))
        communities = tuple(
            self.community(item, (*key, "communities", i))
            for i, item in enumerate(
                self.array(table.get("communities", []), (*key, "communities"))
            )
        )
        scope: Scope = self.optional(table, "scope", key, self.scope) or "global"
        return Announcement(prepend or 0, med, communities, scope)

    def route(self, table: dict[str, Any], key: Key) -> Route:
        self.only_keys(table, key, {"to", "via"})
        to = self.string(self.required(table, "to", key), (*key, "to"))
        via = self.address(self.required(table, "via", key), (*key, "via"))
        if to != "default":
            try:
                network = ip_network(to, strict=False)
            except ValueError:
                raise self.error(
                    (*key, "to"), f"{to!r} is neither a prefix nor 'default'"
                ) from None
            if network.version != via.version:
                raise self.error(
                    (*key, "via"),
                    f"an IPv{network.version} route needs an IPv{network.version} next hop",
                )
        return Route(to, via)

    # --- links ---------------------------------------------------------------------------------

    def link(self, table: dict[str, Any], key: Key, nodes: dict[str, Node]) -> Link:
        self.only_keys(table, key, {"network", "network6", "ends", "relationship", "delay", "loss"})
        network = self.network4(self.required(table, "network", key), (*key, "network"))
        network6 = self.optional(table, "network6", key, self.network6)
        relationship = self.optional(table, "relationship", key, self.relationship)
        ends_key = (*key, "ends")
        ends_data = self.array(self.required(table, "ends", key), ends_key)
        if len(ends_data) != 2:
            raise self.error(ends_key, f"a link has two ends, not {len(ends_data)}")
        ends = [
            self.end(item, (*ends_key, i), i, network, network6, nodes)
            for i, item in enumerate(ends_data)
        ]
        if ends[0].node == ends[1].node:
            raise self.error(ends_key, f"both ends are {ends[0].node}")
        if ends[0].address == ends[1].address:
            raise self.error((*ends_key, 1, "address"), f"{ends[0].ip} is the other end's too")
        delay = self.optional(table, "delay", key, lambda v, k: self.number(v, k, 0, 60_000))
        loss = self.optional(table, "loss", key, lambda v, k: self.number(v, k, 0, 100))
        return Link(network, (ends[0], ends[1]), network6, relationship, delay, loss)

    def end(
        self,
        value: object,
        key: Key,
        index: int,
        network: IPv4Network,
        network6: IPv6Network | None,
        nodes: dict[str, Node],
    ) -> Interface:
        table = {"node": value} if isinstance(value, str) else self.table(value, key)
        self.only_keys(table, key, {"node", "interface", "address", "address6"})
        node = self.string(self.required(table, "node", key), (*key, "node"))
        if node not in nodes:
            raise self.error((*key, "node"), f"no node {node!r} (nodes: {', '.join(nodes)})")
        interface = self.optional(table, "interface", key, self.string)
        if interface is not None and not 0 < len(interface) <= MAX_INTERFACE_NAME:
            raise self.error(
                (*key, "interface"), f"{interface!r}: 1 to {MAX_INTERFACE_NAME} characters"
            )
        hosts = list(_first_hosts(network, 2))
        if "address" in table:
            address = self.address4(table["address"], (*key, "address"))
            if address not in network:
                raise self.error((*key, "address"), f"{address} is outside {network}")
            if network.prefixlen < 31 and address in (network[0], network.broadcast_address):
                raise self.error((*key, "address"), f"{address} is not a host of {network}")
        elif len(hosts) > index:
            address = hosts[index]
        else:
            raise self.error(key, f"{network} has no host address for this end: give an address")
        address6 = None
        if "address6" in table:
            if network6 is None:
                raise self.error((*key, "address6"), "the link has no network6")
            ip6 = self.address6(table["address6"], (*key, "address6"))
            if ip6 not in network6:
                raise self.error((*key, "address6"), f"{ip6} is outside {network6}")
            address6 = IPv6Interface(f"{ip6}/{network6.prefixlen}")
        elif network6 is not None:
            address6 = IPv6Interface(f"{network6.network_address + index + 1}/{network6.prefixlen}")
        return Interface(
            node,
            interface or "",  # named in _Checks, once both ends are known
            IPv4Interface(f"{address}/{network.prefixlen}"),
            address6,
        )

    # --- values --------------------------------------------------------------------------------

    def required(self, table: Mapping[str, Any], name: str, key: Key) -> Any:
        if name not in table:
            raise self.error((*key, name), "missing")
        return table[name]

    def optional(
        self, table: Mapping[str, Any], name: str, key: Key, convert: Callable[[Any, Key], T]
    ) -> T | None:
        return convert(table[name], (*key, name)) if name in table else None

    def only_keys(self, table: Mapping[str, Any], key: Key, allowed: set[str]) -> None:
        for name in table:
            if name not in allowed:
                raise self.error(
                    (*key, name), f"unknown key (known here: {', '.join(sorted(allowed))})"
                )

    def typed(self, value: object, kind: type[T] | tuple[type, ...], key: Key, what: str) -> Any:
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _types(kind)):
            raise self.error(key, f"must be {what}, not {_toml_type(value)} {value!r}")
        return value

    def table(self, value: object, key: Key) -> dict[str, Any]:
        return self.typed(value, dict, key, "a table")  # type: ignore[no-any-return]

    def array(self, value: object, key: Key) -> list[Any]:
        return self.typed(value, list, key, "an array")  # type: ignore[no-any-return]

    def string(self, value: object, key: Key) -> str:
        return self.typed(value, str, key, "a string")  # type: ignore[no-any-return]

    def boolean(self, value: object, key: Key) -> bool:
        return self.typed(value, bool, key, "true or false")  # type: ignore[no-any-return]

    def bounded(self, low: int, high: int) -> Callable[[object, Key], int]:
        """An integer check for `optional`."""
        return lambda value, key: self.integer(value, key, low, high)

    def integer(self, value: object, key: Key, low: int, high: int) -> int:
        number: int = self.typed(value, int, key, "an integer")
        if not low <= number <= high:
            raise self.error(key, f"must be {low}..{high}, not {number}")
        return number

    def number(self, value: object, key: Key, low: float, high: float) -> float:
        number = float(self.typed(value, (int, float), key, "a number"))
        if not low <= number <= high:
            raise self.error(key, f"must be {low:g}..{high:g}, not {number:g}")
        return number

    def seconds(self, value: object, key: Key) -> float:
        return self.number(value, key, 0.001, 3600)

    def name(self, value: object, key: Key) -> str:
        text = self.string(value, key).rstrip(".")
        if not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*", text):
            raise self.error(key, f"{value!r} is not a domain name")
        return text

    def _ip(self, value: object, key: Key, convert: Callable[[str], T], what: str) -> T:
        text = self.string(value, key)
        try:
            return convert(text)
        except ValueError:
            raise self.error(key, f"{text!r} is not {what}") from None

    def address(self, value: object, key: Key) -> IPAddress:
        return self._ip(value, key, ip_address, "an IP address")

    def address4(self, value: object, key: Key) -> IPv4Address:
        return self._ip(value, key, IPv4Address, "an IPv4 address")

    def address6(self, value: object, key: Key) -> IPv6Address:
        return self._ip(value, key, IPv6Address, "an IPv6 address")

    def interface4(self, value: object, key: Key) -> IPv4Interface:
        return self._ip(value, key, IPv4Interface, "an IPv4 address/length")

    def interface6(self, value: object, key: Key) -> IPv6Interface:
        return self._ip(value, key, IPv6Interface, "an IPv6 address/length")

    def network4(self, value: object, key: Key) -> IPv4Network:
        interface = self._prefix(value, key, IPv4Interface, "an IPv4 network")
        return interface.network

    def network6(self, value: object, key: Key) -> IPv6Network:
        interface = self._prefix(value, key, IPv6Interface, "an IPv6 network")
        return interface.network

    def _prefix(
        self, value: object, key: Key, kind: Callable[[str], PrefixT], what: str
    ) -> PrefixT:
        """ADDRESS/LENGTH with no host bits set."""
        text = self.string(value, key)
        if "/" not in text:
            raise self.error(key, f"{text!r} is not {what} (ADDRESS/LENGTH)")
        interface = self._ip(text, key, kind, what)
        if interface.ip != interface.network.network_address:
            raise self.error(
                key, f"{text!r} has host bits set (the network is {interface.network})"
            )
        return interface

    def relationship(self, value: object, key: Key) -> LinkRelationship:
        text = self.string(value, key)
        if text not in LINK_RELATIONSHIPS:
            raise self.error(key, f"{text!r} is not one of {', '.join(LINK_RELATIONSHIPS)}")
        return text

    def scope(self, value: object, key: Key) -> Scope:
        text = self.string(value, key)
        if text not in SCOPES:
            raise self.error(key, f"{text!r} is not one of {', '.join(SCOPES)} (RFC 4786 §4.4)")
        return text

    def community(self, value: object, key: Key) -> str:
        text = self.string(value, key).lower()
        if text in WELL_KNOWN_COMMUNITIES:
            return text
        match = COMMUNITY.fullmatch(text)
        if not match or not all(0 <= int(part) <= 65535 for part in match.groups()):
            known = ", ".join(WELL_KNOWN_COMMUNITIES)
            raise self.error(
                key, f"{value!r} is neither ASN:VALUE (each 0..65535) nor one of {known}"
            )
        return text


def _types(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _toml_type(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
             list: "an array", dict: "a table"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


def _overlap(a: IPv4Network | IPv6Network, b: IPv4Network | IPv6Network) -> bool:
    if isinstance(a, IPv4Network) and isinstance(b, IPv4Network):
        return a.overlaps(b)
    if isinstance(a, IPv6Network) and isinstance(b, IPv6Network):
        return a.overlaps(b)
    return False


def _first_hosts(network: IPv4Network, count: int) -> Iterator[IPv4Address]:
    if network.prefixlen >= 31:
        yield from list(network)[:count]
        return
    for offset in range(1, count + 1):
        yield network.network_address + offset


# --- checks across the whole topology ----------------------------------------------------------


class _Checks:
    """What only the whole topology can tell: names of interfaces, duplicates, overlaps, who
    links to whom, routes, iBGP reachability, relationships."""

    def __init__(self, reader: _Reader, topology: Topology, nodes_data: dict[str, Any]) -> None:
        self.reader = reader
        self.topology = topology
        self.nodes_data = nodes_data

    def error(self, key: Key, reason: str) -> TopologyError:
        return self.reader.error(key, reason)

    def run(self) -> None:
        self.interface_names()
        self.unique_addresses()
        self.unique_networks()
        self.roles_and_links()
        self.default_routes()
        self.routes_reach()
        self.router_ids()
        self.relationships()
        self.ibgp_reaches_every_router()

    def _links(self) -> Iterator[tuple[int, Link]]:
        return iter(enumerate(self.topology.links))

    def interface_names(self) -> None:
        """Unnamed interfaces are `eth-<other node>`; names are unique within a node."""
        links = self.topology.links
        for i, link in enumerate(links):
            ends = list(link.ends)
            for j, end in enumerate(ends):
                if not end.name:
                    other = link.other_end(end.node).node
                    ends[j] = Interface(
                        end.node, f"eth-{other}"[:MAX_INTERFACE_NAME], end.address, end.address6
                    )
            links[i] = Link(
                link.network,
                (ends[0], ends[1]),
                link.network6,
                link.relationship,
                link.delay_ms,
                link.loss_percent,
            )
        for node in self.topology.nodes.values():
            node.interfaces = [end for link in links for end in link.ends if end.node == node.name]
            seen: dict[str, int] = {}
            for i, link in enumerate(links):
                for j, end in enumerate(link.ends):
                    if end.node != node.name:
                        continue
                    if end.name in seen:
                        raise self.error(
                            ("links", i, "ends", j, "interface"),
                            f"{node.name} already has an interface {end.name!r} "
                            f"(links[{seen[end.name]}]): name this one",
                        )
                    seen[end.name] = i

    def unique_addresses(self) -> None:
        owners: dict[object, str] = {
            self.topology.service.address: "the anycast address",
        }
        if self.topology.service.address6 is not None:
            owners[self.topology.service.address6] = "the anycast address"
        for i, link in self._links():
            for j, end in enumerate(link.ends):
                for name, address in (("address", end.ip), ("address6", end.ip6)):
                    if address is None:
                        continue
                    if address in owners:
                        raise self.error(
                            ("links", i, "ends", j, name),
                            f"{address} is already {owners[address]}'s",
                        )
                    owners[address] = f"{end.node} (links[{i}])"

    def unique_networks(self) -> None:
        networks: list[tuple[IPv4Network | IPv6Network, int]] = []
        for i, link in self._links():
            for name, network in (("network", link.network), ("network6", link.network6)):
                if network is None:
                    continue
                for other, j in networks:
                    if _overlap(other, network):
                        raise self.error(
                            ("links", i, name), f"{network} overlaps links[{j}]'s {other}"
                        )
                for anycast in self.topology.service.prefixes:
                    if _overlap(anycast, network):
                        raise self.error(
                            ("links", i, name), f"{network} overlaps the anycast prefix {anycast}"
                        )
                networks.append((network, i))

    def roles_and_links(self) -> None:
        topology = self.topology
        if not topology.sites:
            raise self.error(("nodes",), "no server: a topology needs at least one anycast site")
        for i, link in self._links():
            roles = {topology.node(end.node).role for end in link.ends}
            names = " and ".join(end.node for end in link.ends)
            if "client" in roles and roles != {"client", "router"}:
                raise self.error(("links", i, "ends"), f"{names}: a client links to a router only")
            if roles == {"server"}:
                raise self.error(
                    ("links", i, "ends"), f"{names}: two servers do not link to each other"
                )
            if link.network6 is not None and topology.service.anycast6 is None:
                pass  # a dual-stack link in an IPv4 service is fine: IPv6 routing without anycast6
        for node in topology.nodes.values():
            key: Key = ("nodes", node.name)
            if node.role == "router":
                continue
            neighbors = [link.other_end(node.name).node for link in topology.links_of(node.name)]
            if not any(topology.node(n).role == "router" for n in neighbors):
                what = "a site" if node.role == "server" else "a client"
                raise self.error(key, f"{what} needs a link to a router; {node.name} has none")
            dual_stack = any(link.network6 for link in topology.links_of(node.name))
            if node.role == "server" and topology.service.anycast6 is not None and not dual_stack:
                raise self.error(key, "the service has anycast6: a site's link needs network6")

    def default_routes(self) -> None:
        """A node without routes of its own: a client routes the anycast addresses, a server
        everything, via its first link's other end."""
        topology = self.topology
        service = topology.service
        for node in topology.nodes.values():
            if node.role == "router" or "routes" in self.nodes_data[node.name]:
                continue
            link = topology.links_of(node.name)[0]
            hop = link.other_end(node.name)
            if node.role == "client":
                node.routes = [Route(str(service.anycast.network), hop.ip)]
                if service.anycast6 is not None and hop.ip6 is not None:
                    node.routes.append(Route(str(service.anycast6.network), hop.ip6))
            else:
                node.routes = [Route("default", hop.ip)]
                if hop.ip6 is not None:
                    node.routes.append(Route("default", hop.ip6))

    def routes_reach(self) -> None:
        for node in self.topology.nodes.values():
            for i, route in enumerate(node.routes):
                links = self.topology.links_of(node.name)
                on_link = any(
                    route.via in (link.network if route.via.version == 4 else link.network6 or ())
                    for link in links
                )
                if not on_link:
                    raise self.error(
                        ("nodes", node.name, "routes", i, "via"),
                        f"next hop {route.via} is on none of {node.name}'s links",
                    )

    def router_ids(self) -> None:
        seen: dict[IPv4Address, str] = {}
        for node in self.topology.nodes.values():
            if node.asn is None:
                continue
            if node.router_id is None:
                node.router_id = node.interfaces[0].ip if node.interfaces else None
            if node.router_id is None:
                raise self.error(
                    ("nodes", node.name), "a BGP speaker with no link needs a router_id"
                )
            if node.router_id in seen:
                raise self.error(
                    ("nodes", node.name, "router_id"),
                    f"{node.router_id} is {seen[node.router_id]}'s router id too",
                )
            seen[node.router_id] = node.name

    def relationships(self) -> None:
        topology = self.topology
        uses = topology.uses_relationships()
        for i, link in self._links():
            a, b = (topology.node(end.node) for end in link.ends)
            key: Key = ("links", i, "relationship")
            bgp = a.asn is not None and b.asn is not None
            if link.relationship is not None:
                if not bgp:
                    raise self.error(key, "only a link between two BGP speakers has a relationship")
                if a.asn == b.asn:
                    raise self.error(
                        key,
                        f"{a.name} and {b.name} are both in AS {a.asn}: iBGP has no relationship",
                    )
                for node in (a, b):
                    if node.role == "server" and link.relationship_of(node.name) != "provider":
                        raise self.error(
                            key,
                            f"a site is its router's customer: {node.name} cannot be "
                            f"its {link.relationship_of(node.name)}",
                        )
            elif uses and bgp and a.asn != b.asn and a.role == b.role == "router":
                raise self.error(
                    ("links", i),
                    f"eBGP between {a.name} and {b.name} needs a relationship, as other links have "
                    f"one: {', '.join(LINK_RELATIONSHIPS)}",
                )

    def ibgp_reaches_every_router(self) -> None:
        """Routes learnt by one router of an AS reach the others: iBGP needs a full mesh
        (RFC 4271 §9.1.1), or a route reflector between two routers (RFC 4456)."""
        topology = self.topology
        for asn, names in topology.ases().items():
            routers = [n for n in names if topology.node(n).role == "router"]
            linked = {
                frozenset(end.node for end in link.ends)
                for link in topology.links
                if all(end.node in routers for end in link.ends)
            }
            for x, first in enumerate(routers):
                for second in routers[x + 1 :]:
                    if frozenset((first, second)) in linked:
                        continue
                    reflectors = [
                        r for r in routers
                        if topology.node(r).route_reflector
                        and frozenset((r, first)) in linked and frozenset((r, second)) in linked
                    ]  # fmt: skip
                    if not reflectors:
                        raise self.error(
                            ("nodes", second),
                            f"AS {asn}: {first} and {second} have no iBGP session: link them, or "
                            "link both to a router with route_reflector = true",
                        )
