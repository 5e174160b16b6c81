"""The Vagrant machines' provisioning scripts, as rendered: what they install, run and persist.

Every program a script runs (and every program of its systemd units, its ifupdown hook, and the
seed's checks on that role) comes from a Debian package the script installs, unless Debian has
that package on every system (Essential, or priority required). Which package gives a program
is asked of dpkg on this machine (Debian 12, as in the machines).
"""

from __future__ import annotations

import functools
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from lab.render import MODES, Mode
from lab.topology import ROLES, Role, load
from lab.vagrant.provision import (
    IFUP_HOOK_PATH,
    MINIBGP_UNIT,
    MINIDNS_UNIT,
    NETWORK_UNIT,
    VENV,
    Script,
    lab_supernet,
    packages,
    provision_script,
)
from tests.conftest import require_programs

TOPOLOGY = load()
REPO = Path(__file__).resolve().parents[2]
ONE_OF_EACH_ROLE = {role: TOPOLOGY.of_role(role)[0] for role in ROLES}
# What the seed's checks (make vagrant-check, docs/vagrant.md) run on each role.
CHECKED_WITH: dict[Role, tuple[str, ...]] = {
    "client": ("dig", "ping"),
    "router": ("vtysh",),
    "server": ("tcpdump", "ip"),
}
# Shell keywords after which a command follows, and builtins (which are no program).
KEYWORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "{"}
BUILTINS = {"fi", "for", "done", "case", "esac", "}", "[", "test", "echo", "printf", "export",
            "set", "return", "exit", "local", "cd", "true", "false", ":", ".", "continue",
            "break"}  # fmt: skip
COMMAND_STARTS = {";", "&&", "||", "|", "("}
DEBIAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"  # as in the machines
REDIRECTIONS = {">", ">>", "<", "<<", "2>", "&>", ">&"}


def script(name: str, mode: Mode) -> str:
    return provision_script(TOPOLOGY, TOPOLOGY.node(name), mode)


def heredocs(text: str) -> tuple[str, list[str]]:
    """The script without its here-documents, and the here-documents' bodies."""
    outside, bodies, body = [], [], None
    for line in text.splitlines():
        if body is not None:
            if line == Script.END:
                bodies.append("\n".join(body))
                body = None
            else:
                body.append(line)
        else:
            outside.append(line)
            if f"<<'{Script.END}'" in line:
                body = []
    assert body is None, "an unterminated here-document"
    return "\n".join(outside), bodies


def shell_commands(text: str) -> set[str]:
    """The programs a shell script runs (the first word of each simple command)."""
    functions = set(re.findall(r"(\w+)\(\) \{", text))
    found = set()
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        lexer = shlex.shlex(line.replace("$(", " ( "), posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        at_start, skip_next = True, False
        for token in lexer:
            if skip_next:
                skip_next = False
            elif token in REDIRECTIONS:
                skip_next = True
            elif token in COMMAND_STARTS:
                at_start = True
            elif not at_start or token in KEYWORDS or re.match(r"^\w+=", token):
                continue
            else:
                if token not in BUILTINS and token not in functions:
                    found.add(token)
                at_start = False
    return found


def unit_commands(body: str) -> set[str]:
    """The programs a systemd unit starts (ExecStart=, ExecStartPre=, ExecStartPost=)."""
    found = set()
    for match in re.finditer(r"^Exec\w+=[-+@!:]*(\S+)", body, re.M):
        found.add(match.group(1))
    return found


def programs(text: str) -> set[str]:
    """Every program the script, its units and its embedded scripts run."""
    outside, bodies = heredocs(text)
    found = shell_commands(outside)
    for body in bodies:
        if body.startswith("#!/bin/sh"):
            found |= shell_commands(body)
        elif "[Service]" in body:
            found |= unit_commands(body)
    return found


# Packages that give a program as part of the package one installs for it.
INSTALLED_AS = {"python3-minimal": "python3"}


@functools.cache
def package_of(program: str) -> str:
    """The Debian package one installs for `program` (dpkg -S on this machine)."""
    if program.startswith(f"{VENV}/"):
        return "python3-venv"  # the servers' virtualenv
    path = program if program.startswith("/") else shutil.which(program, path=DEBIAN_PATH)
    assert path is not None, f"{program} is not installed here"
    resolved = Path(path).resolve()
    for candidate in (path, re.sub(r"^/usr/", "/", path), str(resolved)):  # the name, then its file
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        owners = [line for line in result.stdout.splitlines() if not line.startswith("diversion")]
        if result.returncode == 0 and owners:
            package = owners[0].split(":")[0].split(",")[0].strip()
            return INSTALLED_AS.get(package, package)
    raise AssertionError(f"no Debian package has {program} ({resolved})")


@functools.cache
def on_every_debian(package: str) -> bool:
    fields = subprocess.run(
        ["dpkg-query", "-W", "-f=${Essential} ${Priority}", package],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return fields[0] == "yes" or fields[-1] == "required"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("role", ROLES)
def test_every_program_a_machine_runs_comes_from_a_package_it_installs(
    role: Role, mode: Mode
) -> None:
    require_programs("dpkg", "vtysh", "pdnsutil", "sqlite3", "dig", "tcpdump", "ping")
    text = script(ONE_OF_EACH_ROLE[role].name, mode)
    used = programs(text) | set(CHECKED_WITH[role])
    installed = set(packages(role, mode))
    assert re.search(rf"^install_packages {' '.join(packages(role, mode))}$", text, re.M)
    missing = {
        program: package_of(program)
        for program in sorted(used)
        if package_of(program) not in installed and not on_every_debian(package_of(program))
    }
    assert missing == {}, f"{role} in {mode} mode runs programs of packages it does not install"


def test_the_command_finder_sees_commands_in_pipelines_substitutions_and_units() -> None:
    text = "a=$(dig +short x | grep -q y) && sqlite3 db < f\nif ! ss -l; then foo() { :; }; fi"
    assert shell_commands(text) == {"dig", "grep", "sqlite3", "ss"}
    assert unit_commands("[Service]\nExecStartPre=+/sbin/ip a\nExecStart=-pdns_server") == {
        "/sbin/ip",
        "pdns_server",
    }


def test_servers_install_only_what_their_mode_runs() -> None:
    assert {"frr", "pdns-server"}.isdisjoint(packages("server", "python"))
    assert "python3-venv" not in packages("server", "reference")
    text = script("server1", "python")
    pip_lines = [line for line in text.splitlines() if "/bin/pip install" in line]
    assert len(pip_lines) == 2
    assert pip_lines[1].endswith(" /vagrant")  # the project with no extra: no plotting


@pytest.mark.parametrize("name", ["server1", "client2"])
def test_the_anycast_address_and_routes_are_set_at_every_boot_by_an_enabled_unit(
    name: str,
) -> None:
    node = TOPOLOGY.node(name)
    outside, bodies = heredocs(script(name, "python"))
    unit = next(body for body in bodies if "Description=The anycast lab's" in body)
    expected = [f"ExecStart=ip route replace {r.to} via {r.via}" for r in node.routes]
    if node.role == "server":
        expected = [
            f"ExecStart=ip address replace {TOPOLOGY.service.anycast} dev lo",
            f"ExecStart=ip route replace {lab_supernet(TOPOLOGY)} via {node.routes[0].via}",
        ]
    assert [line for line in unit.splitlines() if line.startswith("ExecStart=")] == expected
    assert "WantedBy=multi-user.target" in unit and "After=network-online.target" in unit
    assert f"start_services {NETWORK_UNIT}" in outside
    assert IFUP_HOOK_PATH in outside  # re-applied when Vagrant re-configures an interface


def test_a_router_forwards_at_every_boot_and_hosts_never_do() -> None:
    for name, forwarding in (("router1", "1"), ("server1", "0"), ("client1", "0")):
        text = script(name, "python")
        assert "install -m 0644 /dev/stdin /etc/sysctl.d/90-anycast-forwarding.conf" in text
        assert f"net.ipv4.ip_forward = {forwarding}\n" in text
        assert f"net.ipv6.conf.all.forwarding = {forwarding}\n" in text


def test_the_vagrantfile_sets_no_route_by_a_provisioner_that_runs_at_every_up() -> None:
    assert 'run: "always"' not in (REPO / "Vagrantfile").read_text()


@pytest.mark.parametrize(
    ("mode", "stopped", "started"),
    [
        ("python", "pdns.service frr.service", f"{MINIDNS_UNIT} {MINIBGP_UNIT}"),
        ("reference", f"{MINIBGP_UNIT} {MINIDNS_UNIT}", "frr.service pdns.service"),
    ],
)
def test_a_server_stops_the_other_modes_services_before_it_installs_and_starts_its_own(
    mode: Mode, stopped: str, started: str
) -> None:
    lines = script("server1", mode).splitlines()
    stop = lines.index(f"stop_services {stopped}")
    install = next(i for i, line in enumerate(lines) if line.startswith("install_packages "))
    start = lines.index(f"start_services {started}")
    assert stop < install < start


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(TOPOLOGY.nodes))
def test_every_script_is_valid_posix_shell(name: str, mode: Mode) -> None:
    require_programs("dash")
    result = subprocess.run(
        ["dash", "-n"], input=script(name, mode), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_a_file_whose_text_holds_the_end_marker_is_refused() -> None:
    with pytest.raises(ValueError, match="end marker"):
        Script([]).file("/etc/x", f"a\n{Script.END}\nb\n")


def test_the_command_line_prints_the_script_a_machine_runs() -> None:
    result = subprocess.run(
        ["python3", "-m", "lab.vagrant", "provision", "router2", "--mode", "reference"],
        cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout == script("router2", "reference")


@pytest.mark.parametrize(("mode", "bfdd"), [("python", "yes"), ("reference", "no")])
def test_frr_daemons_file_is_edited_as_meant(mode: Mode, bfdd: str, tmp_path: Path) -> None:
    """The script's edit of Debian's /etc/frr/daemons, applied to a copy of it."""
    require_programs("/usr/lib/frr/bgpd")
    daemons = tmp_path / "daemons"
    shutil.copy("/etc/frr/daemons", daemons)
    (edit,) = [line for line in script("router1", mode).splitlines() if "/etc/frr/daemons" in line]
    subprocess.run(["sh", "-c", edit.replace("/etc/frr/daemons", str(daemons))], check=True)
    settings = dict(
        line.split("=", 1) for line in daemons.read_text().splitlines() if re.match(r"^\w+=", line)
    )
    assert settings["bgpd"] == "yes" and settings["bfdd"] == bfdd
    # watchfrr kills its start-up command after 20 s by default: too short when emulated
    assert settings["watchfrr_options"] == '"--restart-timeout 180"'
