"""Shared test policy.

Interop and lab tests need root, network namespaces and the Debian packages that `make test`
installs. Outside CI a missing prerequisite skips them; in CI (CI=true) it fails them, so a green
CI run always means they ran.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.wheel import Installed, build_and_install

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Prepended to every lab name and namespace prefix the tests make, so that two checkouts can run
# their lab and interop tests on one machine at the same time without tearing down each other's.
TEST_TAG = os.environ.get("ABDT_TEST_TAG", "")


def tagged(name: str) -> str:
    """`name` for a lab or namespace prefix of the tests, with this run's tag."""
    return TEST_TAG + name


def require(condition: bool, reason: str) -> None:
    """Skip the test when `condition` is false; in CI, fail it instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"prerequisite missing in CI: {reason}")
    pytest.skip(reason)


def require_programs(*names: str) -> None:
    missing = [name for name in names if shutil.which(name) is None and not os.path.exists(name)]
    require(not missing, f"programs not installed: {', '.join(missing)}")


def require_root() -> None:
    require(os.geteuid() == 0, "needs root (network namespaces)")


@pytest.fixture(scope="session")
def installed_wheel() -> Iterator[Installed]:
    """The project's wheel installed into a fresh virtualenv (tests/wheel.py), built once."""
    installed = build_and_install()
    yield installed
    shutil.rmtree(installed.venv.parent, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """In CI, say loudly if anything was skipped after all."""
    if IN_CI and terminalreporter.stats.get("skipped"):
        terminalreporter.write_line(
            "CI: some tests were skipped; interop/lab skips are failures", red=True
        )


def _is_interop_or_lab(item: pytest.Item) -> bool:
    return any(item.iter_markers("interop")) or any(item.iter_markers("lab"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """In CI an interop or lab test that skipped (for any reason) is reported as failed."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and _is_interop_or_lab(item):
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid}: interop/lab tests must not be skipped in CI"
