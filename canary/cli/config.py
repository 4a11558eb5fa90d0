"""`canary config check`: the deployment's settings, checked before anything runs on them."""
from __future__ import annotations

import click

from ..configcheck import check_settings
from ..settings import Settings
from .common import UserError, echo_json, home_option, json_option


@click.group()
def config():
    """Settings of a deployment: canary.toml and CANARY_* variables."""


@config.command("check")
@home_option
@json_option
def config_check(home, as_json):
    """Check canary.toml and CANARY_* variables: unknown sections, keys and variables (naming the
    closest valid one), value types, listen addresses, files and alert channels. Exit status 1
    when anything is wrong.

    Example: canary config check --home /srv/canary
    """
    settings = Settings.load(home)
    problems, notes = check_settings(settings)
    if as_json:
        echo_json({"home": str(settings.home), "ok": not problems, "problems": problems, "notes": notes})
    else:
        for note in notes:
            click.echo(note)
        for problem in problems:
            click.echo(f"problem: {problem}", err=True)
    if problems:
        raise UserError(f"{len(problems)} problem(s) in the settings of {settings.home}")
    if not as_json:
        click.echo(f"{settings.home / 'canary.toml'}: OK")


@config.command("sample")
def config_sample():
    """Print a canary.toml with every setting at its default, commented out, each with its help.

    Example: canary config sample > canary.toml.sample
    """
    from ..settings_reference import sample_settings_toml
    click.echo(sample_settings_toml(), nl=False)
