"""The `[[check]]` tables and each `[[announce]]`'s `checks` list, read from parsed TOML.

    [[check]]
    name = "dns-local"
    kind = "dns"                    # dns | tcp | command | process
    target = "127.0.0.1:53"         # dns, tcp: address:port, [v6-address]:port
    query = "example.com. SOA"      # dns: NAME [CLASS] TYPE, e.g. "id.server. CH TXT"
    expect_rcode = "NOERROR"        # dns (default NOERROR)
    expect_answer = "192.0.2.1"     # dns, optional: the RDATA of one answer record
    transport = "udp"               # dns: udp (default) | tcp
    keep_open = true                # dns: also hold a TCP connection open; fail when it closes
    interval = 1.0                  # seconds between probes (default 1)
    timeout = 0.5                   # seconds a probe may take (default 0.5)
    rise = 2                        # successes to pass (default 2)
    fall = 2                        # failures to fail (default 2)

    [[check]]
    name = "dns-process"
    kind = "process"
    pidfile = "/run/minidns.pid"    # or pid = 1234

    [[check]]
    name = "custom"
    kind = "command"
    command = ["/usr/local/bin/healthy", "--quiet"]

    [[announce]]
    prefix = "169.254.0.1/32"
    checks = ["dns-local", "dns-process"]   # all must pass; none: always announced

The speaker's config loader calls `parse_checks(doc.get("check", []))` and, per announce,
`parse_announce_checks(table.get("checks", []), f"announce[{i}].checks", checks)`. Errors are
`HealthConfigError`, whose message names the dotted key and the reason.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dnslib import CLASS, QTYPE, RCODE

from minibgp.health.checks import Check, CommandCheck, DnsCheck, ProcessCheck, TcpConnectCheck
from minibgp.health.state import Timing

COMMON_KEYS = {"name", "kind", "interval", "timeout", "rise", "fall"}
KIND_KEYS = {
    "dns": {
        "target", "query", "expect_rcode", "expect_answer", "transport", "keep_open",
    },
    "tcp": {"target"},
    "command": {"command"},
    "process": {"pid", "pidfile"},
}  # fmt: skip


class HealthConfigError(ValueError):
    """A check setting that cannot be used; `key` is the dotted key, `reason` says why."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


def parse_checks(tables: Any, key: str = "check") -> dict[str, Check]:
    """Every `[[check]]` table, by name."""
    if not isinstance(tables, list):
        raise HealthConfigError(key, "must be an array of tables ([[check]])")
    checks: dict[str, Check] = {}
    for index, table in enumerate(tables):
        check = parse_check(table, f"{key}[{index}]")
        if check.name in checks:
            raise HealthConfigError(f"{key}[{index}].name", f"{check.name!r} is defined twice")
        checks[check.name] = check
    return checks


def parse_announce_checks(value: Any, key: str, checks: Mapping[str, Check]) -> tuple[str, ...]:
    """An announce's `checks` list: names of defined checks."""
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise HealthConfigError(key, "must be a list of check names")
    for index, name in enumerate(value):
        if name not in checks:
            known = ", ".join(sorted(checks)) or "none defined"
            raise HealthConfigError(f"{key}[{index}]", f"no check named {name!r} ({known})")
    return tuple(value)


def parse_check(table: Any, key: str) -> Check:
    """One `[[check]]` table."""
    if not isinstance(table, Mapping):
        raise HealthConfigError(key, "must be a table")
    name = _string(table, "name", key)
    kind = _string(table, "kind", key)
    if kind not in KIND_KEYS:
        raise HealthConfigError(f"{key}.kind", f"must be one of {', '.join(KIND_KEYS)}")
    unknown = sorted(set(table) - COMMON_KEYS - KIND_KEYS[kind])
    if unknown:
        raise HealthConfigError(f"{key}.{unknown[0]}", f"unknown key for a {kind} check")
    timing = _timing(table, key)
    if kind == "dns":
        return _dns_check(table, key, name, timing)
    if kind == "tcp":
        host, port = _target(table, key)
        return TcpConnectCheck(name, host, port, timing)
    if kind == "command":
        command = table.get("command")
        if not (isinstance(command, list) and command and all(isinstance(a, str) for a in command)):
            raise HealthConfigError(f"{key}.command", "must be a non-empty list of strings")
        return CommandCheck(name, tuple(command), timing)
    return _process_check(table, key, name, timing)


def _dns_check(table: Mapping[str, Any], key: str, name: str, timing: Timing) -> DnsCheck:
    host, port = _target(table, key)
    words = _string(table, "query", key).split()
    if len(words) == 2:
        query_name, query_class, query_type = words[0], "IN", words[1]
    elif len(words) == 3:
        query_name, query_class, query_type = words
    else:
        raise HealthConfigError(f"{key}.query", "must be 'NAME [CLASS] TYPE'")
    query_class, query_type = query_class.upper(), query_type.upper()
    if query_class not in CLASS.reverse:
        raise HealthConfigError(f"{key}.query", f"unknown class {query_class}")
    if query_type not in QTYPE.reverse:
        raise HealthConfigError(f"{key}.query", f"unknown type {query_type}")
    expect_rcode = _string(table, "expect_rcode", key, "NOERROR").upper()
    if expect_rcode not in RCODE.reverse:
        raise HealthConfigError(f"{key}.expect_rcode", f"unknown rcode {expect_rcode}")
    expect_answer = table.get("expect_answer")
    if expect_answer is not None and not isinstance(expect_answer, str):
        raise HealthConfigError(f"{key}.expect_answer", "must be a string")
    transport = _string(table, "transport", key, "udp")
    if transport not in ("udp", "tcp"):
        raise HealthConfigError(f"{key}.transport", "must be udp or tcp")
    keep_open = table.get("keep_open", False)
    if not isinstance(keep_open, bool):
        raise HealthConfigError(f"{key}.keep_open", "must be true or false")
    return DnsCheck(
        name=name,
        host=host,
        port=port,
        query_name=query_name,
        query_type=query_type,
        query_class=query_class,
        expect_rcode=expect_rcode,
        expect_answer=expect_answer,
        transport="tcp" if transport == "tcp" else "udp",
        keep_open=keep_open,
        timing=timing,
    )


def _process_check(table: Mapping[str, Any], key: str, name: str, timing: Timing) -> ProcessCheck:
    if ("pid" in table) == ("pidfile" in table):
        raise HealthConfigError(key, "a process check needs exactly one of pid, pidfile")
    if "pid" in table:
        pid = table["pid"]
        if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
            raise HealthConfigError(f"{key}.pid", "must be a positive integer")
        return ProcessCheck(name, pid=pid, timing=timing)
    return ProcessCheck(name, pidfile=Path(_string(table, "pidfile", key)), timing=timing)


def _timing(table: Mapping[str, Any], key: str) -> Timing:
    defaults = Timing()
    interval = _number(table, "interval", key, defaults.interval)
    timeout = _number(table, "timeout", key, min(defaults.timeout, interval))
    rise = _count(table, "rise", key, defaults.rise)
    fall = _count(table, "fall", key, defaults.fall)
    return Timing(interval=interval, timeout=timeout, rise=rise, fall=fall)


def _target(table: Mapping[str, Any], key: str) -> tuple[str, int]:
    text = _string(table, "target", key)
    host, separator, port_text = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    try:
        address = ipaddress.ip_address(host)
        port = int(port_text)
    except ValueError:
        address, port = None, 0
    if not separator or address is None or not 1 <= port <= 65535:
        raise HealthConfigError(f"{key}.target", "must be ADDRESS:PORT, e.g. 127.0.0.1:53")
    return str(address), port


def _string(table: Mapping[str, Any], name: str, key: str, default: str | None = None) -> str:
    value = table.get(name, default)
    if value is None:
        raise HealthConfigError(f"{key}.{name}", "is required")
    if not isinstance(value, str) or not value:
        raise HealthConfigError(f"{key}.{name}", "must be a non-empty string")
    return value


def _number(table: Mapping[str, Any], name: str, key: str, default: float) -> float:
    value = table.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise HealthConfigError(f"{key}.{name}", "must be a positive number of seconds")
    return float(value)


def _count(table: Mapping[str, Any], name: str, key: str, default: int) -> int:
    value = table.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise HealthConfigError(f"{key}.{name}", "must be an integer of at least 1")
    return value
