"""The example lab database as a test host: built once per session by canary.demo.labdb, copied per test."""
from __future__ import annotations

import importlib
import os
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
    """The admin DSN of a reachable server; skips (fails when CI=true) if there is none."""
    psycopg = pytest.importorskip("psycopg")
    dsn = postgres_dsn()
    try:
        psycopg.connect(dsn, connect_timeout=5).close()
    except psycopg.Error as error:
        message = f"no PostgreSQL at {dsn} ({' '.join(str(error).split())}); .ci/services.sh starts one"
        service_missing(message)
    return dsn


def _database(admin_dsn: str, template: str | None = None):
    """Create a database of our own (from a template: a file copy, fast); returns its name."""
    import psycopg
    name = f"canary_test_{uuid.uuid4().hex[:12]}"
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
