"""What every command shares: the root group, --home, error reporting, output helpers."""
from __future__ import annotations

import functools
import importlib
import json
import os
import sqlite3
import sys

import click

from ..deployment import Deployment
from ..generation.identifiers import IdentifierError
from ..settings import SettingsError
from ..store import StoreError


class UserError(Exception):
    """A mistake the user can fix; printed as one line, exit status 1."""


# Errors a user can act on: one line on stderr, no traceback, exit 1.
EXPECTED_ERRORS = (UserError, SettingsError, StoreError, IdentifierError, ValueError, OSError,
                   sqlite3.DatabaseError)


class CanaryGroup(click.Group):
    """The root group. Its commands are named with where they live ("module.function" under
    canary.cli) and imported when run: `canary scan` does not import the dashboard, the alert
    channels or the report renderer (start-up is part of every scan's time)."""

    def __init__(self, *args, **kwargs):
        self.lazy_commands: dict[str, str] = {}
        super().__init__(*args, **kwargs)

    @property
    def commands(self) -> dict[str, click.Command]:
        """Every command, imported (help, documentation and tests walk them all)."""
        for name in self.lazy_commands:
            self._load(name)
        return self._commands

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._commands = value

    def list_commands(self, ctx) -> list[str]:
        return sorted({*self._commands, *self.lazy_commands})

    def get_command(self, ctx, cmd_name: str):
        return self._load(cmd_name) if cmd_name in self.lazy_commands else self._commands.get(cmd_name)

    def _load(self, name: str) -> click.Command:
        if name not in self._commands:
            module, _, attribute = self.lazy_commands[name].rpartition(".")
            self._commands[name] = getattr(importlib.import_module(f"canary.cli.{module}"), attribute)
        return self._commands[name]

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # `canary plant ... | head`: the reader stopped listening after the work was done (a plant
            # prints only once committed). Say nothing more, and keep Python's exit-time flush quiet too.
            _silence_stdout()
            ctx.exit(0)
        except EXPECTED_ERRORS as error:
            if os.environ.get("CANARY_DEBUG"):
                raise
            raise click.ClickException(_one_line(error)) from None


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no file (a test runner's buffer)
        pass


def _one_line(error: BaseException) -> str:
    text = str(error) or error.__class__.__name__
    return " ".join(text.split())


@click.group(cls=CanaryGroup)
@click.version_option(package_name="canary")
def main():
    """Canary records for medical laboratory databases: issue, plant, listen, scan, attribute."""


def home_option(function):
    """--home DIR: the deployment (default: $CANARY_HOME, then the current directory)."""
    return click.option("--home", type=click.Path(file_okay=False), default=None,
                        help="Deployment directory (default: $CANARY_HOME, then the current directory).")(function)


def with_deployment(function):
    """Open the deployment named by --home and pass it as the first argument."""
    @home_option
    @functools.wraps(function)
    def wrapper(home, **kwargs):
        deployment = Deployment.open(home)
        try:
            return function(deployment, **kwargs)
        finally:
            deployment.close()
    return wrapper


def json_option(function):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(function)


def echo_json(value) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def echo_rows(rows: list[dict], as_json: bool, columns: list[str], empty: str = "(none)") -> None:
    """What every list command prints: JSON with --json, aligned columns otherwise."""
    echo_json(rows) if as_json else echo_table(rows, columns, empty)


def echo_table(rows: list[dict], columns: list[str], empty: str = "(none)") -> None:
    """Rows as aligned plain-text columns."""
    if not rows:
        click.echo(empty)
        return
    cells = [[("" if row.get(c) is None else str(row.get(c))) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())

