"""The systemd units in deploy/, as an operator runs them: a Debian 12 container booted with
systemd as PID 1 (server1), the project's wheel installed in /opt/anycast-bgp-dns, the units,
the system users and the configs of docs/deploy.md; across a veth, a real FRR (router1).

Checked: both services start (Type=notify: active only once ready), run as their own users with
CAP_NET_BIND_SERVICE alone, the router holds the anycast route and DNS answers through it;
`systemctl reload` (SIGHUP) of each applies a change without a restart or a session reset; a
crash is followed by a restart; `systemctl stop minibgp` withdraws and sends Cease.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab.frr import FrrRouter, wait_until
from lab.netns import Netns, Network
from tests.conftest import require_programs, require_root, tagged
from tests.deploy.container import Container
from tests.minibgp.interop.pair import (
    ANYCAST,
    FRR_CONFIG,
    MINIBGP_ADDRESS,
    ROUTER_ADDRESS,
    frr_neighbor,
    frr_route,
)
from tests.wheel import Installed

pytestmark = pytest.mark.interop

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SECOND_PREFIX = "169.254.0.2/32"
CAP_NET_BIND_SERVICE = 1 << 10  # <linux/capability.h>

MINIBGP_TOML = f"""\
[speaker]
asn = 64520
router_id = "{MINIBGP_ADDRESS}"

[[peer]]
address = "{ROUTER_ADDRESS}"
asn = 4290001234
hold_time = 9
connect_retry = 1

[[check]]
name = "dns"
kind = "dns"
target = "169.254.0.1:53"
query = "example.com. SOA"
keep_open = true
interval = 0.5

[[announce]]
prefix = "{ANYCAST}"
checks = ["dns"]
"""
SECOND_ANNOUNCE = f'\n[[announce]]\nprefix = "{SECOND_PREFIX}"\n'

ZONE = """\
$ORIGIN example.com.
$TTL 300
@    IN SOA ns1 hostmaster 1 3600 600 86400 300
@    IN NS  ns1
@    IN MX  25 mail
ns1  IN A   192.0.2.53
www  IN A   {www}
"""
MINIDNS_DEFAULT = (
    'MINIDNS_OPTIONS="--zone example.com=/etc/minidns/example.com.zone '
    '--listen 169.254.0.1:53 --identity server1"\n'
)
# The anycast address on the loopback, put there as minidns starts (docs/deploy.md).
ANYCAST_DROP_IN = f"[Service]\nExecStartPre=+/usr/sbin/ip address replace {ANYCAST} dev lo\n"


@dataclass
class Site:
    server: Container
    router: FrrRouter
    router_host: Netns

    def dig(self, *args: str) -> str:
        argv = ["dig", "+short", "+time=1", "+tries=1", "@169.254.0.1", *args]
        return self.router_host.run(argv, check=False).stdout.strip()

    def holds(self, prefix: str) -> bool:
        return bool(frr_route(self.router, prefix).get("paths"))

    def established_count(self) -> int:
        neighbor = frr_neighbor(self.router)
        return (
            int(neighbor.get("connectionsEstablished", 0))
            if neighbor.get("bgpState") == "Established"
            else -1
        )


@pytest.fixture(scope="module")
def wheelhouse(installed_wheel: Installed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel and its dependencies' wheels (the container has no network)."""
    wheels = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(wheels),
         str(installed_wheel.wheel)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return wheels


@pytest.fixture
def site(wheelhouse: Path) -> Iterator[Site]:
    require_root()
    require_programs("systemd-nspawn", "debootstrap", "nsenter", "dig", "vtysh",
                     "/usr/lib/frr/zebra", "/usr/lib/frr/bgpd")  # fmt: skip
    tag = secrets.token_hex(3)
    with (
        tempfile.TemporaryDirectory(prefix="abdt-sd-") as tmp,
        Network(tagged(f"abdt-sd-{tag}-")) as network,
    ):
        tmp_path = Path(tmp)
        tmp_path.chmod(0o755)  # FRR runs as the frr user
        server_host = network.add_host("srv")
        router_host = network.add_host("rtr")
        network.link(server_host, "eth0", router_host, "eth0")
        server_host.add_address("eth0", f"{MINIBGP_ADDRESS}/24")
        router_host.add_address("eth0", f"{ROUTER_ADDRESS}/24")
        server = Container(tagged(f"abdt-sd-{tag}"), tmp_path, server_host.name)
        try:
            install(server, wheelhouse)
            router = FrrRouter(router_host, tmp_path / "frr", FRR_CONFIG.format(neighbor_extra=""))
            router.start()
            server.boot()
            yield Site(server, router, router_host)
        finally:
            for unit in ("minibgp", "minidns"):
                print(f"---- journal of {unit} ----\n{server.journal(unit)[-4000:]}")
            server.remove()


def install(server: Container, wheelhouse: Path) -> None:
    """docs/deploy.md's steps, done in the container's file system before it boots."""
    server.spawn(
        ["sh", "-ec", "python3 -m venv /opt/anycast-bgp-dns; /opt/anycast-bgp-dns/bin/pip "
         "install -q --no-index --find-links /mnt/wheels anycast-bgp-dns"],
        binds={wheelhouse: "/mnt/wheels"},
    )  # fmt: skip
    for unit in ("minibgp.service", "minidns.service"):
        server.write(f"/etc/systemd/system/{unit}", (DEPLOY / unit).read_text())
    server.write("/etc/systemd/system/minidns.service.d/anycast.conf", ANYCAST_DROP_IN)
    server.write("/etc/sysusers.d/anycast-bgp-dns.conf", (DEPLOY / "sysusers.conf").read_text())
    server.write("/etc/minibgp/minibgp.toml", MINIBGP_TOML, mode=0o640)
    server.write("/etc/minidns/example.com.zone", ZONE.format(www="192.0.2.1"))
    server.write("/etc/default/minidns", MINIDNS_DEFAULT)
    server.spawn(["sh", "-ec", "systemd-sysusers; chgrp minibgp /etc/minibgp/minibgp.toml; "
                 "systemctl enable minidns minibgp"])  # fmt: skip


def main_pid(site: Site, unit: str) -> int:
    return int(site.server.show(unit, "MainPID")["MainPID"])


def process_status(site: Site, pid: int) -> dict[str, str]:
    text = site.server.run(["cat", f"/proc/{pid}/status"]).stdout
    return {k: v.strip() for k, _, v in (line.partition(":") for line in text.splitlines())}


@pytest.mark.timeout(900)  # the first run on a machine makes the Debian root (~2 min)
def test_start_reload_crash_and_stop(site: Site) -> None:
    server = site.server
    # start: enabled, so started at boot; Type=notify, so active means ready
    for unit in ("minidns", "minibgp"):
        shown = server.show(unit, "ActiveState", "Type", "StatusText", "NRestarts")
        assert shown["ActiveState"] == "active" and shown["Type"] == "notify", shown
    assert (
        server.show("minibgp", "StatusText")["StatusText"]
        == f"AS 64520, router id {MINIBGP_ADDRESS}"
    )
    assert server.show("minidns", "StatusText")["StatusText"] == (
        "serving 1 zone on 169.254.0.1:53"
    )
    for unit, user in (("minibgp", "minibgp"), ("minidns", "minidns")):
        status = process_status(site, main_pid(site, unit))
        uid = int(status["Uid"].split()[0])
        assert uid != 0 and server.run(["id", "-un", str(uid)]).stdout.strip() == user
        assert int(status["CapEff"], 16) == CAP_NET_BIND_SERVICE, status["CapEff"]
        assert int(status["CapBnd"], 16) == CAP_NET_BIND_SERVICE, status["CapBnd"]
        assert status["NoNewPrivs"] == "1"
    wait_until(lambda: site.holds(ANYCAST), timeout=30, what="router1 to hold the anycast route")
    # through the router's kernel route (zebra installs it a moment after BGP holds it)
    wait_until(lambda: site.dig("CH", "TXT", "id.server") == '"server1"', timeout=10,
               what="DNS answers through the router")  # fmt: skip
    assert site.dig("www.example.com") == "192.0.2.1"
    show = server.run(["/opt/anycast-bgp-dns/bin/minibgp", "show", "neighbors"]).stdout
    assert ROUTER_ADDRESS in show and "4290001234" in show

    # reload minibgp: a prefix more, same process, same session
    pid, sessions = main_pid(site, "minibgp"), site.established_count()
    server.run(["ip", "address", "add", SECOND_PREFIX, "dev", "lo"])
    server.write("/etc/minibgp/minibgp.toml", MINIBGP_TOML + SECOND_ANNOUNCE, mode=0o644)
    server.systemctl("reload", "minibgp")
    wait_until(lambda: site.holds(SECOND_PREFIX), timeout=10, what="the reloaded announcement")
    assert main_pid(site, "minibgp") == pid and site.established_count() == sessions
    assert "SIGHUP: reloading /etc/minibgp/minibgp.toml" in server.journal("minibgp")

    # reload with a broken config: logged, the running one kept
    server.write("/etc/minibgp/minibgp.toml", "[speaker]\nasn = 'x'\n", mode=0o644)
    server.systemctl("reload", "minibgp")
    wait_until(lambda: "config not reloaded" in server.journal("minibgp"), timeout=10,
               what="the reload to be refused")  # fmt: skip
    assert main_pid(site, "minibgp") == pid and site.holds(SECOND_PREFIX)
    server.write("/etc/minibgp/minibgp.toml", MINIBGP_TOML + SECOND_ANNOUNCE, mode=0o644)

    # reload minidns: a changed zone, same process
    pid = main_pid(site, "minidns")
    server.write("/etc/minidns/example.com.zone", ZONE.format(www="192.0.2.99"))
    server.systemctl("reload", "minidns")
    wait_until(lambda: site.dig("www.example.com") == "192.0.2.99", timeout=10,
               what="the reloaded zone")  # fmt: skip
    assert main_pid(site, "minidns") == pid
    assert server.show("minidns", "StatusText")["StatusText"] == "serving 1 zone (reloaded)"

    # a crash of minidns: the health check withdraws, systemd restarts it, the route comes back
    server.systemctl("kill", "--signal=SIGKILL", "minidns")
    wait_until(lambda: f"withdrawing {ANYCAST}" in server.journal("minibgp"), timeout=10,
               what="minibgp's health check to withdraw")  # fmt: skip
    wait_until(lambda: server.show("minidns", "NRestarts")["NRestarts"] == "1", timeout=15,
               what="systemd to restart minidns")  # fmt: skip
    wait_until(lambda: site.dig("CH", "TXT", "id.server") == '"server1"', timeout=20,
               what="DNS answers again through the router")  # fmt: skip

    # a crash of minibgp: restarted, the session comes up again and the route is back
    sessions = site.established_count()
    server.systemctl("kill", "--signal=SIGKILL", "minibgp")
    wait_until(lambda: server.show("minibgp", "NRestarts")["NRestarts"] == "1", timeout=15,
               what="systemd to restart minibgp")  # fmt: skip
    wait_until(lambda: site.established_count() > sessions, timeout=30,
               what="router1 to see a new session")  # fmt: skip
    wait_until(lambda: site.holds(ANYCAST), timeout=20, what="the anycast route again")

    # stop: withdraw and Cease, seen by the router; the unit stopped cleanly
    server.systemctl("stop", "minibgp")
    wait_until(lambda: not site.holds(ANYCAST), timeout=5, what="router1 to drop the route")
    neighbor = frr_neighbor(site.router)
    assert neighbor["lastNotificationReason"] == "Cease/Administrative Shutdown"
    assert neighbor["lastResetDueTo"] == "BGP Notification received"
    shown = server.show("minibgp", "ActiveState", "Result")
    assert shown == {"ActiveState": "inactive", "Result": "success"}
