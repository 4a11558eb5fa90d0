"""Moving a store to another engine (SQLite to PostgreSQL): every table, evidence log included, checked after."""
from __future__ import annotations

from .core import StoreError

BATCH = 2000


class StoreMover:
    def table_names(self) -> list[str]:
        """The store's tables in the order they were created (parents before the tables referring to them)."""
        return self.dialect.table_names(self.conn)

    def table_counts(self) -> dict[str, int]:
        return {table: self._value(f"SELECT count(*) AS n FROM {table}") for table in self.table_names()}

    def copy_into(self, destination) -> dict[str, int]:
        """Copy every row of this store into `destination` (same schema version, no rows yet), in one
        transaction; then check the destination holds the same rows and an intact chain with the same head."""
        if destination.schema_version != self.schema_version:
            raise StoreError(f"schema {self.schema_version} here but {destination.schema_version} in "
                             f"{destination.describe()}: upgrade both to the same canary first")
        tables = self.table_names()
        missing = set(tables) - set(destination.table_names())
        if missing:
            raise StoreError(f"{destination.describe()} lacks the tables {', '.join(sorted(missing))}")
        occupied = [table for table, count in destination.table_counts().items() if count]
        if occupied:
            raise StoreError(f"{destination.describe()} is not empty (rows in {', '.join(occupied)}): "
                             "moving into it would mix two deployments")
        with self._lock, destination.transaction():
            for table in tables:
                cursor = self.conn.execute(f"SELECT * FROM {table} ORDER BY 1")
                columns = [column[0] for column in cursor.description]
                insert = (f"INSERT INTO {table} ({', '.join(columns)}) "
                          f"VALUES ({', '.join('?' for _ in columns)})")
                while True:
                    rows = [tuple(row) for row in cursor.fetchmany(BATCH)]
                    if not rows:
                        break
                    destination.conn.executemany(insert, rows)
            destination.dialect.after_bulk_insert(destination.conn, tables)
        counts = self.table_counts()
        if destination.table_counts() != counts:
            raise StoreError(f"{destination.describe()}: row counts differ after the copy")
        check = destination.verify_evidence()
        if not check.ok:
            raise StoreError(f"{destination.describe()}: the evidence chain does not verify after the copy "
                             f"(event {check.broken_at}: {check.reason})")
        head = self._row("SELECT seq, hash FROM evidence ORDER BY seq DESC LIMIT 1") or {"seq": 0}
        if (check.head_seq, check.head_hash) != (head["seq"], head.get("hash", check.head_hash)):
            raise StoreError(f"{destination.describe()}: the chain head differs after the copy")
        return counts
