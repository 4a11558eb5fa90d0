"""Commands for the listeners: serve, hits."""
from __future__ import annotations

import click

from ..summaries import contacts as hits_module
from .common import echo_json, echo_table, json_option, with_deployment


def _background_workers(deployment) -> list:
    """Workers that run beside the listeners: the alerts worker, when this canary has one."""
    try:
        from .. import alerts
    except ImportError:
        return []
    make = getattr(alerts, "worker_for", None)
    return [make(deployment)] if make else []


@click.command()
@click.option("--dns", "dns_listen", metavar="HOST:PORT", help="DNS address (default: dns.listen; 'off': none).")
@click.option("--smtp", "smtp_listen", metavar="HOST:PORT", help="SMTP address (default: smtp.listen; 'off': none).")
@click.option("--http", "http_listen", metavar="HOST:PORT", help="HTTP address (default: http.listen; 'off': none).")
@with_deployment
def serve(deployment, dns_listen, smtp_listen, http_listen):
    """Run the DNS, SMTP and HTTP listeners; one line per contact; stop with Ctrl-C or SIGTERM.

    Example: canary serve --dns 127.0.0.1:5353 --smtp 127.0.0.1:2525 --http 127.0.0.1:8080
    """
    import logging
    from listeners.runner import EscapingFormatter, Listeners, serve as run
    # Contacts are printed one per line; logging carries refusals and errors.
    handler = logging.StreamHandler()
    handler.setFormatter(EscapingFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    listeners = Listeners(deployment.settings, deployment.store,
                          listen={"dns": dns_listen, "smtp": smtp_listen, "http": http_listen},
                          workers=_background_workers(deployment))
    run(listeners)


@click.command()
@json_option
@click.option("--since", metavar="TIME", help="Only contacts at or after TIME (ISO 8601, UTC unless stated).")
@with_deployment
def hits(deployment, as_json, since):
    """List contacts with canaries and tokens (DNS, SMTP, HTTP, SMS, calls), oldest first.

    Example: canary hits --since 2026-11-28T00:00Z --json
    """
    rows = hits_module.hits(deployment.store, since)
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        row["owner"] = f"canary {row['canary_id']}" if row["canary_id"] else f"token {row['token']}"
        row["note"] = hits_module.one_line(row["note"]) if row["note"] else None
        row["source"] = hits_module.one_line(row["source"]) if row["source"] is not None else None
    echo_table(rows, ["time", "channel", "identifier", "owner", "note", "site", "target", "source"],
               empty="(no contacts)")


@click.command()
@json_option
@with_deployment
def hosts(deployment, as_json):
    """List the listener hosts recording into this store: alive, stopped or silent, and when each last wrote.

    Example: canary hosts --json
    """
    from ..hosts import listener_hosts
    rows = listener_hosts(deployment.store, float(deployment.settings["store"]["heartbeat_seconds"]))
    if as_json:
        echo_json(rows)
        return
    echo_table(rows, ["name", "state", "last_seen", "last_write", "started_at", "pid", "listeners"],
               empty="(no listener host has run yet)")
