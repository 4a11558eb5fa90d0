"""MySQL and MariaDB targets, written directly through PyMySQL in one transaction.

Location: mysql://USER@HOST[:PORT]/DATABASE, or mysql://USER@localhost/DATABASE?unix_socket=/run/mysqld/mysqld.sock
(a password goes in the canary user's ~/.my.cnf, [client] section, never in the location).
"""
from __future__ import annotations

import contextlib
import os
import re
import urllib.parse

from .base import Column, ForeignKey, PlantingError, Schema, Table, direct_value

SCHEMES = ("mysql://", "mariadb://")
_COLUMNS = """
SELECT TABLE_NAME AS t, COLUMN_NAME AS c, COLUMN_TYPE AS type, IS_NULLABLE AS nullable,
       COLUMN_DEFAULT AS dflt, EXTRA AS extra, COLUMN_KEY AS ckey
FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION
"""
_FOREIGN_KEYS = """
SELECT TABLE_NAME AS t, COLUMN_NAME AS c, REFERENCED_TABLE_NAME AS rt, REFERENCED_COLUMN_NAME AS rc
FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL
"""
# MariaDB writes a sequence default as nextval(`db`.`seq`) (or NEXT VALUE FOR ...).
_NEXTVAL = re.compile(r"nextval\((?:`[^`]+`\.)?`?([^`)]+)`?\)|next value for (?:`[^`]+`\.)?`?([^` ]+)`?", re.I)


def is_mysql_location(location: str) -> bool:
    return location.startswith(SCHEMES)


def connection_arguments(location: str) -> dict:
    """PyMySQL's connect() arguments from a mysql:// location; a password in it is refused."""
    url = urllib.parse.urlsplit(location)
    if url.password:
        raise PlantingError("mysql target: keep the password out of the location (it would be stored and logged "
                            "for good); put it in the canary user's ~/.my.cnf, [client] section")
    database = url.path.lstrip("/")
    if not database:
        raise PlantingError(f"mysql target {location}: name the database, e.g. mysql://lims@db.lab.example/lims")
    query = dict(urllib.parse.parse_qsl(url.query))
    arguments = {"database": urllib.parse.unquote(database), "user": urllib.parse.unquote(url.username or "")
                 or None, "charset": "utf8mb4", "connect_timeout": 10, "autocommit": True}
    if query.get("unix_socket"):
        arguments["unix_socket"] = query["unix_socket"]
    else:
        arguments["host"] = url.hostname or "localhost"
        arguments["port"] = url.port or 3306
    option_file = os.path.expanduser("~/.my.cnf")
    if os.path.isfile(option_file):
        arguments["read_default_file"] = option_file
    return arguments


def _pymysql():
    try:
        import pymysql
    except ImportError:  # pragma: no cover - depends on the installation
        raise PlantingError("mysql targets need PyMySQL: pip install 'canary[mysql]'") from None
    return pymysql


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class MysqlTarget:
    kind = "mysql"
    writes_directly = True

    def __init__(self, location: str):
        self.pymysql = _pymysql()
        self.location = location
        try:
            self.conn = self.pymysql.connect(**connection_arguments(location),
                                             cursorclass=self.pymysql.cursors.DictCursor)
        except self.pymysql.Error as error:
            raise PlantingError(f"mysql target: cannot connect ({_text(error)})") from None
        version = self.conn.get_server_info()
        major_minor = tuple(int(n) for n in re.findall(r"\d+", version.split("-MariaDB")[0].split("5.5.5-")[-1])[:2])
        # MariaDB 10.5+ returns the keys the database gave (a sequence default, not only AUTO_INCREMENT).
        self.returning = "MariaDB" in version and major_minor >= (10, 5)
        self._defaults: dict[tuple[str, str], str] = {}

    def _execute(self, query: str, params=(), where: str = "mysql target"):
        try:
            cursor = self.conn.cursor()
            cursor.execute(query, params)
            return cursor
        except self.pymysql.Error as error:
            raise PlantingError(f"{where}: {_text(error)}") from None

    def schema(self) -> Schema:
        tables: dict[str, Table] = {}
        for r in self._execute(_COLUMNS).fetchall():
            default = r["dflt"] if r["dflt"] not in (None, "NULL") else None
            auto = "auto_increment" in (r["extra"] or "").lower() or bool(default and _NEXTVAL.search(default))
            self._defaults[(r["t"], r["c"])] = default or ""
            tables.setdefault(r["t"], Table(r["t"], {})).columns[r["c"]] = Column(
                r["c"], r["type"], r["nullable"] == "NO", default is not None or auto, r["ckey"] == "PRI", auto)
        for r in self._execute(_FOREIGN_KEYS).fetchall():
            if r["t"] in tables:
                tables[r["t"]].foreign_keys.append(ForeignKey(r["c"], r["rt"], r["rc"]))
        if not tables:
            raise PlantingError(self._no_tables_hint())
        return tables

    def _no_tables_hint(self) -> str:
        rows = self._execute("SELECT TABLE_SCHEMA AS s, count(*) AS n FROM information_schema.TABLES WHERE "
                             "TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') "
                             "GROUP BY TABLE_SCHEMA ORDER BY TABLE_SCHEMA").fetchall()
        found = ", ".join(f"{r['s']} ({r['n']} tables)" for r in rows)
        return (f"mysql target {self.location}: its database has no tables"
                + (f"; databases with tables: {found}: name one in the location (mysql://USER@HOST/DATABASE)"
                   if found else ""))

    def sample(self, table: str, columns: list[str], limit: int) -> list[dict]:
        if not columns:
            return []
        cols = ", ".join(quote(c) for c in columns)
        # A spread over the whole table that is the same on every run: the same seed plants the same canaries.
        order = "MD5(CONCAT_WS('|', " + cols + "))"
        return list(self._execute(f"SELECT {cols} FROM {quote(table)} ORDER BY {order} LIMIT %s", (limit,)))

    def column_values(self, table: str, column: str) -> list:
        c = quote(column)
        return [r["v"] for r in self._execute(f"SELECT {c} AS v FROM {quote(table)} WHERE {c} IS NOT NULL")]

    def matching_values(self, table: str, column: str, where: dict) -> list:
        condition = " AND ".join(f"{quote(c)} = %s" for c in where)
        return [r["v"] for r in self._execute(f"SELECT {quote(column)} AS v FROM {quote(table)} WHERE {condition}",
                                              list(where.values()))]

    @contextlib.contextmanager
    def transaction(self):
        try:
            self.conn.begin()
        except self.pymysql.Error as error:
            raise PlantingError(f"mysql target: {_text(error)}") from None
        try:
            yield self
        except BaseException:
            self.conn.rollback()
            raise
        try:
            self.conn.commit()
        except self.pymysql.Error as error:
            raise PlantingError(f"mysql target: {_text(error)}") from None

    def insert(self, table: str, values: dict, key_columns: list[str], lookup: str | None) -> dict:
        values = {c: direct_value(v) for c, v in values.items()}
        cols = ", ".join(quote(c) for c in values)
        marks = ", ".join("%s" for _ in values)
        query = f"INSERT INTO {quote(table)} ({cols}) VALUES ({marks})"
        missing = [c for c in key_columns if c not in values]
        if missing and self.returning:
            cursor = self._execute(query + " RETURNING " + ", ".join(quote(c) for c in key_columns),
                                   list(values.values()), table)
            return dict(cursor.fetchone())
        cursor = self._execute(query, list(values.values()), table)
        return {c: values[c] if c in values else cursor.lastrowid for c in key_columns}

    def _where(self, key: dict) -> str:
        return " AND ".join(f"{quote(c)} = %s" for c in key)

    def fetch(self, table: str, key: dict) -> dict | None:
        return self._execute(f"SELECT * FROM {quote(table)} WHERE {self._where(key)}", list(key.values())).fetchone()

    def delete(self, table: str, key: dict) -> int:
        return self._execute(f"DELETE FROM {quote(table)} WHERE {self._where(key)}", list(key.values()),
                             table).rowcount

    # -- the database's own key machinery -------------------------------------------------------------
    def _sequence_of(self, table: str, column: str, sequence: str | None) -> str | None:
        if sequence:
            return sequence
        if not self._defaults:
            self.schema()
        found = _NEXTVAL.search(self._defaults.get((table, column), ""))
        return (found.group(1) or found.group(2)) if found else None

    def next_value(self, table: str, column: str, sequence: str | None):
        """NEXTVAL of the column's MariaDB sequence (named, or its default's)."""
        name = self._sequence_of(table, column, sequence)
        if name is None:
            raise PlantingError(f"{table}.{column}: no sequence to take keys from: write sequence = \"NAME\" "
                                "(MariaDB CREATE SEQUENCE), or generate = \"auto\" for an AUTO_INCREMENT column")
        return self._execute(f"SELECT NEXTVAL({quote(name)}) AS v", (), f"{table}.{column}").fetchone()["v"]

    def advance_sequences(self, highest: dict) -> None:
        """Keys we numbered ourselves: the sequence the software draws from must pass them.

        AUTO_INCREMENT follows an explicit key by itself (InnoDB); a MariaDB sequence needs SETVAL,
        which never moves one backwards.
        """
        for (table, column), (value, sequence) in highest.items():
            name = self._sequence_of(table, column, sequence)
            if name is not None:
                self._execute(f"SELECT SETVAL({quote(name)}, %s)", (int(value),), f"{table}.{column}")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()


def _text(error) -> str:
    return " ".join(str(error.args[-1] if error.args else error).split())
