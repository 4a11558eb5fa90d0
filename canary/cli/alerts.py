"""Commands for alerts: run the worker on its own, send a test alert, see recent deliveries."""
from __future__ import annotations

import click

from .common import UserError, echo_json, echo_table, json_option, with_deployment


CHANNEL_KEYS = {"webhook": "webhook_url", "slack": "slack_url", "email": "email_to", "jsonl": "jsonl_path"}


@click.group()
def alerts():
    """Alerts on contacts: webhook, Slack, email, JSON lines ([alerts] in canary.toml)."""


def _worker(deployment):
    from ..alerts import AlertWorker
    worker = AlertWorker(deployment.store, deployment.settings)
    if not worker.channels:
        raise UserError("no alert channel configured: set webhook_url, slack_url, email_to or jsonl_path "
                        "under [alerts] in canary.toml")
    return worker


@alerts.command("test")
@with_deployment
def alerts_test(deployment):
    """Send a test alert on every configured channel and say how each delivery went.

    Example: canary alerts test
    """
    worker = _worker(deployment)
    worker.queue_test_alert()
    result = worker.deliver_due()
    for delivery in deployment.store.alert_deliveries(limit=len(worker.channels)):
        state = "sent" if delivery["state"] == "sent" else f"failed, will retry: {delivery['last_error']}"
        click.echo(f"{delivery['destination']}: {state}")
    for name, key in CHANNEL_KEYS.items():
        if name not in worker.channels:   # said out loud: a channel missing from the list is easy to miss
            click.echo(f"{name}: not configured ([alerts] {key})")
    if result["failed"]:
        raise UserError(f"{result['failed']} channel(s) failed")


@alerts.command("run")
@with_deployment
def alerts_run(deployment):
    """Run the alert worker in the foreground until interrupted (`canary serve` runs it too).

    Example: canary alerts run
    """
    worker = _worker(deployment)
    click.echo(f"Alerting on {', '.join(worker.channels)}; Ctrl-C to stop")
    worker.start()
    try:
        import threading
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()


@alerts.command("status")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@json_option
@with_deployment
def alerts_status(deployment, limit, as_json):
    """List the latest alert deliveries and their state.

    Example: canary alerts status --limit 5
    """
    rows = deployment.store.alert_deliveries(limit=limit)
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        row["about"] = row["alert"].get("what") or row["kind"]
    echo_table(rows, ["id", "created_at", "destination", "kind", "about", "state", "attempts", "last_error"],
               empty="(no alerts yet)")
