"""Database files as leaks: a raw SQLite copy, and PostgreSQL custom-format dumps (`pg_dump -Fc`).

Each table's rows become records labelled `FILE!TABLE` and numbered by row (SQLite's rowid,
or the row's place in the dump), so a match says which table and row it sits in.

A leaked database is hostile input. SQLite files are opened read-only and immutable (no
journal, no lock, no write ever reaches the file), with extension loading off, untrusted
schema (views, triggers and generated columns may not call functions with side effects),
no views or virtual tables read, cell checks on, and bounded value sizes. Custom-format
dumps are turned into SQL text by `pg_restore -f -`, which never connects to a server.
"""
from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import sqlite3
import subprocess
import tempfile
import time
import urllib.parse
from typing import BinaryIO, Iterator

from .file_formats import BLOCK_BYTES, Block, Member, _counted
from .errors import ScanInputError, TruncatedInput
from .layers import Layer, _peek
from .limits import ScanBudget, ScanLimits

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
_ROW_SEPARATOR = b";"


def sniff_database(head: bytes) -> str | None:
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "pg_dump"
    return None


def read_database(layer: Layer) -> tuple[Member, Iterator[Block]] | None:
    """The member and blocks of a database file, or None when the layer is not one."""
    kind = sniff_database(_peek(layer.stream, len(SQLITE_MAGIC)))
    if kind is None:
        return None
    member = Member(layer.name, layer.compression, encoding="utf-8", format=kind, unit="row")
    budget = layer.budget = layer.budget or ScanLimits().budget(layer.name)
    reader = _sqlite_blocks if kind == "sqlite" else _pg_dump_blocks
    return member, _counted(member, reader(layer), budget)


# -- SQLite ------------------------------------------------------------------------------------
def _sqlite_blocks(layer: Layer) -> Iterator[Block]:
    with _on_disk(layer) as path:
        connection = _open_sqlite(path, layer.name, layer.budget)
        try:
            for table in _tables(connection, layer.name):
                yield from _table_blocks(connection, table, f"{layer.name}!{table}", layer.name)
        finally:
            connection.close()


def _open_sqlite(path: str, name: str, budget: ScanBudget) -> sqlite3.Connection:
    uri = f"file:{urllib.parse.quote(path)}?mode=ro&immutable=1"
    try:
        connection = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as error:
        raise ScanInputError(f"{name}: cannot open the SQLite database ({error})") from None
    if hasattr(connection, "enable_load_extension"):   # absent when Python was built without it: off anyway
        connection.enable_load_extension(False)
    # A value longer than a record may be (scan.max_record_bytes) is an error, not a memory blow-up.
    connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, budget.limits.max_record_bytes)
    # Bounded time: SQLite calls this every 100,000 steps; a true return aborts the query.
    connection.set_progress_handler(lambda: time.monotonic() > budget.deadline, 100_000)
    connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    connection.text_factory = bytes          # values as stored: no decoding error on a hostile file
    for pragma in ("trusted_schema = OFF", "query_only = ON", "cell_size_check = ON", "mmap_size = 0"):
        connection.execute(f"PRAGMA {pragma}")
    return connection


def _tables(connection: sqlite3.Connection, name: str) -> list[str]:
    """Ordinary tables (not views, not virtual tables: their data sits in shadow tables we read anyway)."""
    try:
        rows = connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY rowid").fetchall()
    except sqlite3.DatabaseError as error:
        raise ScanInputError(f"{name}: not a readable SQLite database ({error})") from None
    tables = []
    for table, sql in rows:
        if (sql or b"").lstrip()[:14].upper().startswith(b"CREATE VIRTUAL"):
            continue
        tables.append(table.decode("utf-8", "replace"))
    return tables


def _table_blocks(connection: sqlite3.Connection, table: str, label: str, name: str) -> Iterator[Block]:
    quoted = '"' + table.replace('"', '""') + '"'
    try:
        cursor = connection.execute(f"SELECT _rowid_, * FROM {quoted}")
        numbered = True
    except sqlite3.OperationalError:                      # WITHOUT ROWID: number the rows ourselves
        cursor = connection.execute(f"SELECT * FROM {quoted}")
        numbered = False
    numbers, records, size, place = [], [], 0, 0
    try:
        for row in cursor:
            place += 1
            number = row[0] if numbered and isinstance(row[0], int) else place
            record = _record(row[1:] if numbered else row)
            numbers.append(number)
            records.append(record)
            size += len(record) + 1
            if size >= BLOCK_BYTES:
                yield label, numbers, b"\n".join(records)
                numbers, records, size = [], [], 0
    except sqlite3.DatabaseError as error:
        if "interrupted" in str(error):
            raise ScanInputError(f"{label}: reading it takes too long (limit scan.max_seconds)") from None
        raise TruncatedInput(f"{label}: damaged SQLite data after {place:,} rows ({error})") from None
    if records:
        yield label, numbers, b"\n".join(records)


def _record(values) -> bytes:
    """One row as one record: values joined by ';', line breaks flattened."""
    parts = []
    for value in values:
        if value is None:
            parts.append(b"")
        elif isinstance(value, bytes):
            parts.append(value)
        else:
            parts.append(str(value).encode())
    return _ROW_SEPARATOR.join(parts).replace(b"\n", b" ").replace(b"\r", b" ")


# -- PostgreSQL custom-format dumps -----------------------------------------------------------
def _pg_dump_blocks(layer: Layer) -> Iterator[Block]:
    program = shutil.which("pg_restore")
    if program is None:
        raise ScanInputError(f"{layer.name}: a PostgreSQL custom-format dump (pg_dump -Fc); install pg_restore "
                             "(Debian: postgresql-client) to scan it")
    with _on_disk(layer) as path, tempfile.TemporaryFile() as errors:
        # -f -: SQL text on stdout, no server involved; the dump's COPY blocks hold the rows.
        # stderr to a file: a pipe nobody reads would stall pg_restore once full.
        process = subprocess.Popen([program, "--data-only", "-f", "-", path], stdout=subprocess.PIPE,
                                   stderr=errors, stdin=subprocess.DEVNULL)
        try:
            yield from _copy_blocks(process.stdout, layer.name)
            if process.wait() != 0:
                errors.seek(0)
                said = " ".join(errors.read(4096).decode("utf-8", "replace").split())
                raise ScanInputError(f"{layer.name}: pg_restore cannot read this dump "
                                     f"({said or 'exit ' + str(process.returncode)})")
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            process.stdout.close()


def _copy_blocks(stream: BinaryIO, name: str) -> Iterator[Block]:
    """Rows of each `COPY table (...) FROM stdin;` block, numbered within their table."""
    label, numbers, records, size, row = None, [], [], 0, 0
    for line in stream:
        if label is None:
            if line.startswith(b"COPY ") and line.rstrip().endswith(b"FROM stdin;"):
                table = line[5:].split(b" (", 1)[0].split(b" FROM", 1)[0].decode("utf-8", "replace")
                label, row = f"{name}!{table}", 0
            continue
        if line.rstrip(b"\r\n") == b"\\.":
            if records:
                yield label, numbers, b"\n".join(records)
            label, numbers, records, size = None, [], [], 0
            continue
        row += 1
        numbers.append(row)
        records.append(line.rstrip(b"\r\n"))
        size += len(line)
        if size >= BLOCK_BYTES:
            yield label, numbers, b"\n".join(records)
            numbers, records, size = [], [], 0
    if label is not None and records:
        yield label, numbers, b"\n".join(records)


# -- shared ------------------------------------------------------------------------------------
@contextlib.contextmanager
def _on_disk(layer: Layer):
    """A path to the layer's bytes: the file itself when it is one, else a private temporary copy."""
    raw = layer.stream
    path = getattr(raw, "name", None)
    if not layer.compression and isinstance(path, str) and os.path.isfile(path):
        yield path
        return
    budget = layer.budget
    with tempfile.TemporaryDirectory(prefix="canary-scan-") as folder:
        copy = pathlib.Path(folder) / "database"
        written = 0
        with open(copy, "wb") as out:
            while chunk := raw.read(1 << 20):
                written += len(chunk)
                if written > budget.limits.max_temp_bytes:
                    raise budget.exceeded("max_temp_bytes", "the database is too large to spool to temporary disk")
                out.write(chunk)
                budget.check_time()
        yield str(copy)
