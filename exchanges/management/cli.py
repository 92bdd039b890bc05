"""What the exchanges' management commands share: one-line flag errors and flag types."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser

from exchanges.models import SUPPORTED_EXCHANGES


class _OneLineErrorParser(CommandParser):
    """Bad flags print one line (not the whole usage) and exit 2."""

    def error(self, message: str) -> NoReturn:
        if self.called_from_command_line:
            self.exit(2, f"{self.prog}: error: {message} (see --help)\n")
        raise CommandError(f"Error: {message}")


class OneLineErrorCommand(BaseCommand):
    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = _OneLineErrorParser  # same parser, only error() differs
        return parser


def csv_list(text: str) -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list, got nothing")
    return items


def known_exchanges(given: list[str] | None) -> list[str] | None:
    """The --exchanges of a command, lower-cased, without repeats, each one we support."""
    if given is None:
        return None
    exchanges = list(dict.fromkeys(e.lower() for e in given))
    unknown = [e for e in exchanges if e not in SUPPORTED_EXCHANGES]
    if unknown:
        raise CommandError(
            f"--exchanges: unknown exchange(s) {', '.join(unknown)}; choose from {', '.join(SUPPORTED_EXCHANGES)}"
        )
    return exchanges
