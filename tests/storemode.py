"""Which store the suite's deployments use: SQLite (default) or PostgreSQL (CANARY_TEST_STORE=postgresql).

With PostgreSQL, every test's deployment gets a fresh schema of its own in one database made
for the run (a schema is created and dropped in milliseconds, a database in a second); the
store URL names it through libpq's `options=-csearch_path=...`.
"""
from __future__ import annotations

import os
import uuid

import pytest

MODE = os.environ.get("CANARY_TEST_STORE", "sqlite").lower()
if MODE not in ("sqlite", "postgresql"):
    raise RuntimeError(f"CANARY_TEST_STORE={MODE!r}: expected sqlite or postgresql")
ON_POSTGRES = MODE == "postgresql"

# For tests about one engine's own mechanics (a PRAGMA, the SQLite file itself).
sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="about the SQLite store's file (CANARY_TEST_STORE=postgresql)")


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
def store_url(store_database):
    """None (SQLite: canary.db in the deployment) or a fresh PostgreSQL store URL, dropped afterwards."""
    if store_database is None:
        yield None
        return
    url = new_store_url(store_database)
    yield url
    drop_store(store_database, url)
