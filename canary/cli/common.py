"""What every command shares: the root group, --home, error reporting, output helpers."""
from __future__ import annotations

import functools
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

