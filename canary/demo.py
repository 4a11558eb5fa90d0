"""A local demo deployment: the sample lab, an admin login, alerts to a file, the dashboard.

`make run` calls `canary demo --home demo`: the first run creates the deployment (zone
canary.test, which never resolves outside this machine) and keeps the admin password in
demo-login.txt beside it, so every later run can print the same login.
"""
from __future__ import annotations

import os
import pathlib

from . import accounts
from .deployment import Deployment, init_deployment
from .settings import SETTINGS_FILE
from .web import sample

ZONE = "canary.test"
LOGIN_FILE = "demo-login.txt"


def open_demo(home: str | os.PathLike, overrides: dict | None = None) -> tuple[Deployment, str]:
    """The demo deployment at `home` (created and filled on first use) and its admin password."""
    home = pathlib.Path(home).expanduser().resolve()
    login_file = home / LOGIN_FILE
    if not (home / SETTINGS_FILE).exists():
        deployment = init_deployment(home, [ZONE], name="Demo lab")
        with open(home / SETTINGS_FILE, "a", encoding="utf-8") as settings:
            settings.write('\n[alerts]\njsonl_path = "alerts.jsonl"\n')
        deployment.close()
        deployment = Deployment.open(home, overrides)
        sample.populate(deployment.store, zone=ZONE)
        password = accounts.new_password()
        accounts.set_password(deployment.store, accounts.ADMIN, password)
        login_file.write_text(password + "\n", encoding="utf-8")
        os.chmod(login_file, 0o600)
        return deployment, password
    if not login_file.exists():
        raise ValueError(f"{home} is a deployment but not a demo (no {LOGIN_FILE}): use another --home")
    return Deployment.open(home, overrides), login_file.read_text(encoding="utf-8").strip()


def run_demo(home: str | os.PathLike, host: str, port: int, echo=print, stop=None) -> None:
    """Listeners, alerts and the dashboard of the demo deployment, until Ctrl-C / SIGTERM (or `stop` is set)."""
    import threading

    from werkzeug.serving import make_server

    from listeners.runner import Listeners, serve

    from .alerts import worker_for
    from .web import create_app
    deployment, password = open_demo(home, {"dashboard": {"public_url": f"http://{host}:{port}"}})
    try:
        settings = deployment.settings
        dashboard = make_server(host, port, create_app(settings), threaded=True)
        thread = threading.Thread(target=dashboard.serve_forever, args=(0.2,), name="canary-dashboard", daemon=True)
        thread.start()
        hostname = deployment.store.canaries()[1]["identifiers"]["hostname"][0]
        dns_host, dns_port = settings["dns"]["listen"].rsplit(":", 1)
        echo(f"Demo deployment in {settings.home}")
        echo(f"Dashboard: http://{host}:{dashboard.server_port}/   login: admin / {password}")
        echo(f"Touch a canary: dig @{dns_host} -p {dns_port} {hostname}   (alerts go to {settings.home / 'alerts.jsonl'})")
        try:
            serve(Listeners(settings, deployment.store, workers=[worker_for(deployment)], log=echo), stop)
        finally:
            dashboard.shutdown()
            thread.join()
    finally:
        deployment.close()
