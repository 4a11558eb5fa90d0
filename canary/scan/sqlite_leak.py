"""SQLite databases as leaks: a stolen copy of a lab's database file is scanned table by table.

SQLite reads files, not streams, so the member is copied to a private temporary file (at
most scan.max_temp_bytes) and opened read-only; sqlite-utils lists its tables and reads their
rows. Each row is one record: its values separated by tabs (as a CSV line would be), its
number the row's position in its table; matches name `file.db!table`.
"""
from __future__ import annotations

import pathlib
import sqlite3
import tempfile
from typing import Iterator

import sqlite_utils

from .errors import ScanInputError

MAGIC = b"SQLite format 3\x00"


def _text(value) -> str:
    if value is None or isinstance(value, bytes):   # a BLOB holds no identifier a person typed
        return ""
    return " ".join(str(value).split())   # one record per row: its line breaks become spaces


def sqlite_records(name: str, blocks: Iterator[bytes], budget) -> Iterator[tuple[str, int, bytes]]:
    """(label, row number, record) for every row of every table of the database in `blocks`."""
    with tempfile.TemporaryDirectory(prefix="canary-scan-") as folder:
        path = pathlib.Path(folder) / "leak.sqlite"
        written, cap = 0, budget.limits.max_temp_bytes
        with open(path, "wb") as copy:
            for block in blocks:
                written += len(block)
                if written > cap:
                    raise budget.exceeded("max_temp_bytes", "a SQLite database too large to copy to temporary disk")
                copy.write(block)
                budget.check_time()
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            database = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
            for table in database.table_names():
                if table.startswith("sqlite_"):
                    continue
                for number, row in enumerate(database.table(table).rows, 1):
                    budget.check_time()
                    yield f"{name}!{table}", number, "\t".join(_text(v) for v in row.values()).encode("utf-8")
        except sqlite3.DatabaseError as error:
            raise ScanInputError(f"{name}: damaged SQLite database ({error})") from None
        finally:
            conn.close()
