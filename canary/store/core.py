"""Connection, transactions, migrations and the evidence log: what every store part uses.

The store is the one place that speaks SQL to the deployment's database. Callers get
plain dicts and call methods, whichever engine is underneath (see dialect.py): SQLite
for one host, PostgreSQL for several.
"""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import sqlite3
import threading

from .. import clock
from ..evidence.chain import GENESIS_HASH, ChainCheck, event_hash, verify_chain
from .dialect import SqliteDialect, dialect_for, is_postgres, redact
from .part import StorePart
from .schema import LATEST_VERSION, MIGRATIONS


class StoreError(Exception):
    """The store cannot be opened or a write was refused."""


class Conflict(StoreError):
    """A name or identifier that must be unique already exists."""


class NotFound(StoreError):
    """No such site, target, canary or token."""


class CoreStore(StorePart):
    """Opening, migrating, transactions and evidence; the other parts build on these."""

    def __init__(self, location: str | pathlib.Path):
        """Open the store at `location`: an SQLite file path or a postgresql:// DSN."""
        self.dialect = dialect_for(location)
        self.location = self.dialect.location
        self.path = self.dialect.path  # the SQLite file; None on PostgreSQL
        if not self.dialect.exists():
            raise StoreError(f"no store at {self.path}")
        self._lock = threading.RLock()
        self._depth = 0
        self.conn = None
        try:
            self.conn = self.dialect.connect()
            self.migrate()
        except self.dialect.database_errors as error:
            self.close()
            raise StoreError(f"{self.dialect.describe()}: not a canary store ({' '.join(str(error).split())})") from None

    def describe(self) -> str:
        """Where the store is, fit to print (no password)."""
        return self.dialect.describe()

    @property
    def kind(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.dialect.name

    @classmethod
    def create(cls, location: str | pathlib.Path):
        """Create a new, empty store; refuses an existing file or a database that already holds one."""
        if is_postgres(location):
            store = cls(location)
            if store.events():
                store.close()
                raise Conflict(f"{redact(str(location))} already holds a canary store")
            return store
        path = pathlib.Path(location)
        if path.exists():
            raise Conflict(f"{path} already exists")
        # 0600 from the first byte: the store holds password and API-token hashes. SQLite gives
        # its -wal and -shm files the permissions of the database.
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        SqliteDialect(path).connect().close()
        return cls(path)

    def close(self) -> None:
        if self.conn is not None:
            self.dialect.release(self.conn)
            self.conn = None

    # -- schema ---------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        with self._lock:
            return self.dialect.schema_version(self.conn)

    def migrate(self) -> None:
        """Apply the migrations this store lacks, each atomically."""
        if self.schema_version == LATEST_VERSION:
            return
        with self.transaction():
            self.dialect.lock_for_migration(self.conn)  # two hosts starting at once: one migrates
            current = self.schema_version
            if current > LATEST_VERSION:
                raise StoreError(f"{self.dialect.describe()} has schema {current}, newer than this canary "
                                 f"({LATEST_VERSION})")
            for version, script in MIGRATIONS:
                if version <= current:
                    continue
                for statement in _split_sql(script):
                    for translated in self.dialect.ddl(statement):
                        self.conn.execute(translated)
                self.dialect.set_schema_version(self.conn, version)

    # -- transactions -----------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self):
        """One atomic write; nested calls join the outer transaction."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self.dialect.begin(self.conn)
            self._depth = 1
            try:
                yield self
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth = 0

    def let_waiting_writers_in(self) -> None:
        """Between two transactions of a long job (a plant, a rotation): give every writer already
        waiting for the store (the listeners' contacts) its turn before the job's next transaction."""
        with self._lock:
            self.dialect.let_waiting_writers_in()

    def _insert(self, table: str, row: dict) -> int | None:
        """Insert one row; returns its integer key (id, seq), if the table has one."""
        with self._lock:
            return self.dialect.insert(self.conn, table, row)

    def _insert_unique(self, table: str, row: dict, conflict: str) -> int | None:
        """Insert a row that may break a UNIQUE constraint: Conflict(conflict) then, the transaction intact."""
        with self._lock:
            try:
                with self.dialect.savepoint(self.conn):
                    return self.dialect.insert(self.conn, table, row)
            except self.dialect.integrity_errors:
                raise Conflict(conflict) from None

    def _execute(self, sql: str, params=()):
        """Run one statement (SQLite spelling); returns the cursor (rowcount, fetchone)."""
        with self._lock:
            return self.conn.execute(sql, params)

    def _value(self, sql: str, params=()):
        """The first column of the first row, or None."""
        row = self._row(sql, params)
        return None if row is None else next(iter(row.values()))

    def _rows(self, sql: str, params=()) -> list[dict]:
        with self._lock:
            return [dict(row) for row in self.conn.execute(sql, params)]

    def _row(self, sql: str, params=()) -> dict | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    # -- evidence ---------------------------------------------------------------------
    def append_event(self, kind: str, payload: dict, time: str | None = None) -> dict:
        """Append one event to the hash chain; call inside the transaction that makes the change."""
        with self.transaction():
            self.dialect.lock_evidence_chain(self.conn)
            last = self.conn.execute("SELECT seq, hash FROM evidence ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev_hash = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS_HASH)
            time = time or clock.utc_now()
            source = clock.clock_source()
            payload = json.loads(json.dumps(payload))  # hash exactly what a reader will decode
            digest = event_hash(seq, time, source, kind, payload, prev_hash)
            event = {"seq": seq, "time": time, "clock": source, "kind": kind,
                     "payload": json.dumps(payload, sort_keys=True, ensure_ascii=False),
                     "prev_hash": prev_hash, "hash": digest}
            self._insert("evidence", event)
            return event

    def events(self, kind: str | None = None, since_seq: int = 0) -> list[dict]:
        sql = "SELECT * FROM evidence WHERE seq > ?" + (" AND kind = ?" if kind else "") + " ORDER BY seq"
        params = (since_seq, kind) if kind else (since_seq,)
        rows = self._rows(sql, params)
        for row in rows:
            row["payload"] = json.loads(row["payload"])
        return rows

    def event_hash_at(self, seq: int) -> str | None:
        row = self._row("SELECT hash FROM evidence WHERE seq = ?", (seq,))
        return row["hash"] if row else None

    def verify_evidence(self) -> ChainCheck:
        """Recompute the whole chain from the stored rows."""
        with self._lock:
            cursor = self.conn.execute("SELECT * FROM evidence ORDER BY seq")
            return verify_chain(dict(row) for row in cursor)


def _split_sql(script: str) -> list[str]:
    """Statements of a migration script; sqlite3.complete_statement keeps triggers whole."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
