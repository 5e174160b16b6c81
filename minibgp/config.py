"""The speaker's TOML configuration: parsed into frozen dataclasses and checked key by key.

The smallest config::

    [speaker]
    asn = 64520
    router_id = "192.168.57.100"

    [[peer]]
    address = "192.168.57.10"
    asn = 4290001234

    [[announce]]
    prefix = "169.254.0.1/32"

Every error is one line naming the file, the line, the key and the reason, e.g.
``/etc/minibgp/server1.toml:9: peer[0].asn: must be 1..4294967295`` (minibgp.config_file reads
the file and finds the lines). Unknown keys are errors too: a typo must not silently turn into
a default. docs/minibgp.md has the full reference.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from minibgp.adj_rib_out import MAX_AS_PATH_PREPEND
from minibgp.bfd.config import BfdConfigError, parse_bfd
from minibgp.bfd.session import SessionParameters
from minibgp.config_file import ConfigError as ConfigError  # re-exported: the one config error
from minibgp.config_file import error_at, parse_toml, read_text
from minibgp.health.checks import Check
from minibgp.health.config import HealthConfigError, parse_announce_checks, parse_checks
from minibgp.settings import CONNECT_RETRY_TIME, MAX_CONNECT_RETRY_TIME, SessionSettings
from minibgp.wire.attributes.communities import community_from_text
from minibgp.wire.attributes.large_community import large_community_from_text
from minibgp.wire.capabilities import MAX_ASN
from minibgp.wire.nlri import IPAddress, Prefix

BGP_PORT = 179  # RFC 4271 §8.2.1 (TCP port 179)
DEFAULT_HOLD_TIME = 90  # RFC 4271 §10, suggested value
DEFAULT_CONNECT_RETRY = CONNECT_RETRY_TIME  # seconds; minibgp.settings says why so low
DEFAULT_CONNECT_RETRY_MAX = MAX_CONNECT_RETRY_TIME
DEFAULT_DRAIN_TIME = 2.0  # seconds routes carry GRACEFUL_SHUTDOWN before they are withdrawn
MAX_MD5_KEY_LENGTH = 80  # Linux TCP_MD5SIG_MAXKEYLEN
CONTROL_SOCKET_DIR = Path("/run/minibgp")


@dataclass(frozen=True)
class Listen:
    """An address and port to listen on: for BGP connections, or for Prometheus."""

    address: str = ""  # "" means every local address, IPv4 and IPv6
    port: int = BGP_PORT


@dataclass(frozen=True)
class SpeakerConfig:
    asn: int
    router_id: ipaddress.IPv4Address | None  # None: the highest local IPv4 address (router_id.py)
    control_socket: Path | None  # None: derived from asn and router id, see `control_socket_path`
    listen: Listen | None  # None: do not listen (active connections only)
    drain_time: float = DEFAULT_DRAIN_TIME  # RFC 8326 graceful shutdown, then withdraw
    drain_on_sigterm: bool = False  # SIGTERM drains (drain_time) before it withdraws
    metrics: Listen | None = None  # where to serve Prometheus metrics; None: nowhere


@dataclass(frozen=True)
class PeerConfig:
    address: IPAddress
    asn: int
    local_address: IPAddress | None = None
    port: int = BGP_PORT
    passive: bool = False
    hold_time: int = DEFAULT_HOLD_TIME
    connect_retry: float = DEFAULT_CONNECT_RETRY
    connect_retry_max: float = DEFAULT_CONNECT_RETRY_MAX
    password: str | None = None
    ttl_security: int | None = None  # GTSM (RFC 5082): how many hops away the peer may be
    next_hop: IPAddress | None = None
    description: str = ""
    bfd: SessionParameters | None = None  # BFD to this peer (docs/failover.md)

    def session_settings(
        self, local_as: int, router_id: ipaddress.IPv4Address, trace: bool = False
    ) -> SessionSettings:
        """What a BGP session with this peer needs to know (minibgp.settings)."""
        return SessionSettings(
            local_as=local_as,
            router_id=router_id,
            peer_address=self.address,
            peer_as=self.asn,
            hold_time=self.hold_time,
            connect_retry_time=self.connect_retry,
            max_connect_retry_time=max(self.connect_retry_max, self.connect_retry),
            passive=self.passive,
            local_address=self.local_address,
            trace=trace,
        )


@dataclass(frozen=True)
class AnnounceConfig:
    prefix: Prefix
    next_hop: IPAddress | None = None
    communities: tuple[int, ...] = ()  # RFC 1997, each a 32-bit value
    large_communities: tuple[tuple[int, int, int], ...] = ()  # RFC 8092
    med: int | None = None
    as_path_prepend: int = 0
    peers: tuple[IPAddress, ...] | None = None  # None: every peer
    checks: tuple[str, ...] = ()  # health checks that must pass for it to be announced

    def applies_to(self, peer: IPAddress) -> bool:
        return self.peers is None or peer in self.peers


@dataclass(frozen=True)
class Config:
    path: Path
    speaker: SpeakerConfig
    peers: tuple[PeerConfig, ...]
    announcements: tuple[AnnounceConfig, ...] = field(default=())
    checks: dict[str, Check] = field(default_factory=dict)  # [[check]] by name

    def announcements_for(self, peer: IPAddress) -> tuple[AnnounceConfig, ...]:
        """The announcements that go to `peer` (all, or those whose `peers` name it)."""
        return tuple(a for a in self.announcements if a.applies_to(peer))

    def peer(self, address: IPAddress) -> PeerConfig | None:
        for peer in self.peers:
            if peer.address == address:
                return peer
        return None


def metrics_address(text: str) -> Listen:
    """`--metrics` and `speaker.metrics`: "ADDRESS:PORT", "[IPV6]:PORT" or ":PORT" (every
    address); ValueError saying what is wrong."""
    address, sep, port = text.rpartition(":")
    if not sep:
        raise ValueError(f"{text!r} is not ADDRESS:PORT (e.g. 127.0.0.1:9179)")
    if address.startswith("[") and address.endswith("]"):
        address = address[1:-1]
    elif ":" in address:
        raise ValueError(f"{text!r}: write an IPv6 address in brackets, [ADDRESS]:PORT")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{text!r}: port must be 1..65535")
    if address:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ValueError(f"{text!r}: {address!r} is not an IPv4 or IPv6 address") from None
    return Listen(address, int(port))


def control_socket_path(config: Config, router_id: ipaddress.IPv4Address) -> Path:
    """The control socket: configured, or /run/minibgp/<asn>-<router-id>.sock."""
    if config.speaker.control_socket is not None:
        return config.speaker.control_socket
    return CONTROL_SOCKET_DIR / f"{config.speaker.asn}-{router_id}.sock"


def load_config(path: str | Path, replacing: Config | None = None) -> Config:
    """Read and check a config file; ConfigError (``FILE:LINE: KEY: REASON``) if it is bad.

    `replacing` is the config a running speaker has (SIGHUP): a new one that changes what a
    running speaker cannot change is refused too.
    """
    path = Path(path)
    text = read_text(path)
    config = parse_config(text, path)
    if replacing is not None and _fixed(config) != _fixed(replacing):
        raise _Parser(str(path), text).error(
            "speaker", "changes to [speaker] need a restart (except drain_time, drain_on_sigterm)"
        )
    return config


def parse_config(text: str, path: Path) -> Config:
    """Check a config given as TOML text; `path` is only used in messages."""
    return _Parser(str(path), text).config(parse_toml(text, str(path)), path)


def _fixed(config: Config) -> SpeakerConfig:
    """The [speaker] settings a reload cannot change (the drain settings it can)."""
    return dataclasses.replace(config.speaker, drain_time=0.0, drain_on_sigterm=False)


T = TypeVar("T")


class _Parser:
    """Walks the TOML document; every check knows the dotted key it is looking at."""

    def __init__(self, filename: str, text: str) -> None:
        self.filename = filename
        self.text = text

    def error(self, key: str, reason: str) -> ConfigError:
        return error_at(self.filename, self.text, key, reason)

    def config(self, document: dict[str, Any], path: Path) -> Config:
        try:
            return self._config(document, path)
        except (BfdConfigError, HealthConfigError) as exc:
            raise self.error(exc.key, exc.reason) from None

    def _config(self, document: dict[str, Any], path: Path) -> Config:
        self.only_keys(document, "", {"speaker", "peer", "announce", "check"})
        if "speaker" not in document:
            raise self.error("speaker", "missing (a [speaker] table with asn is required)")
        speaker = self.speaker(self.table(document["speaker"], "speaker"))
        peers = tuple(
            self.peer(self.table(item, f"peer[{i}]"), f"peer[{i}]")
            for i, item in enumerate(self.array(document.get("peer", []), "peer"))
        )
        self.no_duplicate_peers(peers)
        checks = parse_checks(document.get("check", []))
        announcements = tuple(
            self.announce(self.table(item, f"announce[{i}]"), f"announce[{i}]", peers, checks)
            for i, item in enumerate(self.array(document.get("announce", []), "announce"))
        )
        return Config(path, speaker, peers, announcements, checks)

    # -- the three tables ------------------------------------------------------------------------

    def speaker(self, table: dict[str, Any]) -> SpeakerConfig:
        self.only_keys(
            table,
            "speaker",
            {"asn", "router_id", "control_socket", "listen", "drain_time", "drain_on_sigterm",
             "metrics"},
        )  # fmt: skip
        asn = self.asn(self.required(table, "asn", "speaker"), "speaker.asn")
        router_id = None
        if "router_id" in table:
            router_id = self.ipv4(table["router_id"], "speaker.router_id")
            if router_id == ipaddress.IPv4Address(0):  # RFC 4271 §6.2: must be a valid host
                raise self.error("speaker.router_id", "must not be 0.0.0.0")
        control_socket = None
        if "control_socket" in table:
            control_socket = Path(
                self.typed(table["control_socket"], str, "speaker.control_socket")
            )
        listen = self.listen(table.get("listen", True), "speaker.listen")
        drain_time = table.get("drain_time", DEFAULT_DRAIN_TIME)
        if isinstance(drain_time, bool) or not isinstance(drain_time, int | float):
            raise self.error("speaker.drain_time", "must be a number of seconds (0 or more)")
        if not 0 <= drain_time <= 3600:
            raise self.error("speaker.drain_time", "must be 0..3600 seconds")
        drain_on_sigterm = self.typed(
            table.get("drain_on_sigterm", False), bool, "speaker.drain_on_sigterm"
        )
        metrics = None
        if "metrics" in table:
            try:
                metrics = metrics_address(self.typed(table["metrics"], str, "speaker.metrics"))
            except ValueError as exc:
                raise self.error("speaker.metrics", str(exc)) from None
        return SpeakerConfig(
            asn, router_id, control_socket, listen, float(drain_time), drain_on_sigterm, metrics
        )

    def peer(self, table: dict[str, Any], key: str) -> PeerConfig:
        self.only_keys(
            table,
            key,
            {
                "address", "asn", "local_address", "port", "passive", "hold_time",
                "connect_retry", "connect_retry_max", "password", "ttl_security", "next_hop",
                "description", "bfd",
            },
        )  # fmt: skip
        address = self.ip(self.required(table, "address", key), f"{key}.address")
        peer = PeerConfig(
            address=address,
            asn=self.asn(self.required(table, "asn", key), f"{key}.asn"),
            local_address=self.optional(table, "local_address", key, self.ip),
            port=self.integer(table.get("port", BGP_PORT), f"{key}.port", 1, 65535),
            passive=self.typed(table.get("passive", False), bool, f"{key}.passive"),
            hold_time=self.hold_time(table.get("hold_time", DEFAULT_HOLD_TIME), f"{key}.hold_time"),
            connect_retry=self.seconds(
                table.get("connect_retry", DEFAULT_CONNECT_RETRY), f"{key}.connect_retry"
            ),
            connect_retry_max=self.seconds(
                table.get("connect_retry_max", DEFAULT_CONNECT_RETRY_MAX),
                f"{key}.connect_retry_max",
            ),
            password=self.optional(table, "password", key, self.password),
            ttl_security=self.optional(
                table, "ttl_security", key, lambda v, k: self.integer(v, k, 1, 254)
            ),
            next_hop=self.optional(table, "next_hop", key, self.ip),
            description=self.typed(table.get("description", ""), str, f"{key}.description"),
            bfd=parse_bfd(table.get("bfd"), f"{key}.bfd"),
        )
        if peer.local_address is not None and peer.local_address.version != address.version:
            raise self.error(f"{key}.local_address", f"must be IPv{address.version} like address")
        return peer

    def announce(
        self,
        table: dict[str, Any],
        key: str,
        peers: tuple[PeerConfig, ...],
        checks: dict[str, Check],
    ) -> AnnounceConfig:
        self.only_keys(
            table,
            key,
            {"prefix", "next_hop", "communities", "large_communities", "med", "as_path_prepend",
             "peers", "checks"},
        )  # fmt: skip
        prefix = self.network(self.required(table, "prefix", key), f"{key}.prefix")
        next_hop = self.optional(table, "next_hop", key, self.ip)
        communities = tuple(
            self.community(item, f"{key}.communities[{i}]")
            for i, item in enumerate(self.array(table.get("communities", []), f"{key}.communities"))
        )
        large = tuple(
            self.large_community(item, f"{key}.large_communities[{i}]")
            for i, item in enumerate(
                self.array(table.get("large_communities", []), f"{key}.large_communities")
            )
        )
        med = self.optional(table, "med", key, lambda v, k: self.integer(v, k, 0, 2**32 - 1))
        prepend = self.integer(
            table.get("as_path_prepend", 0), f"{key}.as_path_prepend", 0, MAX_AS_PATH_PREPEND
        )
        subset = None
        if "peers" in table:
            known = {peer.address for peer in peers}
            subset = tuple(
                self.ip(item, f"{key}.peers[{i}]")
                for i, item in enumerate(self.array(table["peers"], f"{key}.peers"))
            )
            for i, address in enumerate(subset):
                if address not in known:
                    raise self.error(f"{key}.peers[{i}]", f"{address} is not a configured peer")
        if prefix.version == 4 and next_hop is not None and next_hop.version == 6:
            raise self.error(f"{key}.next_hop", "an IPv4 prefix needs an IPv4 next hop")
        names = parse_announce_checks(table.get("checks", []), f"{key}.checks", checks)
        return AnnounceConfig(prefix, next_hop, communities, large, med, prepend, subset, names)

    # -- values ----------------------------------------------------------------------------------

    def listen(self, value: object, key: str) -> Listen | None:
        """`true` (default: all addresses, port 179), `false`, "ADDRESS", "ADDRESS:PORT",
        "[IPV6]:PORT" or ":PORT"."""
        if value is True:
            return Listen()
        if value is False:
            return None
        if not isinstance(value, str):
            raise self.error(key, 'must be true, false or a string ("ADDRESS", "ADDRESS:PORT", …)')
        text = value
        address, port = text, BGP_PORT
        if text.startswith("["):
            inner, sep, rest = text[1:].partition("]")
            if not sep or (rest and not rest.startswith(":")):
                raise self.error(key, f"{text!r} is not ADDRESS, ADDRESS:PORT or [IPV6]:PORT")
            address, port_text = inner, rest[1:]
            port = self.port_text(port_text, key) if port_text else BGP_PORT
        elif text.count(":") == 1:
            address, port_text = text.split(":")
            port = self.port_text(port_text, key)
        if address:
            self.ip(address, key)
        return Listen(address, port)

    def port_text(self, text: str, key: str) -> int:
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            raise self.error(key, f"port {text!r} must be 1..65535")
        return int(text)

    def asn(self, value: object, key: str) -> int:
        return self.integer(value, key, 1, MAX_ASN)

    def hold_time(self, value: object, key: str) -> int:
        # RFC 4271 §4.2: Hold Time is zero or at least three seconds.
        hold_time = self.integer(value, key, 0, 65535)
        if hold_time in (1, 2):
            raise self.error(key, "must be 0 or 3..65535 (RFC 4271 §4.2)")
        return hold_time

    def seconds(self, value: object, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise self.error(key, "must be a positive number of seconds")
        return float(value)

    def password(self, value: object, key: str) -> str:
        text = self.typed(value, str, key)
        if not 1 <= len(text.encode()) <= MAX_MD5_KEY_LENGTH:
            raise self.error(key, f"must be 1..{MAX_MD5_KEY_LENGTH} bytes (TCP MD5 key)")
        return text

    def community(self, value: object, key: str) -> int:
        """ "ASN:VALUE" or a well-known name (RFC 1997; minibgp.wire.attributes.communities)."""
        try:
            return community_from_text(self.typed(value, str, key))
        except ValueError as exc:
            raise self.error(key, str(exc)) from None

    def large_community(self, value: object, key: str) -> tuple[int, int, int]:
        """ "GLOBAL:LOCAL1:LOCAL2", three 32-bit numbers (RFC 8092 §3)."""
        try:
            return large_community_from_text(self.typed(value, str, key))
        except ValueError as exc:
            raise self.error(key, str(exc)) from None

    def ip(self, value: object, key: str) -> IPAddress:
        text = self.typed(value, str, key)
        try:
            return ipaddress.ip_address(text)
        except ValueError:
            raise self.error(key, f"{text!r} is not an IPv4 or IPv6 address") from None

    def ipv4(self, value: object, key: str) -> ipaddress.IPv4Address:
        text = self.typed(value, str, key)
        try:
            return ipaddress.IPv4Address(text)
        except ValueError:
            raise self.error(key, f"{text!r} is not an IPv4 address") from None

    def network(self, value: object, key: str) -> Prefix:
        text = self.typed(value, str, key)
        try:
            return ipaddress.ip_network(text)
        except ValueError as exc:
            raise self.error(key, f"{text!r} is not a prefix ({exc})") from None

    def integer(self, value: object, key: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer ({low}..{high}), not {_shown(value)}")
        if not low <= value <= high:
            raise self.error(key, f"must be {low}..{high}")
        return value

    # -- structure -------------------------------------------------------------------------------

    def typed(self, value: object, kind: type[T], key: str) -> T:
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise self.error(key, f"must be {_KIND_NAMES.get(kind, 'a ' + kind.__name__)}")
        return value

    def table(self, value: object, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, "must be a table")
        return value

    def array(self, value: object, key: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.error(key, "must be an array")
        return value

    def required(self, table: Mapping[str, Any], name: str, key: str) -> Any:
        if name not in table:
            raise self.error(f"{key}.{name}", "missing")
        return table[name]

    def optional(
        self, table: Mapping[str, Any], name: str, key: str, check: Callable[[Any, str], T]
    ) -> T | None:
        return check(table[name], f"{key}.{name}") if name in table else None

    def only_keys(self, table: Mapping[str, Any], key: str, allowed: set[str]) -> None:
        for name in table:
            if name not in allowed:
                where = f"{key}.{_key_text(name)}" if key else _key_text(name)
                raise self.error(
                    where, f"unknown key (expected one of {', '.join(sorted(allowed))})"
                )

    def no_duplicate_peers(self, peers: tuple[PeerConfig, ...]) -> None:
        seen: set[IPAddress] = set()
        for i, peer in enumerate(peers):
            if peer.address in seen:
                raise self.error(f"peer[{i}].address", f"{peer.address} is configured twice")
            seen.add(peer.address)


_KIND_NAMES = {str: "a string", bool: "a boolean (true or false)", int: "an integer"}
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _shown(value: object) -> str:
    """A value in a message: short, one line, however big or deep the value is."""
    return reprlib.repr(value)


def _key_text(name: str) -> str:
    """A key in a message: as written when bare, else quoted (and cut) on one line."""
    return name if _BARE_KEY.fullmatch(name) else reprlib.repr(name)
