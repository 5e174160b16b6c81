"""One Vagrant machine's provisioning: a shell script rendered from the topology, per node and mode.

The Vagrantfile runs it inside each machine, as root, from the project synced to /vagrant:

    python3 -m lab.vagrant provision server1 --mode python > /etc/anycast-bgp-dns/provision.sh
    sh /etc/anycast-bgp-dns/provision.sh

The script stands alone and can run again (`vagrant provision`, also to switch modes):

- it installs every Debian package the machine uses, and only those (apt runs only when one is
  missing, and no service starts while packages install);
- what the lab adds to the network outlives a reboot: a server's anycast address and the
  static routes are set by a oneshot unit, anycast-network.service (run again by an ifupdown
  hook when Vagrant re-configures an interface), a router's forwarding by /etc/sysctl.d;
- a server stops and disables the other mode's services before it starts its own, so minidns
  and PowerDNS never both want port 53; every service it runs is enabled for boot;
- a server in python mode is deployed as docs/deploy.md says: the project in a virtualenv
  (its run-time dependencies only, offline from the wheels baked into the lab's box when it has
  them), the project's own systemd units and users (deploy/), minidns's options in
  /etc/default/minidns, minibgp's config in /etc/minibgp.

Only the standard library is used: this runs with Debian 12's python3.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import TypeVar

from ..render import Mode, frr_config, frr_daemons, minibgp_config, minidns_args, zone_file
from ..render.dns import pdns_config, pdnsutil_commands
from ..topology import BgpTimers, Family, Node, Role, Topology

NetworkT = TypeVar("NetworkT", IPv4Network, IPv6Network)

PROJECT_DIR = "/vagrant"  # where Vagrant syncs the project
DEPLOY_DIR = f"{PROJECT_DIR}/deploy"  # the project's systemd units and users
CONFIG_DIR = "/etc/anycast-bgp-dns"  # the rendered provisioning script is kept here
VENV = "/opt/anycast-bgp-dns"
WHEELHOUSE = "/var/cache/anycast-bgp-dns/wheels"  # in the box `make vagrant-box` builds
MINIBGP_CONFIG = "/etc/minibgp/minibgp.toml"
MINIDNS_OPTIONS = "/etc/default/minidns"
ZONE_DIR = "/etc/minidns"
PDNS_DATABASE = "/var/lib/powerdns/pdns.sqlite3"
PDNS_SCHEMA = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"
FORWARDING_SYSCTL = "/etc/sysctl.d/90-anycast-forwarding.conf"
IFUP_HOOK_PATH = "/etc/network/if-up.d/anycast-network"

NETWORK_UNIT = "anycast-network.service"
MINIDNS_UNIT = "minidns.service"
MINIBGP_UNIT = "minibgp.service"
# What a server runs in each mode, in start order; switching stops the other mode's first.
SERVER_SERVICES: dict[Mode, tuple[str, ...]] = {
    "python": (MINIDNS_UNIT, MINIBGP_UNIT),
    "reference": ("frr.service", "pdns.service"),
}

# Debian packages: the programs each machine runs, in its provisioning, its services and the
# seed's checks (`ip`, `sysctl`, `systemctl` and this renderer's python3 everywhere).
COMMON_PACKAGES = ("iproute2", "procps", "python3", "systemd")
ROLE_PACKAGES: dict[tuple[Role, Mode], tuple[str, ...]] = {
    ("server", "python"): ("python3-venv", "tcpdump"),
    ("server", "reference"): ("frr", "pdns-server", "pdns-backend-sqlite3", "sqlite3", "tcpdump"),
    ("router", "python"): ("frr",),
    ("router", "reference"): ("frr",),
    ("client", "python"): ("bind9-dnsutils", "iputils-ping"),
    ("client", "reference"): ("bind9-dnsutils", "iputils-ping"),
}

# Software emulation (QEMU without KVM) pauses a machine for a second or more when the host is
# busy: the lab's sub-second BFD, 3 s hold time and 100 ms health checks would then drop sessions
# and withdraw the routes of servers that are fine. A machine that finds itself emulated
# (`systemd-detect-virt` says qemu) is given these instead.
EMULATION_BGP_TIMERS = {"keepalive": 3, "hold": 9, "connect_retry": 2}
EMULATION_BFD = (500, 500, 5)  # ms, ms, Detect Mult: down after 2.5 s of silence
EMULATION_CHECKS = (1.0, 1.0)  # s between DNS health checks, s a check may take
EMULATION_DRAIN_TIME = 2.0


def for_emulation(topology: Topology) -> Topology:
    """The topology with timers that tolerate the pauses of an emulated machine."""
    min_tx, min_rx, multiplier = EMULATION_BFD
    interval, timeout = EMULATION_CHECKS
    failover = replace(
        topology.failover,
        bfd_min_tx=min_tx,
        bfd_min_rx=min_rx,
        bfd_multiplier=multiplier,
        drain_time=EMULATION_DRAIN_TIME,
        check_interval=interval,
        check_timeout=timeout,
    )
    nodes = {
        name: replace(node, bgp_timers=_slower(node.bgp_timers))
        for name, node in topology.nodes.items()
    }
    return replace(
        topology, nodes=nodes, bgp_timers=_slower(topology.bgp_timers), failover=failover
    )


def _slower(timers: BgpTimers) -> BgpTimers:
    return replace(timers, **EMULATION_BGP_TIMERS)


def packages(role: Role, mode: Mode) -> tuple[str, ...]:
    """Every Debian package a machine of this role uses in this mode."""
    return COMMON_PACKAGES + ROLE_PACKAGES[role, mode]


def all_packages() -> tuple[str, ...]:
    """The packages of every role and mode: what the lab's box has pre-installed."""
    names = {name for role, mode in ROLE_PACKAGES for name in packages(role, mode)}
    return tuple(sorted(names))


def build_requirements(pyproject: Path) -> tuple[str, ...]:
    """What building the project needs (its [build-system], and wheel): installed in the
    virtualenv, so that pip builds it there without an isolated environment each time."""
    with pyproject.open("rb") as f:
        return (*tomllib.load(f)["build-system"]["requires"], "wheel")


def run_requirements(pyproject: Path) -> tuple[str, ...]:
    """What the project needs to run: its dependencies, without any extra."""
    with pyproject.open("rb") as f:
        return tuple(tomllib.load(f)["project"]["dependencies"])


# --- the script ----------------------------------------------------------------------------------


class Script:
    """A POSIX shell script built step by step; files are written from quoted here-documents."""

    END = "ANYCAST_EOF"

    def __init__(self, header: list[str]) -> None:
        self.lines = ["#!/bin/sh", *(f"# {line}" for line in header), "set -eu", ""]
        self.directories: set[str] = set()

    def step(self, title: str) -> None:
        self.lines += ["", f"# --- {title}", f"say {_quote(title)}"]

    def run(self, *commands: str) -> None:
        self.lines += commands

    def file(self, path: str, text: str, mode: str = "0644", group: str | None = None) -> None:
        """Write `text` to `path` as it is (no shell expansion inside), owned by root."""
        if self.END in text.splitlines():
            raise ValueError(f"{path}: its text holds the here-document's end marker")
        directory = path.rsplit("/", 1)[0]
        if directory not in self.directories:
            self.directories.add(directory)
            self.lines.append(f"install -d {directory}")
        ownership = f"-g {group} " if group else ""
        self.lines += [
            f"install {ownership}-m {mode} /dev/stdin {path} <<'{self.END}'",
            *text.rstrip("\n").splitlines(),
            self.END,
        ]

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


PRELUDE = r"""export DEBIAN_FRONTEND=noninteractive
say() { echo "anycast: $*"; }

# Install the packages that are missing; none of their services starts while they install.
install_packages() {
    missing=""
    for package in "$@"; do
        dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q ' installed$' ||
            missing="$missing $package"
    done
    [ -n "$missing" ] || return 0
    say "installing$missing"
    made_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    status=0
    { apt-get update -qq &&
      apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends $missing >/dev/null
    } || status=$?
    [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
    return $status
}

# Stop and disable the units that exist. (`systemctl enable` and `disable` only when needed:
# for a service that also has an init script they run update-rc.d, slow on an emulated CPU.)
stop_services() {
    for unit in "$@"; do
        systemctl cat "$unit" >/dev/null 2>&1 || continue
        systemctl stop "$unit"
        ! systemctl is-enabled --quiet "$unit" || systemctl disable --quiet "$unit"
    done
}

# Enable the units for boot and (re)start them; show the log of any that is not running.
start_services() {
    systemctl daemon-reload
    for unit in "$@"; do
        systemctl is-enabled --quiet "$unit" || systemctl enable --quiet "$unit"
        systemctl restart "$unit" || true
        if ! systemctl is-active --quiet "$unit"; then
            journalctl -u "$unit" -n 20 --no-pager || true
            say "$unit is not running"
            return 1
        fi
    done
}"""


def provision_script(topology: Topology, node: Node, mode: Mode, emulated: bool = False) -> str:
    """The shell script that provisions `node` in `mode` (clients are the same in both);
    `emulated`: the machine runs under software emulation (see `for_emulation`)."""
    if emulated:
        topology = for_emulation(topology)
        node = topology.node(node.name)
    roles = {
        "server": _server_stack(mode),
        "router": "FRR: eBGP to its server, iBGP to the other router"
        + (", BFD to its server" if "bfdd" in frr_daemons(topology, node, mode) else ""),
        "client": "dig and ping; its route to the anycast address goes to its router",
    }
    script = Script(
        [
            f"{node.name} ({node.role}, {mode} mode): {roles[node.role]}.",
            f"Rendered by `python3 -m lab.vagrant provision {node.name} --mode {mode}`"
            + (", for an emulated machine (slower timers);" if emulated else ";"),
            "`vagrant provision` runs it again (ANYCAST_MODE=reference|python switches modes).",
        ]
    )
    script.run(PRELUDE)
    if node.role == "server":
        other: Mode = "reference" if mode == "python" else "python"
        script.step(f"stop the {other} mode's services")
        script.run(f"stop_services {' '.join(reversed(SERVER_SERVICES[other]))}")
    script.step("packages")
    script.run(f"install_packages {' '.join(packages(node.role, mode))}")
    _network(script, topology, node)
    _forwarding(script, node)
    if node.role == "router":
        _router(script, topology, node, mode)
    elif node.role == "server" and mode == "python":
        _python_server(script, topology, node)
    elif node.role == "server":
        _reference_server(script, topology, node)
    script.step(f"{node.name} is provisioned")
    return script.text()


def _server_stack(mode: Mode) -> str:
    if mode == "python":
        return "minibgp announces the anycast prefix, minidns answers"
    return "FRR bgpd announces the anycast prefix, PowerDNS answers (the original lab's way)"


# --- network ---------------------------------------------------------------------------------


IFUP_HOOK = f"""#!/bin/sh
# ifupdown runs this after it brings an interface up, also when `vagrant up` re-configures the
# lab's interfaces (which drops the routes through them): {NETWORK_UNIT} puts them back.
[ "$MODE" = start ] || exit 0
systemctl --no-block try-restart {NETWORK_UNIT}
"""


def lab_supernet(topology: Topology, family: Family = 4) -> IPv4Network | IPv6Network:
    """The smallest prefix holding every link (of a family): a machine's route to the lab
    instead of "default" (its default route stays on its first interface, which Vagrant needs)."""
    if family == 4:
        return _supernet([link.network for link in topology.links])
    return _supernet([link.network6 for link in topology.links if link.network6 is not None])


def _supernet(networks: list[NetworkT]) -> NetworkT:
    supernet = networks[0]
    while not all(network.subnet_of(supernet) for network in networks):
        supernet = supernet.supernet()
    return supernet


def network_commands(topology: Topology, node: Node) -> list[str]:
    """The lab's additions to a machine's network: the anycast addresses, the static routes."""
    commands = []
    if node.role == "server":
        commands.append(f"ip address replace {topology.service.anycast} dev lo")
        if topology.service.anycast6 is not None:
            commands.append(f"ip -6 address replace {topology.service.anycast6} dev lo")
    for route in node.routes:
        to = lab_supernet(topology, route.family) if route.to == "default" else route.to
        commands.append(f"ip route replace {to} via {route.via}")
    return commands


def network_unit(topology: Topology, node: Node) -> str:
    """anycast-network.service: the commands of `network_commands`, once per boot."""
    starts = "\n".join(f"ExecStart={command}" for command in network_commands(topology, node))
    return f"""[Unit]
Description=The anycast lab's addresses and routes on {node.name}
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
{starts}

[Install]
WantedBy=multi-user.target
"""


def _network(script: Script, topology: Topology, node: Node) -> None:
    if not network_commands(topology, node):
        return
    script.step("the anycast address and the routes, at every boot")
    script.file(f"/etc/systemd/system/{NETWORK_UNIT}", network_unit(topology, node))
    script.run("if [ -d /etc/network/if-up.d ]; then  # ifupdown: Vagrant's way on Debian")
    script.file(IFUP_HOOK_PATH, IFUP_HOOK, "0755")
    script.run("fi", f"start_services {NETWORK_UNIT}")


# --- FRR -------------------------------------------------------------------------------------


# watchfrr starts FRR's daemons and loads frr.conf into them in a background command that it
# kills after 20 s: on an emulated machine that is too short, and FRR then runs without its
# configuration.
WATCHFRR_OPTIONS = "--restart-timeout 180"


def _frr(script: Script, topology: Topology, node: Node, mode: Mode) -> None:
    """FRR with the daemons the node runs (zebra, bgpd, and bfdd for BFD), from frr.conf."""
    script.file("/etc/frr/frr.conf", frr_config(topology, node, mode), "0640", group="frr")
    bfdd = "yes" if "bfdd" in frr_daemons(topology, node, mode) else "no"
    script.run(
        f"sed -i -e 's/^bgpd=.*/bgpd=yes/' -e 's/^bfdd=.*/bfdd={bfdd}/' "
        f"-e 's/^#*watchfrr_options=.*/watchfrr_options=\"{WATCHFRR_OPTIONS}\"/' "
        "/etc/frr/daemons"
    )


def _forwarding(script: Script, node: Node) -> None:
    """Routers forward; servers and clients are hosts and never do, whatever the machine's
    default (a container inherits its host's IPv4 forwarding)."""
    forwarding = "1" if node.role == "router" else "0"
    script.step("forwarding, at every boot")
    script.file(
        FORWARDING_SYSCTL,
        f"net.ipv4.ip_forward = {forwarding}\nnet.ipv6.conf.all.forwarding = {forwarding}\n",
    )
    script.run(f"sysctl -q -p {FORWARDING_SYSCTL}")


def _router(script: Script, topology: Topology, node: Node, mode: Mode) -> None:
    script.step("FRR")
    _frr(script, topology, node, mode)
    script.run("start_services frr.service")


# --- servers -----------------------------------------------------------------------------------


def _python_server(script: Script, topology: Topology, node: Node) -> None:
    zone = topology.service.zone
    pip = f"{VENV}/bin/pip install --quiet --disable-pip-version-check"
    build = " ".join(_quote(r) for r in build_requirements(_PYPROJECT))
    script.step("minibgp and minidns in a virtualenv (docs/deploy.md)")
    script.run(
        f"[ -x {VENV}/bin/python ] || python3 -m venv {VENV}",
        f"if [ -d {WHEELHOUSE} ]; then export PIP_NO_INDEX=1 PIP_FIND_LINKS={WHEELHOUSE}; fi",
        f"{pip} {build}",
        f"{pip} --no-build-isolation {PROJECT_DIR}",
    )
    script.step("their users, units and configuration")
    script.run(
        f"install -D -m 0644 {DEPLOY_DIR}/sysusers.conf /etc/sysusers.d/anycast-bgp-dns.conf",
        "systemd-sysusers",
        f"install -m 0644 {DEPLOY_DIR}/{MINIDNS_UNIT} {DEPLOY_DIR}/{MINIBGP_UNIT} "
        "/etc/systemd/system/",
    )
    for unit in SERVER_SERVICES["python"]:
        script.file(f"/etc/systemd/system/{unit}.d/anycast-network.conf", AFTER_NETWORK)
    zone_path = f"{ZONE_DIR}/{zone}.zone"
    script.file(zone_path, zone_file(topology))
    options = " ".join(minidns_args(topology, node, zone_path))
    script.file(MINIDNS_OPTIONS, f'MINIDNS_OPTIONS="{options}"\n')
    script.file(MINIBGP_CONFIG, minibgp_config(topology, node), "0640", group="minibgp")
    script.run(f"start_services {' '.join(SERVER_SERVICES['python'])}")


_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

AFTER_NETWORK = f"""[Unit]
# The anycast address must be on the loopback first: the DNS server listens on it.
Wants={NETWORK_UNIT}
After={NETWORK_UNIT}
"""


def _reference_server(script: Script, topology: Topology, node: Node) -> None:
    script.step("FRR")
    _frr(script, topology, node, "reference")
    script.step("PowerDNS, its database filled by the original lab's pdnsutil commands")
    script.file("/etc/powerdns/pdns.conf", pdns_config(topology, node, PDNS_DATABASE))
    script.run(
        "rm -f /etc/powerdns/pdns.d/*.conf",
        f"rm -f {PDNS_DATABASE}",
        f"sqlite3 {PDNS_DATABASE} < {PDNS_SCHEMA}",
        *(
            "pdnsutil --config-dir=/etc/powerdns " + " ".join(_quote(a) for a in command)
            for command in pdnsutil_commands(topology)
        ),
        f"chown pdns:pdns {PDNS_DATABASE}",
    )
    script.file("/etc/systemd/system/pdns.service.d/anycast-network.conf", AFTER_NETWORK)
    script.run(f"start_services {' '.join(SERVER_SERVICES['reference'])}")


def _quote(arg: str) -> str:
    """`arg` as one shell word."""
    safe = arg and all(c.isalnum() or c in "@%+=:,./_-" for c in arg)
    return arg if safe else "'" + arg.replace("'", "'\\''") + "'"
