"""`python -m lab.vagrant COMMAND`: the lab's Vagrant machines (docs/vagrant.md).

provision NODE [--mode python|reference]   print NODE's provisioning script (run in the VM)
machines                                   print the Vagrantfile's machines.json
box [--out DIR]                            build the Debian 12 box for libvirt (root)
check [--mode python|reference|both]       six VMs up, the seed's checks, all destroyed (root)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from ..render import MODES

DEFAULT_BUILD_DIR = Path("build/vagrant")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    code: int = args.handler(args)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lab.vagrant",
        description="The lab's machines under Vagrant: provisioning, the libvirt box, the check.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=text, description=text)

    topology_help = "a topology file (default: lab/topologies/seed.toml)"
    provision = command("provision", "print a machine's provisioning script (run inside it)")
    provision.add_argument("node", help="the machine: a node of the topology")
    provision.add_argument(
        "--mode",
        choices=MODES,
        default="python",
        help="python: minibgp + minidns on the servers; reference: FRR + PowerDNS, as the "
        "original lab (default: python)",
    )
    provision.add_argument("--topology", type=Path, metavar="FILE", help=topology_help)
    provision.add_argument(
        "--timers",
        choices=("auto", "lab", "emulation"),
        default="auto",
        help="the lab's timers, or slower ones for a machine under software emulation "
        "(default: auto, emulation when systemd-detect-virt says qemu)",
    )
    provision.set_defaults(handler=_provision)

    machines = command("machines", "print the machines.json the Vagrantfile reads")
    machines.add_argument("--topology", type=Path, metavar="FILE", help=topology_help)
    machines.set_defaults(handler=_machines)

    box = command("box", "build the Debian 12 box for libvirt, offline from the Debian mirror")
    box.add_argument(
        "--out", type=Path, default=DEFAULT_BUILD_DIR, metavar="DIR",
        help="where the box goes (default: %(default)s)",
    )  # fmt: skip
    box.set_defaults(handler=_box)

    check = command("check", "the seed's checks on six libvirt machines, then all destroyed")
    check.add_argument(
        "--mode", choices=(*MODES, "both"), default="both",
        help="the servers' mode, or python then reference (default: both)",
    )  # fmt: skip
    check.add_argument(
        "--box", type=Path, metavar="FILE",
        help="the box (default: DIR/anycast-bookworm64.box, built when missing)",
    )  # fmt: skip
    check.add_argument(
        "--work", type=Path, default=DEFAULT_BUILD_DIR, metavar="DIR",
        help="the build directory: the box, and the check's logs in DIR/check "
        "(default: %(default)s)",
    )  # fmt: skip
    check.set_defaults(handler=_check)
    return parser


def _topology(path: Path | None):  # type: ignore[no-untyped-def]
    from ..topology import load

    return load(path) if path else load()


def _provision(args: argparse.Namespace) -> int:
    from .provision import provision_script

    topology = _topology(args.topology)
    emulated = args.timers == "emulation" or (args.timers == "auto" and _emulated())
    sys.stdout.write(provision_script(topology, topology.node(args.node), args.mode, emulated))
    return 0


def _emulated() -> bool:
    """Whether this machine runs under QEMU's software emulation (not KVM, not VirtualBox)."""
    try:
        result = subprocess.run(["systemd-detect-virt", "--vm"], capture_output=True, text=True)
    except OSError:
        return False
    return result.stdout.strip() == "qemu"


def _machines(args: argparse.Namespace) -> int:
    from .machines import machines_json

    sys.stdout.write(machines_json(_topology(args.topology)))
    return 0


def _box(args: argparse.Namespace) -> int:
    from .box import build_box

    build_box(args.out)
    return 0


def _check(args: argparse.Namespace) -> int:
    from .check import run_check

    modes = MODES if args.mode == "both" else (args.mode,)
    return 0 if run_check(modes, args.work, args.box) else 1


if __name__ == "__main__":
    sys.exit(main())
