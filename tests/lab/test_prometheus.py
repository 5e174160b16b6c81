"""A real Prometheus scrapes the lab's servers (python mode) and sees what a user would check.

Prometheus (Debian's package) runs inside server1's namespace with a config of the test's own,
scraping minidns's `--metrics` endpoint on server1's loopback every second; the test sends
known queries from client1 to the anycast address and asks Prometheus's HTTP API for them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from lab.lab import Lab
from lab.render import MINIDNS_METRICS_PORT
from tests.conftest import require_programs, require_root, tagged

pytestmark = pytest.mark.lab

PROMETHEUS = "/usr/bin/prometheus"
API = "127.0.0.1:9090"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    require_root()
    require_programs("vtysh", "/usr/lib/frr/bgpd", PROMETHEUS, "dig")
    lab = Lab(tagged("prom"))
    lab.down()
    lab.up("python")
    try:
        yield lab
    finally:
        lab.down()


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
    )
    argv = [
        PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={directory / 'data'}",
        f"--web.listen-address={API}", "--log.level=warn",
    ]  # fmt: skip
    log = (directory / "prometheus.log").open("wb")
    process = subprocess.Popen(lab.exec_argv("server1", argv), stdout=log, stderr=log)
    try:
        _until(lambda: _query(lab, 'up{job="minidns"}') == 1.0, "Prometheus to scrape minidns")
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _query(lab: Lab, expression: str) -> float | None:
    """One instant query to Prometheus's API, from inside server1's namespace."""
    code = (
        "import json, sys, urllib.parse, urllib.request\n"
        f"url = 'http://{API}/api/v1/query?query=' + urllib.parse.quote(sys.argv[1])\n"
        "print(urllib.request.urlopen(url, timeout=5).read().decode())\n"
    )
    result = lab.host("server1").run([sys.executable, "-c", code, expression], check=False)
    if result.returncode != 0:
        return None
    answer = json.loads(result.stdout)["data"]["result"]
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
    return lab.host("client1").run(argv).stdout


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
