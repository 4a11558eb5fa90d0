"""`canary demo`: the whole thing on 127.0.0.1 with a sample lab (what `make run` starts)."""
from __future__ import annotations

import os

import click

from ..settings import parse_listen
from .common import main


@main.command()
@click.option("--home", type=click.Path(file_okay=False), default="demo", show_default=True,
              help="Directory of the demo deployment (created on first run).")
@click.option("--listen", default="127.0.0.1:8000", show_default=True, help="HOST:PORT of the dashboard.")
def demo(home, listen):
    """Run a demo deployment: sample lab and canaries, alerts to alerts.jsonl, the dashboard.

    Example: canary demo --home demo
    """
    from werkzeug.serving import run_simple

    from ..alerts import worker_for
    from ..demo import open_demo
    from ..web import create_app
    host, port = parse_listen(listen)
    deployment, password = open_demo(home, {"dashboard": {"public_url": f"http://{host}:{port}"}})
    settings = deployment.settings
    # TODO(listeners): start listeners.runner.Listeners here with the alert worker among its
    # workers once the listeners are on main, so that `dig @127.0.0.1 -p 5353` makes a contact.
    worker = worker_for(deployment)
    worker.start()
    click.echo(f"Demo deployment in {settings.home}")
    click.echo(f"Dashboard: http://{host}:{port}/   login: admin / {password}")
    click.echo(f"Alerts: {os.path.join(settings.home, 'alerts.jsonl')}   Stop with Ctrl-C.")
    try:
        run_simple(host, port, create_app(settings), threaded=True)
    finally:
        worker.stop()
        deployment.close()
