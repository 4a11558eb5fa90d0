"""Fixtures every test module may use: a fresh deployment, a CLI runner bound to it."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from canary.cli import main
from canary.deployment import Deployment, init_deployment

ZONE = "canary.test"

# CANARY_TEST_STORE=postgresql: every deployment below gets a fresh PostgreSQL store.
from storemode import ON_POSTGRES, fresh_store, module_store_url, store_database, store_url  # noqa: E402,F401


@pytest.fixture
def home(tmp_path, store_url):
    """An initialised deployment directory, zone canary.test, fiction phone ranges (store: see storemode.py)."""
    path = tmp_path / "deployment"
    init_deployment(path, [ZONE], store=store_url).close()
    return path


@pytest.fixture
def deployment(home):
    opened = Deployment.open(home)
    yield opened
    opened.close()


@pytest.fixture
def invoke(home):
    """Run `canary ARGS --home HOME` in-process: invoke("site", "add", "Lab")."""
    runner = CliRunner()

    def run(*args, input=None, expect_exit=0):
        result = runner.invoke(main, [*args, "--home", str(home)], input=input, catch_exceptions=False)
        if expect_exit is not None:
            assert result.exit_code == expect_exit, f"exit {result.exit_code}: {result.output}"
        return result

    return run


@pytest.fixture
def recorder(deployment):
    """The real recorder on the test deployment's store, writer thread running."""
    from listeners.recorder import Recorder
    started = Recorder(deployment.store, unknown_flush_seconds=0.2).start()
    yield started
    started.stop()


# The example lab database (SQLite and PostgreSQL) the planting tests plant into; defined in
# tests/labdb.py, imported here so that the session-scoped build happens once per run.
from labdb import (lab_db, lab_template, postgres_db, postgres_lab, postgres_lab_template,  # noqa: E402,F401
                   postgres_server)
from mysqldb import mariadb_db, mariadb_server  # noqa: E402,F401


# -- dashboard ------------------------------------------------------------------------------
ADMIN_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def demo_lab_template(tmp_path_factory):
    """The demo lab (canary.demo.seeding, a 300-patient lab) seeded once per run; tests get a copy of its store."""
    import sqlite3

    from canary.demo.seeding import seed_demo_lab
    home = tmp_path_factory.mktemp("demo-lab") / "deployment"
    made = init_deployment(home, [ZONE])
    try:
        lab = seed_demo_lab(made, home / "lab", patients=300)
    finally:
        made.close()
    # One self-contained file (no WAL beside it) to copy from.
    conn = sqlite3.connect(home / "canary.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return home / "canary.db", lab


@pytest.fixture
def demo_lab(deployment, demo_lab_template, store_database):
    """The deployment holding the demo lab (same ids as the template's DemoLab) and an admin user.

    Its targets are the template's lab files, shared by every test: read them, never plant into them.
    """
    import sqlite3

    from canary import accounts
    path, lab = demo_lab_template
    if ON_POSTGRES:
        from storemode import load_sqlite_store
        load_sqlite_store(deployment, path, store_database)
    else:
        source = sqlite3.connect(path)
        try:
            source.backup(deployment.store.conn)
        finally:
            source.close()
    accounts.set_password(deployment.store, "admin", ADMIN_PASSWORD)
    return lab


@pytest.fixture
def app(deployment):
    from canary.web import create_app
    return create_app(deployment.settings, {"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_from(html: str) -> str:
    import re
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def login(client, deployment):
    """login(name, password) -> response of the login POST, the CSRF token taken from the form."""
    from canary import accounts
    if deployment.store.find_user("admin") is None:
        accounts.set_password(deployment.store, "admin", ADMIN_PASSWORD)

    def do_login(name="admin", password=ADMIN_PASSWORD, next_path=""):
        token = csrf_from(client.get("/login").text)
        return client.post("/login", data={"csrf_token": token, "username": name, "password": password,
                                           "next": next_path})

    return do_login
