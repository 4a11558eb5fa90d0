"""Which store the suite's deployments use: SQLite (default) or PostgreSQL (CANARY_TEST_STORE=postgresql).

With PostgreSQL, every test's deployment gets a fresh schema of its own in one database made
for the run (a schema is created and dropped in milliseconds, a database in a second); the
store URL names it through libpq's `options=-csearch_path=...`.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid

import pytest

MODE = os.environ.get("CANARY_TEST_STORE", "sqlite").lower()
if MODE not in ("sqlite", "postgresql"):
    raise RuntimeError(f"CANARY_TEST_STORE={MODE!r}: expected sqlite or postgresql")
ON_POSTGRES = MODE == "postgresql"


def sqlite_only(why):
    """For tests about one engine's own mechanics (a PRAGMA, the SQLite file itself): @sqlite_only("why").

    Everything else runs on both stores. (Bare @sqlite_only still works; say why instead.)
    """
    if callable(why):
        return sqlite_only("about the SQLite store's file")(why)
    return pytest.mark.skipif(ON_POSTGRES, reason=f"SQLite store only ({why}); CANARY_TEST_STORE=postgresql")


def schema_url(database_dsn: str, schema: str) -> str:
    """A store URL for `schema` in the database of `database_dsn`."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
    from urllib.parse import quote
    params = conninfo_to_dict(database_dsn)
    # Store URLs are postgresql:// URLs (what an operator writes in canary.toml).
    query = "&".join(f"{key}={quote(str(value), safe='/')}" for key, value in params.items() if key != "dbname")
    return f"postgresql:///{params['dbname']}?{query}&options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def store_database(request):
    """The run's PostgreSQL database for deployment stores (PostgreSQL mode only)."""
    if not ON_POSTGRES:
        yield None
        return
    from labdb import _database, _drop, with_dbname
    admin = request.getfixturevalue("postgres_server")
    name = _database(admin)
    try:
        yield with_dbname(admin, name)
    finally:
        from canary.store import close_pools
        try:
            close_pools()
        finally:
            _drop(admin, name)


def new_store_url(database_dsn: str) -> str:
    """A fresh, empty schema; its store URL."""
    import psycopg
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(database_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return schema_url(database_dsn, schema)


def drop_store(database_dsn: str, url: str, recreate: bool = False) -> None:
    """Drop the schema of store `url` (and make it again, empty, when `recreate`)."""
    import psycopg

    from canary.store import close_pools
    close_pools(url)
    schema = url.rsplit("%3D", 1)[1]
    with psycopg.connect(database_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        if recreate:
            conn.execute(f"CREATE SCHEMA {schema}")


def load_sqlite_store(deployment, path, database_dsn: str) -> None:
    """Make the deployment's PostgreSQL store a copy of the SQLite store at `path` (what `store migrate` does)."""
    from canary.store import Store
    url = deployment.store.location
    deployment.store.close()
    drop_store(database_dsn, url, recreate=True)
    source, deployment.store = Store(path), Store(url)
    try:
        source.copy_into(deployment.store)
    finally:
        source.close()


@pytest.fixture
def fresh_store(store_database):
    """For a test with several deployments: fresh_store() gives one more store URL (None on SQLite)."""
    made = []

    def make():
        if store_database is None:
            return None
        made.append(new_store_url(store_database))
        return made[-1]

    yield make
    for url in made:
        drop_store(store_database, url)


@pytest.fixture(scope="module")
def module_store_url(store_database):
    """store_url for a module's shared deployment (built once per module)."""
    if store_database is None:
        yield None
        return
    url = new_store_url(store_database)
    yield url
    drop_store(store_database, url)


@pytest.fixture
def store_url(store_database):
    """None (SQLite: canary.db in the deployment) or a fresh PostgreSQL store URL, dropped afterwards."""
    if store_database is None:
        yield None
        return
    url = new_store_url(store_database)
    yield url
    drop_store(store_database, url)


@contextlib.contextmanager
def tampering(store):
    """A raw connection to `store` with its refusing triggers off: what an attacker with write access to
    the database holds. Takes the store's SQLite-spelled SQL; rows read by name or position.

    SQLite has no switch for triggers: they are dropped, and made again on leaving. On PostgreSQL,
    session_replication_role = replica turns them off for this session only.
    """
    if store.path is None:
        import psycopg

        from canary.store.dialect import PgConnection, _row_factory
        raw = psycopg.connect(store.location, autocommit=True, row_factory=_row_factory)
        raw.execute("SET session_replication_role = replica")
        try:
            yield PgConnection(raw)
        finally:
            raw.close()
        return
    conn = sqlite3.connect(store.path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    try:
        yield conn
    finally:
        for _, sql in triggers:
            conn.execute(sql)
        conn.close()
