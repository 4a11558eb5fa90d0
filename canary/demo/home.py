"""A local demo deployment: the example labs planted for real, an admin login, alerts to a file, the dashboard.

`make run` calls `canary demo --home demo`: the first run creates the deployment (zone
canary.test, which never resolves outside this machine), builds the example lab databases
in demo/lab/ and seeds them through the real pipeline (canary.demo.seeding), and keeps the admin
password in demo-login.txt beside it, so every later run reuses all of it and prints the
same login.
"""
from __future__ import annotations

import os
import pathlib
import shutil

from .. import accounts
from ..deployment import SMTP_CERT, SMTP_KEY, Deployment, init_deployment
from ..settings import SETTINGS_FILE, STORE_FILE
from ..store.dialect import sqlite_store_files

ZONE = "canary.test"
LOGIN_FILE = "demo-login.txt"
LAB_FOLDER = "lab"
SEEDING_MARK = "demo-seeding"   # present while the first run seeds: a run killed then left it half done
DEMO_PATIENTS = 2000


def open_demo(home: str | os.PathLike, overrides: dict | None = None,
              patients: int = DEMO_PATIENTS) -> tuple[Deployment, str]:
    """The demo deployment at `home` (created and seeded on first use) and its admin password."""
    home = pathlib.Path(home).expanduser().resolve()
    login_file = home / LOGIN_FILE
    if (home / SEEDING_MARK).exists():
        _remove_demo_files(home)   # an interrupted first run (SIGKILL, SIGTERM while seeding): start over
    if not (home / SETTINGS_FILE).exists():
        return _create_demo(home, overrides, patients)
    if not login_file.exists():
        raise ValueError(f"{home} is a deployment but not a demo (no {LOGIN_FILE}): use another --home")
    return Deployment.open(home, overrides), login_file.read_text(encoding="utf-8").strip()


def _create_demo(home: pathlib.Path, overrides: dict | None, patients: int) -> tuple[Deployment, str]:
    """Create, seed and log in: all of it or nothing (a half-seeded home would never be seeded again)."""
    from .seeding import seed_demo_lab
    deployment = None
    try:
        home.mkdir(parents=True, exist_ok=True)
        (home / SEEDING_MARK).touch()
        init_deployment(home, [ZONE], name="Demo lab").close()
        with open(home / SETTINGS_FILE, "a", encoding="utf-8") as settings:
            settings.write('\n[alerts]\njsonl_path = "alerts.jsonl"\n')
        deployment = Deployment.open(home, overrides)
        seed_demo_lab(deployment, home / LAB_FOLDER, patients=patients)
        password = accounts.new_password()
        accounts.set_password(deployment.store, accounts.ADMIN, password)
        login_file = home / LOGIN_FILE
        login_file.write_text(password + "\n", encoding="utf-8")
        os.chmod(login_file, 0o600)
        (home / SEEDING_MARK).unlink()
        return deployment, password
    except BaseException:
        if deployment is not None:
            deployment.close()
        _remove_demo_files(home)
        raise


def _remove_demo_files(home: pathlib.Path) -> None:
    """Remove what a first run writes (and the home itself when that leaves it empty), nothing else."""
    shutil.rmtree(home / LAB_FOLDER, ignore_errors=True)
    for path in sqlite_store_files(home / STORE_FILE):
        path.unlink(missing_ok=True)
    for name in (SETTINGS_FILE, LOGIN_FILE, "alerts.jsonl", SMTP_CERT, SMTP_KEY, SEEDING_MARK):
        (home / name).unlink(missing_ok=True)
    if home.is_dir() and not any(home.iterdir()):
        home.rmdir()


def touch_hints(deployment: Deployment) -> list[str]:
    """Commands that touch a canary of the demo (one in the stolen backup), one per listener that runs."""
    settings = deployment.settings
    canary = next(c for c in deployment.store.canaries(target="nightly-backup") if not c.get("removed_at"))
    hostname = canary["identifiers"]["hostname"][0]
    email = canary["identifiers"]["email"][0]
    hints = []
    for name, line in (
            ("dns", "Touch a canary: dig @{host} -p {port} {hostname}"),
            ("smtp", "  by email:     curl -s smtp://{host}:{port} --mail-from probe@example.net --mail-rcpt {email} -T /dev/null"),
            ("http", "  by its URL:   curl -s -H 'Host: {hostname}' http://{host}:{port}/ -o /dev/null")):
        listen = str(settings[name]["listen"])
        if listen != "off":
            host, port = listen.rsplit(":", 1)
            hints.append(line.format(host=host, port=port, hostname=hostname, email=email))
    return hints


def run_demo(home: str | os.PathLike, host: str, port: int, echo=print, stop=None) -> None:
    """Listeners, alerts and the dashboard of the demo deployment, until Ctrl-C / SIGTERM (or `stop` is set)."""
    from listeners.runner import Listeners, serve

    from ..alerts import worker_for
    from ..web.serving import dashboard_server
    deployment, password = open_demo(home, {"dashboard": {"public_url": f"http://{host}:{port}"}})
    try:
        settings = deployment.settings
        dashboard = dashboard_server(settings, host, port).start()
        echo(f"Demo deployment in {settings.home}")
        echo(f"Dashboard: http://{host}:{dashboard.port}/   login: admin / {password}")
        for hint in touch_hints(deployment):
            echo(hint)
        echo(f"Alerts go to {settings.home / 'alerts.jsonl'}")
        try:
            serve(Listeners(settings, deployment.store, workers=[worker_for(deployment)], log=echo), stop)
        finally:
            dashboard.stop()
    finally:
        deployment.close()
