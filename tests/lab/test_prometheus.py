"""A real Prometheus scrapes the lab's servers (python mode) and sees what a user would check.

On three-sites.toml (dual-stack), Prometheus (Debian's package) runs inside site-west's
namespace with a config of the test's own, scraping minidns's and minibgp's metrics on
site-west's loopback every second. The test sends known queries from client-west (which
site-west serves) to the anycast address and asks Prometheus's HTTP API for them; it asks for
minibgp's session, the prefixes it advertises, and their state through a drain and a
traffic-engineering withdraw.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lab.lab import Lab
from lab.render import MINIBGP_METRICS_PORT, MINIDNS_METRICS_PORT
from lab.te.action import TeAction
from lab.te.change import change
from minibgp.control import request
from tests.conftest import require_programs, require_root
from tests.lab.running import running_lab

pytestmark = pytest.mark.lab

PROMETHEUS = "/usr/bin/prometheus"
API = "127.0.0.1:9090"
SITE, CLIENT = "site-west", "client-west"
ANYCAST, ANYCAST6 = "169.254.0.1/32", "2001:db8:53::1/128"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    require_root()
    require_programs("vtysh", "/usr/lib/frr/bgpd", PROMETHEUS, "dig")
    with running_lab("prom", "three-sites.toml", "python") as lab:
        yield lab


@pytest.fixture(scope="module")
def prometheus(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    directory = tmp_path_factory.mktemp("prometheus")
    directory.chmod(0o777)
    config = directory / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n"
        f"  - job_name: minidns\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{MINIDNS_METRICS_PORT}']\n"
        f"  - job_name: minibgp\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{MINIBGP_METRICS_PORT}']\n"
    )
    argv = [
        PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={directory / 'data'}",
        f"--web.listen-address={API}", "--log.level=warn",
    ]  # fmt: skip
    log = (directory / "prometheus.log").open("wb")
    process = subprocess.Popen(lab.exec_argv(SITE, argv), stdout=log, stderr=log)
    try:
        up = 'sum(up{job=~"minidns|minibgp"})'
        _until(lambda: _query(lab, up) == 2.0, "Prometheus to scrape minidns and minibgp")
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _result(lab: Lab, expression: str) -> list[dict[str, Any]]:
    """One instant query to Prometheus's API, from inside the site's namespace: the series."""
    code = (
        "import json, sys, urllib.parse, urllib.request\n"
        f"url = 'http://{API}/api/v1/query?query=' + urllib.parse.quote(sys.argv[1])\n"
        "print(urllib.request.urlopen(url, timeout=5).read().decode())\n"
    )
    result = lab.host(SITE).run([sys.executable, "-c", code, expression], check=False)
    if result.returncode != 0:
        return []
    return list(json.loads(result.stdout)["data"]["result"])


def _query(lab: Lab, expression: str) -> float | None:
    """The value of a query that gives one series (None: none)."""
    answer = _result(lab, expression)
    return float(answer[0]["value"][1]) if answer else None


def _until(condition: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.25)
    raise AssertionError(f"gave up waiting for {what}")


def _dig(lab: Lab, *question: str) -> str:
    argv = ["dig", "+short", "+tries=1", "+time=2", *question, "@169.254.0.1"]
    return lab.host(CLIENT).run(argv).stdout


def test_queries_counted_by_rcode(lab: Lab, prometheus: None) -> None:
    for _ in range(3):
        assert _dig(lab, "www.example.com", "A").strip() == "192.0.2.1"
    for _ in range(2):
        _dig(lab, "nosuch.example.com", "A")
    _dig(lab, "example.org", "A")  # not our zone: REFUSED, as PowerDNS answers

    def counted(labels: str) -> float | None:
        return _query(lab, f"sum(minidns_queries_total{{{labels}}})")

    _until(lambda: counted('qtype="A",rcode="NXDOMAIN"') == 2.0, "2 NXDOMAIN in Prometheus")
    assert counted('transport="udp",qtype="A",rcode="NOERROR"') == 3.0
    assert counted('rcode="REFUSED"') == 1.0
    # minibgp's health check asks example.com SOA over a held-open TCP connection
    assert (counted('transport="tcp",qtype="SOA",rcode="NOERROR"') or 0) > 0
    assert _query(lab, 'minidns_zone_serial{zone="example.com."}') is not None
    assert _query(lab, "minidns_tcp_connections") == 1.0  # that held-open connection
    latency = _query(lab, 'sum(minidns_answer_latency_seconds_count{transport="udp"})')
    assert latency is not None and latency >= 6


def test_minibgp_session_prefixes_and_their_state(lab: Lab, prometheus: None) -> None:
    (router,) = [n.address for n in lab.topology.neighbors(SITE)]
    established = f'minibgp_peer_state{{peer="{router}",state="Established"}}'
    assert _query(lab, established) == 1.0
    uptime = _query(lab, f'minibgp_peer_uptime_seconds{{peer="{router}"}}')
    assert uptime is not None and uptime > 0
    for afi in ("ipv4", "ipv6"):  # the /32 and the /128, over the one IPv4 session
        advertised = f'minibgp_peer_prefixes_advertised{{peer="{router}",afi="{afi}"}}'
        assert _query(lab, advertised) == 1.0
    received = _query(lab, 'minibgp_peer_messages_received_total{type="UPDATE"}')
    assert received is not None and received > 0
    assert _query(lab, 'minibgp_check_passing{check="dns"}') == 1.0
    assert _query(lab, 'minibgp_check_passing{check="minidns-process"}') == 1.0
    assert _query(lab, 'minibgp_bfd_state{state="Up"}') == 1.0

    def state_of(prefix: str) -> str | None:
        answer = _result(lab, f'minibgp_prefix_state{{prefix="{prefix}"}} == 1')
        return str(answer[0]["metric"]["state"]) if len(answer) == 1 else None

    assert state_of(ANYCAST) == "announced" and state_of(ANYCAST6) == "announced"
    socket = lab.minibgp_socket(SITE)
    request(socket, "drain", drain_time=0, wait=False)
    _until(lambda: state_of(ANYCAST) == "drained", "the drain in Prometheus")
    assert state_of(ANYCAST6) == "drained"
    withdrawn = f'minibgp_peer_prefixes_advertised{{peer="{router}",afi="ipv4"}}'
    _until(lambda: _query(lab, withdrawn) == 0.0, "no prefix advertised while drained")
    request(socket, "undrain")
    _until(lambda: state_of(ANYCAST) == "announced", "undrain in Prometheus")
    change(lab, SITE, TeAction.parse(["withdraw"]))
    try:
        _until(lambda: state_of(ANYCAST) == "withdrawn", "the TE withdraw in Prometheus")
        runtime = f'minibgp_prefix_state{{prefix="{ANYCAST}",source="runtime",state="withdrawn"}}'
        assert _query(lab, runtime) == 1.0
    finally:
        change(lab, SITE, TeAction.parse(["restore"]))
    _until(lambda: state_of(ANYCAST) == "announced", "the restore in Prometheus")
