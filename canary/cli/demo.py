"""`canary demo`: the whole thing on 127.0.0.1 with example labs planted for real (what `make run` starts)."""
from __future__ import annotations

import click

from ..settings import parse_listen


@click.command()
@click.option("--home", type=click.Path(file_okay=False), default="demo", show_default=True,
              help="Directory of the demo deployment (created on first run).")
@click.option("--listen", default="127.0.0.1:8000", show_default=True, help="HOST:PORT of the dashboard.")
def demo(home, listen):
    """Run a demo: example labs with real canaries, the DNS/SMTP/HTTP listeners, alerts to alerts.jsonl, the dashboard.

    The first run builds the example lab databases in HOME/lab and plants, checks, retires and
    records eight weeks of history through the real pipeline; later runs reuse it all.

    Example: canary demo --home demo
    """
    from ..demo.home import run_demo
    host, port = parse_listen(listen)
    run_demo(home, host, port, echo=lambda line: click.echo(line))
