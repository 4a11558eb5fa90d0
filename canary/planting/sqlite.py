"""SQLite targets: written directly, in one transaction, foreign keys enforced."""
from __future__ import annotations

import contextlib
import functools
import pathlib
import sqlite3

import sqlite_utils

from .base import Column, ForeignKey, PlantingError, Schema, Table, direct_value

# How long to wait for the lab's own software to release its lock before giving up.
BUSY_TIMEOUT = 30


def _reading(method):
    """A read the lab's lock (or a broken file) refuses becomes one error naming the target."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as error:
            raise PlantingError(f"sqlite target {self.location}: {error}") from None
    return wrapper


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SqliteTarget:
    kind = "sqlite"
    writes_directly = True

    def __init__(self, location: str, *, create: bool = False):
        path = pathlib.Path(location).expanduser()
        if location != ":memory:" and not create and not path.is_file():
            raise PlantingError(f"sqlite target {location}: no such file")
        self.location = location
        try:
            self.conn = sqlite3.connect(location if location == ":memory:" else str(path),
                                        isolation_level=None, timeout=BUSY_TIMEOUT)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as error:
            raise PlantingError(f"sqlite target {location}: {error}") from None

    @classmethod
    def from_script(cls, script: str) -> "SqliteTarget":
        """An empty in-memory copy of a schema given as DDL, to check a mapping against."""
        target = cls(":memory:")
        try:
            target.conn.executescript(script)
        except sqlite3.DatabaseError as error:
            raise PlantingError(f"schema script: {error}") from None
        return target

    @_reading
    def schema(self) -> Schema:
        """Tables, columns, keys and foreign keys, read through sqlite-utils' introspection."""
        # No PRAGMA of its own on the lab's connection (recursive_triggers), no plugins: introspection only.
        database = sqlite_utils.Database(self.conn, recursive_triggers=False, execute_plugins=False)
        tables = {}
        for name in database.table_names():
            if name.startswith("sqlite_"):
                continue
            table = database.table(name)
            info = table.columns
            pk = [c.name for c in sorted(info, key=lambda c: c.is_pk) if c.is_pk]
            columns = {}
            for c in info:
                # INTEGER PRIMARY KEY is the rowid: SQLite assigns it.
                auto = pk == [c.name] and (c.type or "").upper() == "INTEGER"
                columns[c.name] = Column(c.name, c.type, bool(c.notnull), c.default_value is not None, c.is_pk > 0, auto)
            fks = []
            for fk in table.foreign_keys:   # "REFERENCES t" without a column: sqlite-utils names t's key
                pairs = zip(fk.columns, fk.other_columns) if getattr(fk, "is_compound", False) \
                    else [(fk.column, fk.other_column)]
                fks += [ForeignKey(column, fk.other_table, other or "rowid") for column, other in pairs]
            tables[name] = Table(name, columns, fks)
        return tables

    @_reading
    def sample(self, table: str, columns: list[str], limit: int) -> list[dict]:
        if not columns:
            return []
        cols = ", ".join(quote(c) for c in columns)
        # A spread over the whole table that is the same on every run (random() is not seedable),
        # so the same seed plants the same canaries into the same host.
        try:
            return [dict(r) for r in self.conn.execute(
                f"SELECT {cols} FROM {quote(table)} ORDER BY (rowid * 2654435761) % 4294967296 LIMIT ?", (limit,))]
        except sqlite3.OperationalError:  # a WITHOUT ROWID table
            return [dict(r) for r in self.conn.execute(f"SELECT {cols} FROM {quote(table)} LIMIT ?", (limit,))]

    @_reading
    def column_values(self, table: str, column: str) -> list:
        return [r[0] for r in self.conn.execute(
            f"SELECT {quote(column)} FROM {quote(table)} WHERE {quote(column)} IS NOT NULL")]

    @_reading
    def matching_values(self, table: str, column: str, where: dict) -> list:
        condition = " AND ".join(f"{quote(c)} = ?" for c in where)
        return [r[0] for r in self.conn.execute(
            f"SELECT {quote(column)} FROM {quote(table)} WHERE {condition}", list(where.values()))]

    @contextlib.contextmanager
    def transaction(self):
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:    # locked by the lab's software past BUSY_TIMEOUT
            raise PlantingError(f"sqlite target {self.location}: {error}") from None
        try:
            yield self
            # Foreign keys are checked per statement already; this catches rows the mapping left dangling.
            if list(self.conn.execute("PRAGMA foreign_key_check")):
                raise PlantingError(f"sqlite target {self.location}: rows would leave a foreign key dangling")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def insert(self, table: str, values: dict, key_columns: list[str], lookup: str | None) -> dict:
        values = {c: direct_value(v) for c, v in values.items()}
        cols = ", ".join(quote(c) for c in values)
        marks = ", ".join("?" for _ in values)
        sql = (f"INSERT INTO {quote(table)} ({cols}) VALUES ({marks})" if values
               else f"INSERT INTO {quote(table)} DEFAULT VALUES")
        try:
            cursor = self.conn.execute(sql, list(values.values()))
        except sqlite3.DatabaseError as error:
            raise PlantingError(f"{table}: {error}") from None
        key = {}
        for column in key_columns:
            key[column] = values[column] if column in values else cursor.lastrowid
        return key

    @_reading
    def fetch(self, table: str, key: dict) -> dict | None:
        where = " AND ".join(f"{quote(c)} = ?" for c in key)
        row = self.conn.execute(f"SELECT * FROM {quote(table)} WHERE {where}", list(key.values())).fetchone()
        return dict(row) if row else None

    def delete(self, table: str, key: dict) -> int:
        where = " AND ".join(f"{quote(c)} = ?" for c in key)
        try:
            return self.conn.execute(f"DELETE FROM {quote(table)} WHERE {where}", list(key.values())).rowcount
        except sqlite3.DatabaseError as error:
            raise PlantingError(f"{table}: {error}") from None

    def close(self) -> None:
        self.conn.close()
