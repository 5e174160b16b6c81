"""The distribution as a user gets it: an sdist and a wheel built from the checkout, the wheel
installed (its dependencies from PyPI) into a fresh virtualenv of Debian's own Python, in a
directory every user can read, away from the checkout."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = "/usr/bin/python3"  # what a Debian 12 server has (python3-venv)


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, cwd=self.venv.parent
        )


def build_and_install() -> Installed:
    """Build the sdist and the wheel, and install the wheel into a new virtualenv under /tmp
    (removal is the caller's: the directory is `Installed.venv.parent`)."""
    directory = Path(tempfile.mkdtemp(prefix="abdt-wheel-"))
    directory.chmod(0o755)  # the without-root tests run it as nobody
    dist = directory / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = dist.glob("*.whl")
    venv = directory / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return Installed(wheel, venv)
