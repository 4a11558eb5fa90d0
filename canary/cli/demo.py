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
    """Run a demo deployment: sample lab and canaries, listeners, alerts to alerts.jsonl, the dashboard.

    Example: canary demo --home demo
    """
    from werkzeug.serving import run_simple

    from listeners.runner import Listeners

    from ..alerts import worker_for
    from ..demo import open_demo
    from ..web import create_app
    host, port = parse_listen(listen)
    deployment, password = open_demo(home, {"dashboard": {"public_url": f"http://{host}:{port}"}})
    settings = deployment.settings
    # The listeners on their development addresses, the alert worker beside them.
    listeners = Listeners(settings, deployment.store, workers=[worker_for(deployment)]).start()
    click.echo(f"Demo deployment in {settings.home}")
    click.echo(f"Dashboard: http://{host}:{port}/   login: admin / {password}")
    click.echo(f"Alerts: {os.path.join(settings.home, 'alerts.jsonl')}   Stop with Ctrl-C.")
    hostnames = [i["value"] for i in deployment.store.all_identifiers() if i["kind"] == "hostname"]
    if hostnames and "dns" in listeners.servers:
        dns_host, dns_port = parse_listen(listeners.addresses["dns"])
        click.echo(f"Make a contact: dig @{dns_host} -p {listeners.servers['dns'].port} {hostnames[0]}")
    try:
        run_simple(host, port, create_app(settings), threaded=True)
    finally:
        listeners.stop()
        deployment.close()
