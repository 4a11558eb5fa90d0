"""The example lab database as a test host: built once per session by canary.demo.labdb, copied per test."""
from __future__ import annotations

import importlib
import os
import re
import shutil
import sqlite3
import uuid

import pytest
from services import service_missing

from canary.demo.labdb import DATA as EXAMPLES   # the example lab's schema and mappings

MAPPING = EXAMPLES / "lab_mapping.toml"
LAB_TABLES = ("medecin", "patient", "adresse", "telecom", "dossier", "resultat")
DEFAULT_DSN = "postgresql:///postgres?host=/var/run/postgresql&user=postgres"


def load_example(name: str):
    """The example lab's builders, shipped in the package (canary.demo)."""
    return importlib.import_module({"make_lab_db": "canary.demo.labdb",
                                    "lab_to_postgresql": "canary.demo.labdb_postgresql"}[name])


@pytest.fixture(scope="session")
def lab_template(tmp_path_factory):
    """A 5,000-patient lab database built by make_lab_db.py (seed 7), never written to."""
    path = tmp_path_factory.mktemp("lab") / "lab5000.db"
    load_example("make_lab_db").build(path, 5000, 7)
    return path


@pytest.fixture
def lab_db(lab_template, tmp_path):
    path = tmp_path / "lab.db"
    shutil.copy(lab_template, path)
    return path


def dump_sqlite(path) -> list[str]:
    """Every row of every table, to compare a target before and after."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def store_tables(store) -> dict:
    return {table: store._rows(f"SELECT * FROM {table} ORDER BY 1")
            for table in ("canaries", "identifiers", "plantings", "checks", "evidence")}


def assert_attempt_retired(store, count: int) -> None:
    """A plant whose target failed at its commit: the store's short transactions kept the attempt on
    the record: `count` canaries registered, never planted (nothing dates from them), retired."""
    plantings = store.plantings()
    assert len(plantings) == count
    assert all(p["state"] == "retired" and p["planted_at"] is None for p in plantings)
    assert store.verify_evidence().ok and store.audit_tables() == []


# -- PostgreSQL --------------------------------------------------------------------------------
def postgres_dsn() -> str:
    return os.environ.get("CANARY_TEST_POSTGRES_DSN", DEFAULT_DSN)


def with_dbname(dsn: str, name: str) -> str:
    """The same server, another database."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
    return make_conninfo(**{**conninfo_to_dict(dsn), "dbname": name})


@pytest.fixture(scope="session")
def postgres_server():
    """The admin DSN of a reachable server; skips (fails when CI=true) if there is none.

    Also drops the databases earlier runs left behind when they were killed (see _database).
    """
    psycopg = pytest.importorskip("psycopg")
    dsn = postgres_dsn()
    try:
        psycopg.connect(dsn, connect_timeout=5).close()
    except psycopg.Error as error:
        message = f"no PostgreSQL at {dsn} ({' '.join(str(error).split())}); .ci/services.sh starts one"
        service_missing(message)
    drop_abandoned_databases(dsn)
    yield dsn
    if _run_lock:  # after every database of the run is dropped (they all use this fixture)
        conn = _run_lock.pop("conn")
        _run_lock.clear()
        conn.close()


# Every database a run creates is named canary_test_<run key>_<random>, and the run holds a
# session advisory lock on its key for as long as it lives (on a connection of its own, to the
# admin database). A run killed before its teardown (SIGKILL, a CI timeout, the server
# restarting) leaves its databases behind; the next run sees their key's lock free and drops
# them, while the databases of runs still going (other worktrees, another CI job) keep theirs.
_DATABASE_PREFIX = "canary_test_"
_DATABASE_NAME = re.compile(_DATABASE_PREFIX + r"([0-9a-f]{8})_[0-9a-f]{12}")
_run_lock: dict = {}


def _run_key(admin_dsn: str) -> int:
    import psycopg
    if "key" not in _run_lock:
        key = int.from_bytes(os.urandom(4), "big") >> 1
        conn = psycopg.connect(admin_dsn, autocommit=True)
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        _run_lock.update(key=key, conn=conn)  # held until this process ends
    return _run_lock["key"]


def drop_abandoned_databases(admin_dsn: str) -> list[str]:
    """Drop the canary_test_* databases whose run has ended; returns their names."""
    import psycopg
    dropped = []
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        names = [row[0] for row in admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (_DATABASE_PREFIX + "%",))]
        for name in names:
            named = _DATABASE_NAME.fullmatch(name)
            if named is None:
                continue  # not named by this scheme (an older checkout's): whose it is cannot be told
            key = int(named.group(1), 16)
            if key == _run_lock.get("key"):
                continue
            if admin.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                try:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    dropped.append(name)
                finally:
                    admin.execute("SELECT pg_advisory_unlock(%s)", (key,))
    return dropped


def _database(admin_dsn: str, template: str | None = None):
    """Create a database of our own (from a template: a file copy, fast); returns its name."""
    import psycopg
    name = f"{_DATABASE_PREFIX}{_run_key(admin_dsn):08x}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def _drop(admin_dsn: str, name: str) -> None:
    import psycopg
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_db(postgres_server):
    """A fresh, empty database of its own; dropped afterwards. Yields its DSN."""
    name = _database(postgres_server)
    try:
        yield with_dbname(postgres_server, name)
    finally:
        _drop(postgres_server, name)


@pytest.fixture(scope="session")
def postgres_lab_template(postgres_server, lab_template):
    """The 5,000-patient lab copied into PostgreSQL once per run, as a template database."""
    name = _database(postgres_server)
    try:
        load_example("lab_to_postgresql").copy_lab(str(lab_template), with_dbname(postgres_server, name))
        yield name
    finally:
        _drop(postgres_server, name)


@pytest.fixture
def postgres_lab(postgres_server, postgres_lab_template):
    """A database of its own holding the 5,000-patient lab; yields its DSN."""
    name = _database(postgres_server, template=postgres_lab_template)
    try:
        yield with_dbname(postgres_server, name)
    finally:
        _drop(postgres_server, name)


def dump_postgres(dsn: str) -> dict:
    import psycopg
    with psycopg.connect(dsn) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in LAB_TABLES}
