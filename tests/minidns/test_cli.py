"""The command line: arguments, start-up errors, SIGTERM, SIGHUP reload, workers, IPv6."""

from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dnslib import DNSRecord

from minidns.cli import cannot_listen, parse_args, parse_listen, parse_size
from tests.minidns.differential import (
    Query,
    exchange,
    free_port,
    make_query,
    minidns_command,
    running,
)

ZONE = """$ORIGIN example.com.
$TTL 300
@   IN SOA ns1 hostmaster 1 3600 600 86400 300
@   IN NS  ns1
ns1 IN A   192.0.2.53
www IN A   {address}
"""
WWW = Query("www", make_query("www.example.com"))


def www_address(port: int) -> str | None:
    response = exchange(port, WWW)
    if response is None:
        return None
    record = DNSRecord.parse(response)
    return str(record.rr[0].rdata) if record.rr else None


def test_listen_forms():
    assert parse_listen("127.0.0.1:5300") == ("127.0.0.1", 5300)
    assert parse_listen("[::1]:5300") == ("::1", 5300)
    for bad in ("127.0.0.1", "localhost:53", "[::1]", "1.2.3.4:99999"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_listen(bad)


@pytest.mark.parametrize(
    "arguments",
    [
        ["--workers", "0"],
        ["--udp-threads", "0"],
        ["--udp-batch", "0"],
        ["--udp-batch", "1025"],
        ["--tcp-idle-timeout", "0"],
        ["--tcp-idle-timeout", "-1"],
        ["--tcp-write-timeout", "0"],
        ["--tcp-max-lifetime", "nan"],
        ["--tcp-max-connections", "0"],
        ["--tcp-max-per-client", "0"],
    ],
)
def test_out_of_range_numbers_are_refused(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--zone", "a.test=/a", *arguments])
    assert exit_info.value.code == 2
    assert f"{arguments[0]} must be" in capsys.readouterr().err


def test_repeatable_options():
    options = parse_args(
        ["--zone", "a.test=/a", "--zone", "b.test=/b", "--listen", "127.0.0.1:1",
         "--listen", "[::1]:2", "--identity", "s1", "--allow-axfr", "10.0.0.0/8",
         "--tcp-idle-timeout", "2.5"]
    )  # fmt: skip
    assert options.zones == [("a.test", "/a"), ("b.test", "/b")]
    assert options.listen == [("127.0.0.1", 1), ("::1", 2)]
    assert options.identity == "s1" and options.tcp.idle_timeout == 2.5
    assert options.udp_batch == 64
    assert parse_args(["--zone", "a.test=/a", "--udp-batch", "1"]).udp_batch == 1


def test_cache_size_in_bytes_with_a_unit():
    assert parse_args(["--zone", "a.test=/a"]).cache_size == 64 * 1024 * 1024
    for text, size in (("0", 0), ("4096", 4096), ("512K", 512 * 1024), ("8M", 8 << 20),
                       ("1G", 1 << 30), ("16MiB", 16 << 20)):  # fmt: skip
        assert parse_size(text) == size
    for bad in ("-1", "8X", "M", "1.5M"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_size(bad)


def test_a_bad_zone_stops_the_start_with_file_and_line(tmp_path: Path):
    zone = tmp_path / "bad.zone"
    zone.write_text(ZONE.format(address="192.0.2.1") + "oops IN A 999.1.1.1\n")
    result = subprocess.run(
        [*minidns_command(free_port(), "--zone", f"example.com={zone}")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode != 0
    assert f"{zone}:7:" in result.stderr


def test_a_missing_zone_file_stops_the_start(tmp_path: Path):
    result = subprocess.run(
        [*minidns_command(free_port(), "--zone", f"example.com={tmp_path / 'none'}")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode != 0 and "none" in result.stderr


def an_address_this_host_lacks() -> str:
    """169.254.0.1, the anycast address, unless this host has it; else one from TEST-NET-2."""
    for address in ("169.254.0.1", "198.51.100.7"):
        with socket.socket() as probe:
            try:
                probe.bind((address, 0))
            except OSError:
                return address
    raise AssertionError("this host has both addresses")


def test_listening_on_an_address_the_host_lacks_says_what_to_do(tmp_path: Path):
    zone = tmp_path / "example.zone"
    zone.write_text(ZONE.format(address="192.0.2.1"))
    address = an_address_this_host_lacks()
    result = subprocess.run(
        [sys.executable, "-m", "minidns", "--zone", f"example.com={zone}",
         "--listen", f"{address}:53"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith(f"minidns: cannot listen for DNS on {address}:53: ")
    assert f"no interface of this host has the address {address}" in result.stderr
    assert f"ip address add {address}/32 dev lo" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("code", "host", "port", "advice"),
    [
        (errno.EADDRINUSE, "127.0.0.1", 5300, "another program already listens there"),
        (errno.EACCES, "0.0.0.0", 53, "ports below 1024 need root or the CAP_NET_BIND_SERVICE"),
        (errno.EADDRNOTAVAIL, "2001:db8::53", 53, "ip address add 2001:db8::53/128 dev lo"),
    ],
)
def test_each_listen_error_says_what_to_do(code: int, host: str, port: int, advice: str):
    text = cannot_listen("DNS", host, port, OSError(code, os.strerror(code)))
    assert os.strerror(code) in text and advice in text


def test_sigterm_exits_cleanly(tmp_path: Path):
    zone = tmp_path / "example.com.zone"
    zone.write_text(ZONE.format(address="192.0.2.1"))
    port = free_port()
    with running(
        minidns_command(port, "--zone", f"example.com={zone}"), port, tmp_path / "log"
    ) as process:
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_sighup_reloads_and_keeps_old_data_on_error(tmp_path: Path):
    zone = tmp_path / "example.com.zone"
    zone.write_text(ZONE.format(address="192.0.2.1"))
    port = free_port()
    log = tmp_path / "log"
    with running(
        [*minidns_command(port, "--zone", f"example.com={zone}"), "-v"], port, log
    ) as process:
        assert www_address(port) == "192.0.2.1"
        zone.write_text(ZONE.format(address="192.0.2.2"))
        os.kill(process.pid, signal.SIGHUP)
        assert wait_for(lambda: www_address(port) == "192.0.2.2")
        zone.write_text(ZONE.format(address="192.0.2.3") + "broken IN A not-an-address\n")
        os.kill(process.pid, signal.SIGHUP)
        assert wait_for(lambda: f"{zone}:7:" in log.read_text())
        assert www_address(port) == "192.0.2.2"  # the old zones still serve
        zone.write_text(ZONE.format(address="192.0.2.4") + "www IN CNAME ns1\n")
        os.kill(process.pid, signal.SIGHUP)
        reason = f"{zone}:7: www.example.com.: CNAME and other data (A)"
        assert wait_for(lambda: reason in log.read_text())
        assert www_address(port) == "192.0.2.2"


def test_a_target_without_its_trailing_dot_is_served_and_warned_about(tmp_path: Path):
    zone = tmp_path / "example.com.zone"
    zone.write_text(ZONE.format(address="192.0.2.1") + "@ IN MX 10 mail.example.org\n")
    port = free_port()
    log = tmp_path / "log"
    with running(minidns_command(port, "--zone", f"example.com={zone}"), port, log):
        mx = DNSRecord.parse(exchange(port, Query("mx", make_query("example.com", "MX"))))
        assert str(mx.rr[0].rdata) == "10 mail.example.org.example.com."  # as PowerDNS
    assert f"WARNING {zone}:7: MX target mail.example.org has no trailing dot" in log.read_text()


def test_the_log_says_where_it_listens_and_each_reload(tmp_path: Path):
    zone = tmp_path / "example.com.zone"
    zone.write_text(ZONE.format(address="192.0.2.1"))
    port = free_port()
    log = tmp_path / "log"
    with running(minidns_command(port, "--zone", f"example.com={zone}"), port, log) as process:
        assert wait_for(lambda: "serving 1 zone\n" in log.read_text())
        assert f"INFO listening on 127.0.0.1 port {port} (UDP and TCP)" in log.read_text()
        assert "UDP datagrams per system call: 64" in log.read_text()
        os.kill(process.pid, signal.SIGHUP)
        assert wait_for(lambda: "INFO reloaded 1 zone in " in log.read_text())


def test_workers_share_the_port(tmp_path: Path):
    zone = tmp_path / "example.com.zone"
    zone.write_text(ZONE.format(address="192.0.2.1"))
    port = free_port()
    command = [*minidns_command(port, "--zone", f"example.com={zone}"), "--workers", "2"]
    with running(command, port, tmp_path / "log") as process:
        children = wait_for_children(process.pid, 2)
        assert len(children) == 2
        answers = [www_address(port) for _ in range(20)]  # from many source ports
        assert answers == ["192.0.2.1"] * 20
        zone.write_text(ZONE.format(address="192.0.2.2"))
        os.kill(process.pid, signal.SIGHUP)  # passed on to every worker
        assert wait_for(lambda: [www_address(port) for _ in range(20)] == ["192.0.2.2"] * 20)
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    for child in children:
        assert not Path(f"/proc/{child}").exists()


def test_a_signal_while_the_workers_start_is_not_lost_and_kills_none(tmp_path: Path):
    """SIGHUP (a reload) or SIGTERM that reaches a worker before its handlers are in place is
    held until they are: it neither kills the worker nor goes unanswered."""
    zone = tmp_path / "example.com.zone"
    zone.write_text(ZONE.format(address="192.0.2.1"))
    port = free_port()
    command = [*minidns_command(port, "--zone", f"example.com={zone}"), "--workers", "2"]
    with open(tmp_path / "log", "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        children_file = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(children_file.read_text().split()) < 2:
            time.sleep(0.0005)  # the workers are forked once the zones are loaded
        os.kill(process.pid, signal.SIGHUP)  # forwarded to workers that are just starting
        time.sleep(0.5)
        assert process.poll() is None
        assert wait_for(lambda: (tmp_path / "log").read_text().count("reloaded 1 zone") == 2)
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_ipv6_listen(tmp_path: Path):
    if not socket.has_ipv6 or not Path("/proc/net/if_inet6").exists():
        pytest.skip("no IPv6 on this machine")
    zone = tmp_path / "example.com.zone"
    zone.write_text(ZONE.format(address="192.0.2.1"))
    v4 = free_port()
    v6 = free_port()
    command = [*minidns_command(v4, "--zone", f"example.com={zone}"), "--listen", f"[::1]:{v6}"]
    with (
        running(command, v4, tmp_path / "log"),
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as udp,
    ):
        udp.settimeout(3)
        udp.sendto(WWW.wire, ("::1", v6))
        response = DNSRecord.parse(udp.recv(512))
    assert str(response.rr[0].rdata) == "192.0.2.1"


def wait_for(condition, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def wait_for_children(pid: int, count: int) -> list[int]:
    children: list[int] = []

    def found() -> bool:
        nonlocal children
        path = Path(f"/proc/{pid}/task/{pid}/children")
        children = [int(child) for child in path.read_text().split()] if path.exists() else []
        return len(children) >= count

    wait_for(found)
    return children
