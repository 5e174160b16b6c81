"""Every command line entry point and subcommand, and its `--help` as a user sees it (100
columns). docs/commands.md is made from these:

    python -m tests.help_texts > docs/commands.md
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from unittest import mock

COLUMNS = "100"


@dataclass(frozen=True)
class Command:
    """One `--help` page: `argv0` is how the user runs the program (it names it in usage)."""

    argv0: str
    module: str  # whose `main(argv)` parses the command line
    argv: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return " ".join((self.argv0, *self.argv))

    def main(self) -> Callable[[list[str]], int]:
        return importlib.import_module(self.module).main  # type: ignore[no-any-return]

    @contextlib.contextmanager
    def _invoked(self) -> Iterator[None]:
        argv0 = self.argv0.rsplit(" ", 1)[-1]
        script = f"/{argv0.replace('.', '/')}/__main__.py" if " -m " in self.argv0 else argv0
        with (
            mock.patch.object(sys, "argv", [script, *self.argv]),
            mock.patch.dict(os.environ, {"COLUMNS": COLUMNS}),
        ):
            yield

    def help_text(self) -> str:
        out = io.StringIO()
        with self._invoked(), contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            self.main()([*self.argv, "--help"])
        return out.getvalue()

    def parser(self) -> argparse.ArgumentParser:
        """The parser `main` builds for this command (caught as it starts parsing)."""
        caught: list[argparse.ArgumentParser] = []

        class Caught(Exception):
            pass

        def catch(parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
            caught.append(parser)
            raise Caught

        with (
            self._invoked(),
            mock.patch.object(argparse.ArgumentParser, "parse_args", catch),
            contextlib.suppress(Caught),
        ):
            self.main()([*self.argv, "--help"])
        (parser,) = caught
        return parser


# The parsers the entry points build: minibgp has one to run the speaker and one for its
# commands (caught through `minibgp check`).
ENTRY_POINTS = (
    Command("minibgp", "minibgp.cli"),
    Command("minibgp", "minibgp.cli", ("check",)),
    Command("minidns", "minidns.cli"),
    Command("python -m minibgp.bfd", "minibgp.bfd.__main__"),
    Command("python -m minibgp.health", "minibgp.health.__main__"),
    Command("python -m lab", "lab.cli"),
    Command("python -m lab.probe", "lab.probe"),
    Command("python -m lab.vagrant", "lab.vagrant.__main__"),
)


def subcommands(parser: argparse.ArgumentParser) -> list[str]:
    return [
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    ]


def pages() -> list[Command]:
    """Every `--help` page: each entry point's, then each of its subcommands'."""
    found = []
    for entry in ENTRY_POINTS:
        if not entry.argv:
            found.append(entry)
        found += [
            Command(entry.argv0, entry.module, (name,)) for name in subcommands(entry.parser())
        ]
    return found


def markdown() -> str:
    """docs/commands.md."""
    parts = [
        "# Commands\n",
        "Every command and its `--help`, as printed (100 columns). `minibgp` and `minidns` are the",
        "installed commands; `python -m minibgp` and `python -m minidns` take the same arguments.",
        "Made by `python -m tests.help_texts > docs/commands.md`; a test checks it is current.",
        "",
    ]
    for command in pages():
        parts += [f"## {command.title}", "", "```", command.help_text().rstrip("\n"), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(markdown())
