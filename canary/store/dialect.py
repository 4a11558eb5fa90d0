"""The two engines the store runs on, and the little that differs between them.

Every query in the store is written once, in SQLite's spelling (`?` and `:name`
placeholders, `INTEGER PRIMARY KEY`, `json_extract`); a dialect opens the connection,
translates that spelling where PostgreSQL needs another, and provides what has no
portable form: the schema version, the lock that serialises evidence appends, the
append-only triggers and leader election for the alert worker.
"""
from __future__ import annotations

import functools
import pathlib
import re
import sqlite3
import threading

from .write_turns import BUSY_TIMEOUT_MS, WriteTurns

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(location) -> bool:
    return str(location).startswith(POSTGRES_SCHEMES)


def dialect_for(location) -> "SqliteDialect | PostgresDialect":
    return PostgresDialect(str(location)) if is_postgres(location) else SqliteDialect(pathlib.Path(location))


# The files an SQLite store keeps beside its own: SQLite's journal (-wal, -shm), the queue of
# waiting writers (write_turns.py) and the leader lock of each purpose (SqliteDialect.try_lead).
LEADER_PURPOSES = ("alerts",)


def sqlite_store_files(path: pathlib.Path) -> list[pathlib.Path]:
    """The store file and every file beside it that belongs to it (what removing the store removes)."""
    return [pathlib.Path(f"{path}{suffix}") for suffix in
            ("", "-wal", "-shm", ".writers", *(f".{purpose}-leader" for purpose in LEADER_PURPOSES))]


class SqliteDialect:
    """SQLite (WAL): one file, one writer at a time, BEGIN IMMEDIATE takes the write lock."""

    name = "sqlite"
    integrity_errors: tuple = (sqlite3.IntegrityError,)
    database_errors: tuple = (sqlite3.DatabaseError,)

    def __init__(self, path: pathlib.Path):
        self.path = path
        self.location = str(path)
        self._leads: dict[str, object] = {}
        self.turns = WriteTurns(path)

    def describe(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return self.path.is_file()

    def connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so each logical write
        # (one plant, one batch of contacts) is one transaction that holds the write lock
        # from the start; check_same_thread=False: listeners share one store across threads
        # and serialise access with the store's lock.
        conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=30, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit is on disk before we answer, so an acknowledged contact survives SIGKILL
        # and power loss.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return conn

    def release(self, conn) -> None:
        for handle in self._leads.values():
            handle.close()
        self._leads.clear()
        self.turns.close()
        conn.close()

    def begin(self, conn) -> None:
        self.turns.begin(conn)

    def let_waiting_writers_in(self) -> None:
        self.turns.let_waiting_in()

    def schema_version(self, conn) -> int:
        return conn.execute("PRAGMA user_version").fetchone()[0]

    def set_schema_version(self, conn, version: int) -> None:
        conn.execute(f"PRAGMA user_version = {int(version)}")

    def lock_for_migration(self, conn) -> None:
        """BEGIN IMMEDIATE already excludes every other writer."""

    def lock_evidence_chain(self, conn) -> None:
        """BEGIN IMMEDIATE already serialises appends: one writer holds the file."""

    def ddl(self, statement: str) -> list[str]:
        return [statement]

    def insert(self, conn, table: str, row: dict) -> int | None:
        marks = ", ".join("?" for _ in row)
        cursor = conn.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({marks})", list(row.values()))
        return cursor.lastrowid

    def try_lead(self, conn, purpose: str) -> bool:
        """One leader per store among local processes: an exclusive lock on a file beside it."""
        import fcntl
        held = self._leads.get(purpose)
        if held is not None and not held.closed:
            return True
        handle = open(f"{self.path}.{purpose}-leader", "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._leads[purpose] = handle
        return True

    def savepoint(self, conn):
        """A failed statement does not abort an SQLite transaction: nothing to protect."""
        return _NoSavepoint()

    def table_names(self, conn) -> list[str]:
        created = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY rowid")]
        # Parents before the tables referring to them: a later migration can add a reference from an
        # older table to a newer one (contacts.raw_sha256 -> raw_messages), so creation order is not enough.
        parents = {table: {row[2] for row in conn.execute(f"PRAGMA foreign_key_list({table})")} for table in created}
        ordered: list[str] = []
        def visit(table: str, path: tuple = ()) -> None:
            if table in ordered or table in path or table not in parents:
                return
            for parent in sorted(parents[table]):
                visit(parent, path + (table,))
            ordered.append(table)
        for table in created:
            visit(table)
        return ordered

    def after_bulk_insert(self, conn, tables: list[str]) -> None:
        """INTEGER PRIMARY KEY continues from the largest id by itself."""


class _NoSavepoint:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# -- PostgreSQL -------------------------------------------------------------------------------
# Keys of the advisory locks (any 64-bit numbers; these spell "canary" + a purpose).
EVIDENCE_LOCK = 0x63616E617279_01
MIGRATION_LOCK = 0x63616E617279_02
ALERT_LEADER_LOCK = 0x63616E617279_03

_pools: dict[str, object] = {}
_pools_lock = threading.Lock()


def _psycopg():
    try:
        import psycopg
        import psycopg_pool  # noqa: F401
    except ImportError:
        from .core import StoreError
        raise StoreError("a PostgreSQL store needs psycopg and psycopg_pool: pip install 'canary[postgresql]'") from None
    return psycopg


class Row(tuple):
    """A result row read by position or by column name, like sqlite3.Row."""

    __slots__ = ()
    _names: tuple = ()

    def __getitem__(self, key):
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._names.index(key))
            except ValueError:
                raise IndexError(f"no column {key!r}") from None
        return tuple.__getitem__(self, key)

    def keys(self):
        return list(self._names)


def _row_factory(cursor):
    names = tuple(column.name for column in cursor.description or ())
    row_class = type("Row", (Row,), {"__slots__": (), "_names": names})
    return lambda values: row_class(values)


def _configure(conn) -> None:
    """Numbers come back as Python int or float, never Decimal (sum() of a bigint is numeric)."""
    from psycopg.adapt import Loader

    class NumberLoader(Loader):
        def load(self, data):
            text = bytes(data).decode()
            return float(text) if any(c in text for c in ".eEn") else int(text)

    conn.adapters.register_loader("numeric", NumberLoader)


def pool_for(dsn: str):
    """The process's connection pool for this store (a dashboard request or a listener thread borrows one)."""
    psycopg = _psycopg()
    from psycopg_pool import ConnectionPool
    with _pools_lock:
        pool = _pools.get(dsn)
        if pool is None:
            pool = ConnectionPool(dsn, min_size=1, max_size=8, open=False, timeout=30, name="canary-store",
                                  configure=_configure, reset=_reset,
                                  kwargs={"autocommit": True, "row_factory": _row_factory, "connect_timeout": 10})
            try:
                pool.open(wait=True, timeout=15)
            except psycopg.Error as error:
                pool.close()
                raise _store_error(dsn, error) from None
            except Exception as error:  # PoolTimeout names no cause: connect once to get the server's reason
                pool.close()
                try:
                    psycopg.connect(dsn, connect_timeout=10).close()
                except psycopg.Error as reason:
                    raise _store_error(dsn, reason) from None
                raise _store_error(dsn, error) from None
            _pools[dsn] = pool
        return pool


def _reset(conn) -> None:
    # A connection goes back to the pool without the session locks its last user held.
    conn.execute("SELECT pg_advisory_unlock_all()")


def _store_error(dsn: str, error: Exception):
    from .core import StoreError
    return StoreError(f"cannot open the PostgreSQL store {redact(dsn)}: {' '.join(str(error).split()) or type(error).__name__}")


def close_pools(dsn: str | None = None) -> None:
    """Close this store's pool (or every pool): tests dropping a database, a process exiting."""
    with _pools_lock:
        names = [dsn] if dsn is not None else list(_pools)
        pools = [_pools.pop(name) for name in names if name in _pools]
    for pool in pools:
        pool.close()


def redact(dsn: str) -> str:
    """A DSN fit to print: the password, if any, replaced."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", re.sub(r"(password=)[^&\s]*", r"\1***", dsn))


class PgConnection:
    """A pooled psycopg connection that takes the store's SQLite-spelled queries."""

    def __init__(self, raw):
        self.raw = raw

    def execute(self, sql: str, params=()):
        if isinstance(params, dict):
            return self.raw.execute(translate(sql, True), params)
        params = list(params) if params else None
        return self.raw.execute(translate(sql, params is not None), params)

    def executemany(self, sql: str, rows):
        cursor = self.raw.cursor()
        cursor.executemany(translate(sql, True), rows)
        return cursor

    def close(self) -> None:
        self.raw.close()


class PostgresDialect:
    """PostgreSQL: several processes on several hosts; advisory locks serialise what must be serial."""

    name = "postgresql"

    def __init__(self, dsn: str):
        psycopg = _psycopg()
        self.location = dsn
        self.path = None
        self.integrity_errors = (psycopg.errors.IntegrityError,)
        self.database_errors = (psycopg.Error,)
        self._keys: dict[str, str | None] = {}
        self._leads: set[str] = set()

    def describe(self) -> str:
        return redact(self.location)

    def exists(self) -> bool:
        return True  # a database is created by its operator; whether it holds a store is the schema's business

    def connect(self) -> PgConnection:
        return PgConnection(pool_for(self.location).getconn())

    def release(self, conn: PgConnection) -> None:
        if self._leads and not conn.raw.closed:
            _reset(conn.raw)  # now, not whenever the pool gets to it: the next leader is waiting
        self._leads.clear()
        pool = _pools.get(self.location)
        if pool is None or conn.raw.closed:
            conn.raw.close()
        else:
            pool.putconn(conn.raw)

    def begin(self, conn) -> None:
        conn.raw.execute("BEGIN")

    def let_waiting_writers_in(self) -> None:
        """PostgreSQL queues lock waiters itself (first come, first served): nothing to do."""

    def schema_version(self, conn) -> int:
        if conn.raw.execute("SELECT to_regclass('canary_schema')").fetchone()[0] is None:
            return 0
        row = conn.raw.execute("SELECT max(version) FROM canary_schema").fetchone()
        return int(row[0] or 0)

    def set_schema_version(self, conn, version: int) -> None:
        conn.raw.execute("CREATE TABLE IF NOT EXISTS canary_schema (version BIGINT NOT NULL)")
        conn.raw.execute("DELETE FROM canary_schema")
        conn.raw.execute("INSERT INTO canary_schema (version) VALUES (%s)", (int(version),))

    def lock_for_migration(self, conn) -> None:
        conn.raw.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))

    def lock_evidence_chain(self, conn) -> None:
        # Every append (and every contact id, allocated after it) waits for the transaction
        # holding the chain head to commit: one chain, ids in commit order, whatever the hosts.
        conn.raw.execute("SELECT pg_advisory_xact_lock(%s)", (EVIDENCE_LOCK,))

    def ddl(self, statement: str) -> list[str]:
        return translate_ddl(statement)

    def insert(self, conn, table: str, row: dict) -> int | None:
        if table not in self._keys:
            self._keys[table] = _integer_key(conn, table)
        key = self._keys[table]
        returning = f" RETURNING {key}" if key else ""
        marks = ", ".join("%s" for _ in row)
        found = conn.raw.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({marks}){returning}",
                                 list(row.values()))
        return found.fetchone()[0] if key else None

    def try_lead(self, conn, purpose: str) -> bool:
        """One leader among every host: a session advisory lock, released when the connection ends
        (a clean stop, or the server noticing a dead host's connection)."""
        if purpose in self._leads:
            return True
        key = {"alerts": ALERT_LEADER_LOCK}[purpose]
        if conn.raw.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
            self._leads.add(purpose)
            return True
        return False

    def savepoint(self, conn):
        """A failed statement aborts a PostgreSQL transaction: fence off one that may fail (a duplicate)."""
        return conn.raw.transaction()

    def table_names(self, conn) -> list[str]:
        return [row[0] for row in conn.raw.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = current_schema()::regnamespace "
            "AND relname <> 'canary_schema' ORDER BY oid")]

    def after_bulk_insert(self, conn, tables: list[str]) -> None:
        """Rows copied with their ids leave the identity sequences behind: move them past the largest id."""
        for table in tables:
            key = _integer_key(conn, table)
            if key:
                conn.raw.execute(f"SELECT setval(pg_get_serial_sequence(%s, %s), coalesce(max({key}), 0) + 1, false) "
                                 f"FROM {table}", (table, key))


def _integer_key(conn, table: str) -> str | None:
    """The table's single integer primary key column (what SQLite's lastrowid gives), if any."""
    rows = conn.raw.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_index i "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = to_regclass(%s) AND i.indisprimary", (table,)).fetchall()
    if len(rows) == 1 and rows[0][1] in ("bigint", "integer"):
        return rows[0][0]
    return None


# -- translating SQLite's spelling ------------------------------------------------------------
_STRING_OR_CODE = re.compile(r"('(?:[^']|'')*')|([^']+)")
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_JSON_EXTRACT = re.compile(r"json_extract\(\s*([\w.]+)\s*,\s*'\$\.(\w+)'\s*\)")


@functools.lru_cache(maxsize=4096)
def translate(sql: str, with_params: bool = True) -> str:
    """`?` -> `%s`, `:name` -> `%(name)s`, `%` -> `%%`, json_extract(col, '$.key') -> (col::json ->> 'key').

    Without parameters psycopg sends the text as it is: then `%` stays single.
    """
    sql = _JSON_EXTRACT.sub(r"(\1::json ->> '\2')", sql)
    if not with_params:
        return sql
    parts = []
    for literal, code in _STRING_OR_CODE.findall(sql):
        if literal:
            parts.append(literal.replace("%", "%%"))
        else:
            code = code.replace("%", "%%").replace("?", "%s")
            parts.append(_NAMED.sub(r"%(\1)s", code))
    return "".join(parts)


_TRIGGER = re.compile(
    r"CREATE\s+TRIGGER\s+(\w+)\s+BEFORE\s+(UPDATE|DELETE|INSERT)\s+ON\s+(\w+)\s+BEGIN\s+SELECT\s+"
    r"RAISE\s*\(\s*ABORT\s*,\s*'((?:[^']|'')*)'\s*\)\s*;\s*END\s*;?", re.IGNORECASE | re.DOTALL)
_TYPES = ((re.compile(r"\bINTEGER\s+PRIMARY\s+KEY(\s+AUTOINCREMENT)?\b", re.I),
           "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
          (re.compile(r"\bINTEGER\b", re.I), "BIGINT"),
          (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),
          (re.compile(r"\bBLOB\b", re.I), "BYTEA"))


def translate_ddl(statement: str) -> list[str]:
    """One migration statement in PostgreSQL's spelling (types, identity keys, refusing triggers)."""
    trigger = _TRIGGER.fullmatch(statement.strip())
    if trigger:
        name, event, table, message = trigger.groups()
        function = f"{name}_refuse"
        statements = [
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$",
            f"CREATE TRIGGER {name} BEFORE {event.upper()} ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()"]
        if event.upper() == "DELETE":  # TRUNCATE deletes without firing row triggers
            statements.append(f"CREATE TRIGGER {name}_truncate BEFORE TRUNCATE ON {table} "
                              f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
        return statements
    for pattern, replacement in _TYPES:
        statement = pattern.sub(replacement, statement)
    return [statement]
