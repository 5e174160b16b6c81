"""dig and kdig against minidns, over UDP and TCP."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_programs
from tests.minidns.differential import free_port, minidns_command, running

pytestmark = pytest.mark.interop

ZONE = Path(__file__).resolve().parents[2] / "bench" / "data" / "dns" / "example.com.zone"


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    require_programs("dig", "kdig")
    port = free_port()
    log = tmp_path_factory.mktemp("dig") / "minidns.log"
    with running(minidns_command(port, "--zone", f"example.com={ZONE}"), port, log):
        yield port


def run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=True).stdout


@pytest.mark.parametrize("tool", ["dig", "kdig"])
@pytest.mark.parametrize("transport", ["+notcp", "+tcp"])
def test_a_record(port: int, tool: str, transport: str) -> None:
    out = run(tool, "@127.0.0.1", "-p", str(port), "+short", transport, "www.example.com", "A")
    assert out.split() == ["192.0.2.1"]


@pytest.mark.parametrize("tool", ["dig", "kdig"])
@pytest.mark.parametrize("transport", ["+notcp", "+tcp"])
def test_mx_with_additional(port: int, tool: str, transport: str) -> None:
    out = run(tool, "@127.0.0.1", "-p", str(port), transport, "example.com", "MX")
    assert "25 mail.example.com." in out
    assert "192.0.2.25" in out  # the MX target's address in the additional section


@pytest.mark.parametrize("tool", ["dig", "kdig"])
def test_nxdomain(port: int, tool: str) -> None:
    out = run(tool, "@127.0.0.1", "-p", str(port), "nope.example.com", "A")
    assert "NXDOMAIN" in out


def test_dig_shows_nsid_and_chaos_identity(port: int) -> None:
    nsid = run("dig", "@127.0.0.1", "-p", str(port), "+nsid", "www.example.com")
    assert '("server1")' in nsid
    chaos = run("dig", "@127.0.0.1", "-p", str(port), "+short", "CH", "TXT", "id.server")
    assert chaos.strip() == '"server1"'


def test_kdig_shows_nsid(port: int) -> None:
    out = run("kdig", "@127.0.0.1", "-p", str(port), "+nsid", "www.example.com")
    assert "server1" in out


def test_question_case_is_kept(port: int) -> None:
    out = run("dig", "@127.0.0.1", "-p", str(port), "+noall", "+question", "WwW.ExAmPlE.cOm")
    assert "WwW.ExAmPlE.cOm." in out
