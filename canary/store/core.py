"""Connection, transactions, migrations and the evidence log: what every store part uses.

The store is the one place that speaks SQL to the deployment's database. Callers get
plain dicts and call methods; moving to PostgreSQL means re-implementing this package,
not touching its callers.
"""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import sqlite3
import threading

import sqlite_utils

from .. import clock
from ..evidence import GENESIS_HASH, ChainCheck, event_hash, verify_chain
from .schema import LATEST_VERSION, MIGRATIONS


class StoreError(Exception):
    """The store cannot be opened or a write was refused."""


class Conflict(StoreError):
    """A name or identifier that must be unique already exists."""


class NotFound(StoreError):
    """No such site, target, canary or token."""


def _connect(path: pathlib.Path) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so each logical write
    # (one plant, one batch of contacts) is one transaction that holds the write lock
    # from the start; check_same_thread=False: listeners share one store across threads
    # and serialise access with the store's lock.
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: a commit is on disk before we answer, so an acknowledged contact survives SIGKILL
    # and power loss.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


class CoreStore:
    """Opening, migrating, transactions and evidence; the other parts build on these."""

    def __init__(self, path: str | pathlib.Path):
        self.path = pathlib.Path(path)
        if not self.path.is_file():
            raise StoreError(f"no store at {self.path}")
        try:
            self.conn = _connect(self.path)
            self.db = sqlite_utils.Database(self.conn)
            self._lock = threading.RLock()
            self._depth = 0
            self.migrate()
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path}: not a canary store ({error})") from None

    @classmethod
    def create(cls, path: str | pathlib.Path):
        """Create a new, empty store; refuses to touch an existing file."""
        path = pathlib.Path(path)
        if path.exists():
            raise Conflict(f"{path} already exists")
        # 0600 from the first byte: the store holds password and API-token hashes. SQLite gives
        # its -wal and -shm files the permissions of the database.
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        _connect(path).close()
        return cls(path)

    def close(self) -> None:
        self.conn.close()

    # -- schema ---------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        """Apply the migrations this store lacks, each atomically."""
        current = self.schema_version
        if current > LATEST_VERSION:
            raise StoreError(f"{self.path} has schema {current}, newer than this canary ({LATEST_VERSION})")
        for version, script in MIGRATIONS:
            if version <= current:
                continue
            with self.transaction():
                for statement in _split_sql(script):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {int(version)}")

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
            self.conn.execute("BEGIN IMMEDIATE")
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

    def _insert(self, table: str, row: dict) -> int:
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        cursor = self.conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values()))
        return cursor.lastrowid

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
