"""`sql` targets: rows go into a reviewable SQL script (PostgreSQL and MySQL dialects) a DBA applies.

Keys the database generates are unknown when the script is written, so a child row finds
its parent with a subquery on the parent's `lookup` column (a unique key we generated).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import pathlib
import tempfile

from .. import clock
from .base import Find, NextValue, ParentKey, Pick, PlantingError, Schema

# Values only the database knows when the script runs: not a key to find the row again by.
_UNKNOWN = (ParentKey, Pick, Find, NextValue)

DIALECTS = ("postgresql", "mysql")
APPLY = {"postgresql": "PGCLIENTENCODING=UTF8 psql -v ON_ERROR_STOP=1 -f FILE (or sqlite3 -bail DB < FILE)",
         "mysql": "mysql DATABASE < FILE (without --force)"}
AFTER_APPLY = {"plant": "-- Once it is applied, run `canary confirm {name} --script` with this file: its canaries "
                        "count as planted from then.",
               "retire": "-- The canaries were recorded as removed when this script was written; apply it soon."}


CANARIES_LINE = "-- canaries: "


def script_canaries(path: str, target_name: str) -> list[int]:
    """The canaries a plant script of this target carries, read from its header."""
    try:
        with open(path, encoding="utf-8") as script:
            header = [next(script, "") for _ in range(8)]
    except (OSError, UnicodeDecodeError) as error:
        raise PlantingError(f"script {path}: cannot read it ({getattr(error, 'strerror', None) or error})") from None
    if not header[0].startswith(f"-- canary: plant rows for target {target_name}, "):
        raise PlantingError(f"script {path} is not a plant script of target {target_name} "
                            f"(its first line: {header[0].strip()[:100]!r})")
    line = next((h for h in header if h.startswith(CANARIES_LINE)), None)
    if line is None:
        raise PlantingError(f"script {path} names no canaries (written before `confirm --script` existed): "
                            f"run `canary confirm {target_name}` once every pending script is applied")
    try:
        return [int(n) for n in line[len(CANARIES_LINE):].split(",")]
    except ValueError:
        raise PlantingError(f"script {path}: its line {line.strip()!r} was edited") from None


def quote_name(name: str, dialect: str) -> str:
    if dialect == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def literal(value, dialect: str) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        value = value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    text = str(value)
    if dialect == "mysql":
        text = text.replace("\\", "\\\\")
    return "'" + text.replace("'", "''") + "'"


def expression(value, dialect: str) -> str:
    """A value, a parent's key found by its lookup column, or a random existing key."""
    q = lambda name: quote_name(name, dialect)  # noqa: E731
    if isinstance(value, ParentKey):
        known = dict(value.values)
        if value.column in known:
            return literal(known[value.column], dialect)
        if not value.lookup or value.lookup not in known:
            raise PlantingError(f"{value.table}: a SQL script cannot refer to its generated {value.column}; "
                                f"give the [[table]] of {value.table} lookup = \"<a unique column we write>\"")
        return (f"(SELECT {q(value.column)} FROM {q(value.table)} WHERE {q(value.lookup)} = "
                f"{literal(known[value.lookup], dialect)})")
    if isinstance(value, dict) and "$ref" in value:
        table, column, lookup, found = value["$ref"]
        return f"(SELECT {q(column)} FROM {q(table)} WHERE {q(lookup)} = {literal(found, dialect)})"
    if isinstance(value, Pick):
        random = "RAND()" if dialect == "mysql" else "random()"
        return f"(SELECT {q(value.column)} FROM {q(value.table)} ORDER BY {random} LIMIT 1)"
    if isinstance(value, Find):
        condition = " AND ".join(f"{q(c)} = {literal(v, dialect)}" for c, v in value.where)
        return f"(SELECT {q(value.column)} FROM {q(value.table)} WHERE {condition})"
    if isinstance(value, NextValue):
        if dialect == "mysql":
            return f"NEXTVAL({q(value.sequence)})"
        return f"nextval({literal(value.sequence, dialect)})"
    return literal(value, dialect)


def _stored(value):
    """How a script row's key keeps a reference to its parent in the store (JSON)."""
    if isinstance(value, ParentKey):
        known = dict(value.values)
        if value.column in known:
            return known[value.column]
        return {"$ref": [value.table, value.column, value.lookup, known[value.lookup]]}
    return value


class SqlScriptTarget:
    kind = "sql"
    writes_directly = False

    def __init__(self, name: str, directory: str, schema_source):
        self.name = name
        self.directory = pathlib.Path(directory).expanduser()
        if not self.directory.is_dir():
            raise PlantingError(f"sql target {name}: {self.directory} is not a directory to write scripts into")
        self.source = schema_source        # a SqliteTarget / PostgresqlTarget to read schema and rows from
        self._statements: list[tuple[str, dict]] | None = None
        self.written: list[pathlib.Path] = []
        self.canary_ids: list[int] = []    # named in a plant script, so `confirm --script` confirms only them

    def schema(self) -> Schema:
        return self.source.schema()

    def sample(self, table, columns, limit):
        return self.source.sample(table, columns, limit)

    def column_values(self, table, column):
        return self.source.column_values(table, column)

    def fetch(self, table, key):
        """The row in the database the script was applied to ([host] database), found as the script wrote it."""
        resolved = {}
        for column, value in key.items():
            if isinstance(value, dict) and "$ref" in value:
                parent_table, parent_column, lookup, found = value["$ref"]
                parent = self.source.fetch(parent_table, {lookup: found})
                if parent is None:
                    return None
                value = parent[parent_column]
            resolved[column] = value
        return self.source.fetch(table, resolved)

    @contextlib.contextmanager
    def transaction(self, action: str = "plant"):
        self._statements = []
        self.written = []
        self.canary_ids = []
        try:
            yield self
            if self._statements:
                self.written = self._write(action)
        finally:
            self._statements = None

    def insert(self, table: str, values: dict, key_columns: list[str], lookup: str | None) -> dict:
        self._statements.append(("insert", {"table": table, "values": dict(values)}))
        if lookup and lookup in values and not isinstance(values[lookup], _UNKNOWN):
            return {lookup: values[lookup]}
        return {c: _stored(v) for c, v in values.items() if v is not None and not isinstance(v, _UNKNOWN[1:])}

    def delete(self, table: str, key: dict) -> int:
        self._statements.append(("delete", {"table": table, "key": key}))
        return 1

    def render(self, dialect: str, action: str) -> str:
        q = lambda name: quote_name(name, dialect)  # noqa: E731
        lines = [f"-- canary: {action} rows for target {self.name}, written {clock.utc_now()}",
                 f"-- Review, then apply in one transaction, stopping at the first error: {APPLY[dialect]}",
                 "-- The script is UTF-8; a client reading it in another encoding would garble accented names.",
                 AFTER_APPLY[action].format(name=self.name)]
        if action == "plant" and self.canary_ids:
            lines.append(f"{CANARIES_LINE}{', '.join(map(str, self.canary_ids))}")
        if dialect == "mysql":
            # mysqldump's habit: the client's default character set varies (latin1 on older clients).
            lines += ["SET NAMES utf8mb4;", "START TRANSACTION;"]
        else:
            lines.append("BEGIN;")
        for kind, statement in self._statements:
            table = q(statement["table"])
            if kind == "insert":
                values = statement["values"]
                if values:
                    lines.append(f"INSERT INTO {table} ({', '.join(q(c) for c in values)}) VALUES "
                                 f"({', '.join(expression(v, dialect) for v in values.values())});")
                else:
                    lines.append(f"INSERT INTO {table} () VALUES ();" if dialect == "mysql"
                                 else f"INSERT INTO {table} DEFAULT VALUES;")
            else:
                where = " AND ".join(f"{q(c)} = {expression(v, dialect)}" for c, v in statement["key"].items())
                lines.append(f"DELETE FROM {table} WHERE {where};")
        lines.append("COMMIT;")
        return "\n".join(lines) + "\n"

    def _write(self, action: str) -> list[pathlib.Path]:
        stamp = clock.utc_now().replace(":", "").replace("-", "")    # 20261128T174720.894960Z
        number = 1
        while any((self.directory / f"{self.name}-{stamp}-{action}-{number}.{d}.sql").exists() for d in DIALECTS):
            number += 1
        paths: list[pathlib.Path] = []
        try:
            for dialect in DIALECTS:
                path = self.directory / f"{self.name}-{stamp}-{action}-{number}.{dialect}.sql"
                text = self.render(dialect, action)
                handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".canary-")
                try:
                    with os.fdopen(handle, "w", encoding="utf-8") as out:
                        out.write(text)
                    os.replace(temporary, path)
                finally:
                    pathlib.Path(temporary).unlink(missing_ok=True)
                paths.append(path)
        except OSError as error:
            # No script without its twin, and none for canaries the store is about to forget: a DBA
            # must never apply rows nobody recorded.
            for path in paths:
                path.unlink(missing_ok=True)
            raise PlantingError(f"sql target {self.name}: cannot write its scripts in {self.directory}: "
                                f"{error.strerror or error}") from None
        return paths

    def close(self) -> None:
        self.source.close()
