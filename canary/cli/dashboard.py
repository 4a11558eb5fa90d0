"""Commands for the dashboard: serve it, manage its users and the API's tokens."""
from __future__ import annotations

import click

from .. import accounts
from ..settings import parse_listen
from .common import echo_json, echo_rows, json_option, with_deployment


@click.command()
@click.option("--listen", help="HOST:PORT to serve on (default: dashboard.listen, 127.0.0.1:8000).")
@with_deployment
def dashboard(deployment, listen):
    """Serve the dashboard and JSON API until interrupted.

    Example: canary dashboard --listen 127.0.0.1:8000
    """
    from werkzeug.serving import run_simple

    from ..web import create_app
    host, port = parse_listen(listen or deployment.settings["dashboard"]["listen"])
    app = create_app(deployment.settings)
    if not deployment.store.users():
        click.echo("No dashboard user yet: add one with `canary user add admin`.", err=True)
    click.echo(f"Dashboard on http://{host}:{port}/ (public URL {deployment.settings['dashboard']['public_url']})")
    run_simple(host, port, app, threaded=True)


@click.group()
def user():
    """Dashboard users."""


@user.command("add")
@click.argument("name")
@click.option("--password", help="The new password (default: asked twice, hidden).")
@click.option("--generate", is_flag=True, help="Generate a password and print it once.")
@with_deployment
def user_add(deployment, name, password, generate):
    """Add a dashboard user, or change the password of an existing one.

    Example: canary user add alice
    """
    if generate:
        password = accounts.new_password()
    elif password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    row = accounts.set_password(deployment.store, name, password)
    click.echo(f"Password set for user {row['name']}")
    if generate:
        click.echo(f"  password: {password}  (shown once)")


@user.command("list")
@json_option
@with_deployment
def user_list(deployment, as_json):
    """List dashboard users.

    Example: canary user list
    """
    rows = deployment.store.users()
    echo_rows(rows, as_json, ["id", "name", "created_at"], empty="(no users)")


@click.group("api-token")
def api_token():
    """Tokens for the JSON API (Authorization: Bearer ...)."""


@api_token.command("create")
@click.argument("name")
@json_option
@with_deployment
def api_token_create(deployment, name, as_json):
    """Create an API token; it is printed once and only its hash is kept.

    Example: canary api-token create siem-export
    """
    token, row = accounts.create_api_token(deployment.store, name)
    if as_json:
        echo_json({**row, "token": token})
    else:
        click.echo(f"API token {row['id']} ({row['name']}), shown once, keep it now:")
        click.echo(token)


@api_token.command("list")
@json_option
@with_deployment
def api_token_list(deployment, as_json):
    """List API tokens (names and dates; the tokens themselves are not kept).

    Example: canary api-token list
    """
    rows = deployment.store.api_tokens()
    echo_rows(rows, as_json, ["id", "name", "created_at", "revoked_at"], empty="(no API tokens)")


@api_token.command("revoke")
@click.argument("token_id", type=int)
@with_deployment
def api_token_revoke(deployment, token_id):
    """Revoke an API token by its id.

    Example: canary api-token revoke 3
    """
    deployment.store.revoke_api_token(token_id)
    click.echo(f"Revoked API token {token_id}")
