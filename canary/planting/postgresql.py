"""PostgreSQL targets, written directly through psycopg 3 in one transaction."""
from __future__ import annotations

import contextlib
import re

from .base import Column, ForeignKey, PlantingError, Schema, Table, direct_value

_COLUMNS = """
SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS notnull, a.atthasdef AS has_default, a.attidentity <> '' AS identity, a.attidentity = 'a' AS identity_always,
       coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS default_expr,
       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p'
               AND a.attnum = ANY (k.conkey)) AS primary_key
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
ORDER BY c.relname, a.attnum
"""
_FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text AS table, a.attname AS column,
       c.confrelid::regclass::text AS ref_table, af.attname AS ref_column
FROM pg_constraint c
JOIN LATERAL unnest(c.conkey, c.confkey) AS k(attnum, fattnum) ON true
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = k.fattnum
WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
"""


_NEXTVAL = re.compile(r"nextval\('([^']+)'")


class _PendingKey:
    """The keys an INSERT ... RETURNING gave, fetched (and its error raised) when first asked for."""

    def __init__(self, cursor, table: str, psycopg):
        self.cursor, self.table, self.psycopg = cursor, table, psycopg

    def result(self) -> dict:
        try:
            return dict(self.cursor.fetchone())
        except self.psycopg.Error as error:
            raise PlantingError(f"{self.table}: {' '.join(str(error).split())}") from None


def _psycopg():
    try:
        import psycopg
    except ImportError:  # pragma: no cover - depends on the installation
        raise PlantingError("postgresql targets need psycopg: pip install 'canary[postgresql]'") from None
    return psycopg


class PostgresqlTarget:
    kind = "postgresql"
    writes_directly = True

    def __init__(self, dsn: str):
        self._defaults: dict[tuple[str, str], str] = {}
        self._pipelined = False
        self._queries: dict[tuple, str] = {}
        psycopg = _psycopg()
        self.psycopg = psycopg
        self.dsn = dsn
        try:
            self.conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10,
                                        row_factory=psycopg.rows.dict_row)
        except psycopg.Error as error:
            raise PlantingError(f"postgresql target: cannot connect ({' '.join(str(error).split())})") from None

    def _execute(self, query, params=()):
        try:
            return self.conn.execute(query, params)
        except self.psycopg.Error as error:
            raise PlantingError(f"postgresql target: {' '.join(str(error).split())}") from None

    def schema(self) -> Schema:
        tables: dict[str, Table] = {}
        for r in self._execute(_COLUMNS):
            auto = r["identity"] or r["default_expr"].startswith("nextval(")
            self._defaults[(r["table"], r["column"])] = r["default_expr"]
            tables.setdefault(r["table"], Table(r["table"], {})).columns[r["column"]] = Column(
                r["column"], r["type"], r["notnull"], r["has_default"] or r["identity"], r["primary_key"], auto,
                not r["identity_always"])
        for r in self._execute(_FOREIGN_KEYS):
            table = r["table"].strip('"')
            if table in tables:
                tables[table].foreign_keys.append(ForeignKey(r["column"], r["ref_table"].strip('"').split(".")[-1],
                                                             r["ref_column"]))
        if not tables:
            raise PlantingError(self._no_tables_hint())
        return tables

    def _no_tables_hint(self) -> str:
        current = self._execute("SELECT current_schema() AS s").fetchone()["s"]
        rows = self._execute("SELECT n.nspname AS s, count(*) AS n FROM pg_class c JOIN pg_namespace n "
                             "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN "
                             "('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%' "
                             "GROUP BY n.nspname ORDER BY n.nspname").fetchall()
        found = ", ".join(f"{r['s']} ({r['n']} tables)" for r in rows)
        return (f"postgresql target: no tables in schema {current or '(none on the search_path)'}"
                + (f"; schemas with tables: {found}: give the target --schema NAME "
                   "(canary target set TARGET --schema NAME)" if found else ""))

    def _ident(self, *names):
        sql = self.psycopg.sql
        return sql.SQL(", ").join(sql.Identifier(n) for n in names)

    def sample(self, table: str, columns: list[str], limit: int) -> list[dict]:
        if not columns:
            return []
        sql = self.psycopg.sql
        # A spread over the whole table that is the same on every run: the same seed plants the same canaries.
        query = sql.SQL("SELECT {} FROM {} ORDER BY md5(ctid::text) LIMIT %s").format(self._ident(*columns),
                                                                                      sql.Identifier(table))
        return self._execute(query, (limit,)).fetchall()

    def column_values(self, table: str, column: str) -> list:
        sql = self.psycopg.sql
        query = sql.SQL("SELECT {c} AS v FROM {t} WHERE {c} IS NOT NULL").format(
            c=sql.Identifier(column), t=sql.Identifier(table))
        return [r["v"] for r in self._execute(query)]

    def matching_values(self, table: str, column: str, where: dict) -> list:
        sql = self.psycopg.sql
        query = sql.SQL("SELECT {} AS v FROM {} WHERE {}").format(sql.Identifier(column), sql.Identifier(table),
                                                                  self._where(where))
        return [r["v"] for r in self._execute(query, list(where.values()))]

    # -- the database's own key machinery -------------------------------------------------------------
    def _sequence_of(self, table: str, column: str, sequence: str | None) -> str | None:
        """The sequence a column's keys come from: named by the mapping, owned (serial, identity) or its default's."""
        if sequence:
            return sequence
        found = self._execute("SELECT pg_get_serial_sequence(quote_ident(%s), %s) AS s", (table, column)).fetchone()
        if found["s"]:
            return found["s"]
        if not self._defaults:
            self.schema()
        match = _NEXTVAL.search(self._defaults.get((table, column), ""))
        return match.group(1) if match else None

    def next_value(self, table: str, column: str, sequence: str | None):
        """nextval() of the column's sequence: the key the lab's software would have taken."""
        name = self._sequence_of(table, column, sequence)
        if name is None:
            raise PlantingError(f"{table}.{column}: no sequence to take keys from: write sequence = \"NAME\" "
                                "(the one the software calls nextval on), or generate = \"auto\" for an "
                                "identity or serial column")
        try:
            return self.conn.execute("SELECT nextval(%s::regclass) AS v", (name,)).fetchone()["v"]
        except self.psycopg.Error as error:
            raise PlantingError(f"{table}.{column}: sequence {name}: {' '.join(str(error).split())}") from None

    def advance_sequences(self, highest: dict) -> None:
        """Keys we numbered ourselves (max+1): the sequence the software draws from must pass them, or its
        next insert would collide with a canary. setval never moves a sequence backwards here."""
        for (table, column), (value, sequence) in highest.items():
            name = self._sequence_of(table, column, sequence)
            if name is None:
                continue
            try:
                self.conn.execute("SELECT setval(%s::regclass, %s) WHERE %s > coalesce("
                                  "pg_sequence_last_value(%s::regclass), 0)", (name, int(value), int(value), name))
            except self.psycopg.Error as error:
                raise PlantingError(f"{table}.{column}: sequence {name}: {' '.join(str(error).split())}") from None

    @contextlib.contextmanager
    def transaction(self):
        try:
            with self.conn.transaction():
                yield self
        except self.psycopg.Error as error:
            raise PlantingError(f"postgresql target: {' '.join(str(error).split())}") from None

    @contextlib.contextmanager
    def pipelined(self):
        """Inside a plant's transaction: rows are sent without waiting for each answer (see insert)."""
        try:
            with self.conn.pipeline():
                self._pipelined = True
                try:
                    yield self
                finally:
                    self._pipelined = False
        except self.psycopg.Error as error:
            raise PlantingError(f"postgresql target: {' '.join(str(error).split())}") from None

    def _insert_query(self, table: str, columns: tuple, key_columns: tuple) -> str:
        """The INSERT for one shape of row, composed once per plant (a thousand canaries write a few shapes)."""
        shape = (table, columns, key_columns)
        if shape not in self._queries:
            sql = self.psycopg.sql
            query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING {}").format(
                sql.Identifier(table), self._ident(*columns),
                sql.SQL(", ").join(sql.Placeholder() for _ in columns), self._ident(*key_columns))
            if not columns:
                query = sql.SQL("INSERT INTO {} DEFAULT VALUES RETURNING {}").format(
                    sql.Identifier(table), self._ident(*key_columns))
            self._queries[shape] = query.as_string(self.conn)
        return self._queries[shape]

    def insert(self, table: str, values: dict, key_columns: list[str], lookup: str | None):
        values = {c: direct_value(v) for c, v in values.items()}
        query = self._insert_query(table, tuple(values), tuple(key_columns))
        try:
            cursor = self.conn.execute(query, list(values.values()))
        except self.psycopg.Error as error:
            raise PlantingError(f"{table}: {' '.join(str(error).split())}") from None
        pending = _PendingKey(cursor, table, self.psycopg)
        # In a pipeline the answer comes later: the planter waits for it only when it needs the key.
        return pending if self._pipelined else pending.result()

    def _where(self, key: dict):
        sql = self.psycopg.sql
        return sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in key)

    def fetch(self, table: str, key: dict) -> dict | None:
        sql = self.psycopg.sql
        query = sql.SQL("SELECT * FROM {} WHERE {}").format(sql.Identifier(table), self._where(key))
        return self._execute(query, list(key.values())).fetchone()

    def delete(self, table: str, key: dict) -> int:
        sql = self.psycopg.sql
        query = sql.SQL("DELETE FROM {} WHERE {}").format(sql.Identifier(table), self._where(key))
        try:
            return self.conn.execute(query, list(key.values())).rowcount
        except self.psycopg.Error as error:
            raise PlantingError(f"{table}: {' '.join(str(error).split())}") from None

    def close(self) -> None:
        self.conn.close()
