"""The `[[check]]` tables and `[[announce]] checks`: what they build, and errors naming the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from minibgp.health.checks import CommandCheck, DnsCheck, ProcessCheck, TcpConnectCheck
from minibgp.health.config import HealthConfigError, parse_announce_checks, parse_checks
from minibgp.health.state import Timing

EXAMPLE = """
[[check]]
name = "dns-local"
kind = "dns"
target = "169.254.0.1:53"
query = "example.com. SOA"
expect_rcode = "NOERROR"
keep_open = true
interval = 0.2
timeout = 0.1
rise = 3
fall = 1

[[check]]
name = "identity"
kind = "dns"
target = "[::1]:5300"
query = "id.server. CH TXT"
expect_answer = "server1"
transport = "tcp"

[[check]]
name = "dns-process"
kind = "process"
pidfile = "/run/minidns.pid"

[[check]]
name = "port"
kind = "tcp"
target = "127.0.0.1:53"

[[check]]
name = "custom"
kind = "command"
command = ["/usr/local/bin/healthy", "--quiet"]

[[announce]]
prefix = "169.254.0.1/32"
checks = ["dns-local", "dns-process"]
"""


def test_the_documented_example_builds_every_kind() -> None:
    doc = tomllib.loads(EXAMPLE)
    checks = parse_checks(doc["check"])
    assert checks["dns-local"] == DnsCheck(
        name="dns-local",
        host="169.254.0.1",
        port=53,
        query_name="example.com.",
        query_type="SOA",
        keep_open=True,
        timing=Timing(interval=0.2, timeout=0.1, rise=3, fall=1),
    )
    identity = checks["identity"]
    assert isinstance(identity, DnsCheck)
    assert (identity.host, identity.port, identity.transport) == ("::1", 5300, "tcp")
    assert (identity.query_class, identity.query_type, identity.expect_answer) == (
        "CH",
        "TXT",
        "server1",
    )
    assert checks["dns-process"] == ProcessCheck("dns-process", pidfile=Path("/run/minidns.pid"))
    assert checks["port"] == TcpConnectCheck("port", "127.0.0.1", 53)
    assert checks["custom"] == CommandCheck("custom", ("/usr/local/bin/healthy", "--quiet"))
    assert parse_announce_checks(doc["announce"][0]["checks"], "announce[0].checks", checks) == (
        "dns-local",
        "dns-process",
    )


def test_defaults() -> None:
    [check] = parse_checks([{"name": "p", "kind": "tcp", "target": "127.0.0.1:53"}]).values()
    assert check.timing == Timing(interval=1.0, timeout=0.5, rise=2, fall=2)


@pytest.mark.parametrize(
    ("table", "key", "reason"),
    [
        ({"kind": "tcp", "target": "127.0.0.1:53"}, "check[0].name", "is required"),
        ({"name": "x", "kind": "http"}, "check[0].kind", "must be one of"),
        ({"name": "x", "kind": "tcp", "target": "localhost:53"}, "check[0].target", "ADDRESS"),
        ({"name": "x", "kind": "tcp", "target": "127.0.0.1"}, "check[0].target", "ADDRESS"),
        ({"name": "x", "kind": "tcp", "target": "127.0.0.1:0"}, "check[0].target", "ADDRESS"),
        ({"name": "x", "kind": "tcp", "target": "127.0.0.1:53", "query": "a. A"},
         "check[0].query", "unknown key for a tcp check"),
        ({"name": "x", "kind": "dns", "target": "127.0.0.1:53", "query": "example.com."},
         "check[0].query", r"NAME \[CLASS\] TYPE"),
        ({"name": "x", "kind": "dns", "target": "127.0.0.1:53", "query": "a. BOGUS"},
         "check[0].query", "unknown type"),
        ({"name": "x", "kind": "dns", "target": "127.0.0.1:53", "query": "a. A",
          "expect_rcode": "FINE"}, "check[0].expect_rcode", "unknown rcode"),
        ({"name": "x", "kind": "dns", "target": "127.0.0.1:53", "query": "a. A",
          "transport": "quic"}, "check[0].transport", "udp or tcp"),
        ({"name": "x", "kind": "dns", "target": "127.0.0.1:53", "query": "a. A",
          "keep_open": "yes"}, "check[0].keep_open", "true or false"),
        ({"name": "x", "kind": "command", "command": "true"}, "check[0].command", "list"),
        ({"name": "x", "kind": "process"}, "check[0]", "exactly one of pid, pidfile"),
        ({"name": "x", "kind": "process", "pid": -1}, "check[0].pid", "positive"),
        ({"name": "x", "kind": "tcp", "target": "127.0.0.1:53", "interval": 0},
         "check[0].interval", "positive number"),
        ({"name": "x", "kind": "tcp", "target": "127.0.0.1:53", "rise": 0},
         "check[0].rise", "at least 1"),
        ({"name": "x", "kind": "tcp", "target": "127.0.0.1:53", "fall": 1.5},
         "check[0].fall", "integer"),
    ],
)  # fmt: skip
def test_errors_name_the_key_and_the_reason(
    table: dict[str, object], key: str, reason: str
) -> None:
    with pytest.raises(HealthConfigError, match=reason) as caught:
        parse_checks([table])
    assert caught.value.key == key


def test_a_name_may_be_defined_once() -> None:
    table = {"name": "x", "kind": "tcp", "target": "127.0.0.1:53"}
    with pytest.raises(HealthConfigError, match="defined twice") as caught:
        parse_checks([table, table])
    assert caught.value.key == "check[1].name"


def test_an_announce_may_only_name_defined_checks() -> None:
    checks = parse_checks([{"name": "dns", "kind": "tcp", "target": "127.0.0.1:53"}])
    with pytest.raises(HealthConfigError, match="no check named 'dsn'") as caught:
        parse_announce_checks(["dns", "dsn"], "announce[0].checks", checks)
    assert caught.value.key == "announce[0].checks[1]"
    with pytest.raises(HealthConfigError, match="list of check names"):
        parse_announce_checks("dns", "announce[0].checks", checks)


def test_the_command_line_reports_a_bad_config_by_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from minibgp.health.__main__ import main

    config = tmp_path / "server1.toml"
    config.write_text('[[check]]\nname = "x"\nkind = "dns"\n')
    assert main(["--config", str(config)]) == 2
    assert capsys.readouterr().err == f"{config}:1: check[0].target: is required\n"
    config.write_bytes(b'[[check]]\nname = "\xff"\n')
    assert main(["--config", str(config)]) == 2
    assert capsys.readouterr().err.startswith(f"{config}:2: not UTF-8: byte 0xff at column 9")
