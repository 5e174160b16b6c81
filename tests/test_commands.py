"""Every option, argument and subcommand of every entry point says what it is in `--help`, and
docs/commands.md shows the `--help` of each as it is now."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tests.help_texts import ENTRY_POINTS, Command, markdown, pages

REPO = Path(__file__).resolve().parents[1]


def undocumented(parser: argparse.ArgumentParser, where: str) -> list[str]:
    """Options and arguments with no help line, subcommands with no help or description."""
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            helped = {choice.dest for choice in action._choices_actions if choice.help}
            for name, sub in action.choices.items():
                if name not in helped or not sub.description:
                    missing.append(f"{where} {name}: no help or description")
                missing += undocumented(sub, f"{where} {name}")
            continue
        if not action.help or action.help == argparse.SUPPRESS:
            missing.append(f"{where} {'/'.join(action.option_strings) or action.dest}: no help")
    return missing


@pytest.mark.parametrize("command", ENTRY_POINTS, ids=lambda c: c.title)
def test_every_option_and_subcommand_has_a_help_line(command: Command) -> None:
    parser = command.parser()
    has_commands = any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
    assert parser.description or has_commands, f"{command.title}: no description"
    where = command.argv0  # the parser of `minibgp check` is that of every minibgp command
    assert undocumented(parser, where) == []


@pytest.mark.parametrize("command", pages(), ids=lambda c: c.title)
def test_help_starts_with_the_usage_of_the_command_as_run(command: Command) -> None:
    assert command.help_text().startswith(f"usage: {command.title} ")


def test_docs_commands_md_is_current() -> None:
    current = (REPO / "docs" / "commands.md").read_text()
    assert current == markdown(), "run: python -m tests.help_texts > docs/commands.md"
