"""CSV extracts: canaries appended in the extract's own dialect, encoding and line endings.

The extract is one table, named after the file (patients.csv -> "patients"), whose columns
are the header's. Retiring rewrites the file without the canaries' rows, atomically.
"""
from __future__ import annotations

import contextlib
import csv
import io
import os
import pathlib
import random
import tempfile

from .base import Column, PlantingError, Schema, Table

ENCODINGS = ("utf-8-sig", "utf-8", "cp1252")


class CsvTarget:
    kind = "csv"
    writes_directly = True

    def __init__(self, location: str):
        self.path = pathlib.Path(location).expanduser()
        try:
            raw = self.path.read_bytes()
        except OSError as error:
            raise PlantingError(f"csv target {location}: {error.strerror}") from None
        for encoding in ENCODINGS:
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        self.encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        self.newline = "\r\n" if "\r\n" in text[:65536] else "\n"
        self.ends_with_newline = text.endswith(("\n", "\r"))
        try:
            self.dialect = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|")
        except csv.Error:
            self.dialect = csv.excel
        reader = csv.DictReader(io.StringIO(text, newline=""), dialect=self.dialect)
        if not reader.fieldnames:
            raise PlantingError(f"csv target {location}: no header line")
        self.header = list(reader.fieldnames)
        self.rows = list(reader)
        self.table = self.path.stem
        self._appended: list[dict] | None = None
        self._deleted: list[dict] = []

    def schema(self) -> Schema:
        return {self.table: Table(self.table, {name: Column(name) for name in self.header})}

    def _check_table(self, table: str) -> None:
        if table != self.table:
            raise PlantingError(f"csv target {self.path}: the extract's table is {self.table!r}, not {table!r}")

    def sample(self, table, columns, limit):
        self._check_table(table)
        rows = random.Random(len(self.rows)).sample(self.rows, min(limit, len(self.rows)))
        return [{c: (row.get(c) or None) for c in columns} for row in rows]

    def column_values(self, table, column):
        self._check_table(table)
        return [row[column] for row in self.rows if row.get(column)]

    @contextlib.contextmanager
    def transaction(self):
        self._appended, self._deleted = [], []
        try:
            yield self
            if self._deleted:
                self._rewrite()
            elif self._appended:
                self._append()
        finally:
            self._appended, self._deleted = None, []

    def _line_writer(self, out):
        return csv.DictWriter(out, fieldnames=self.header, dialect=self.dialect, lineterminator=self.newline)

    def _encode(self, text: str) -> bytes:
        try:
            return text.encode(self.encoding)
        except UnicodeEncodeError as error:
            raise PlantingError(f"csv target {self.path}: {error.object[error.start:error.end]!r} cannot be "
                                f"written in the extract's encoding ({self.encoding})") from None

    def _append(self) -> None:
        buffer = io.StringIO(newline="")
        if not self.ends_with_newline:
            buffer.write(self.newline)
        self._line_writer(buffer).writerows(self._appended)
        data = self._encode(buffer.getvalue())
        with open(self.path, "ab") as out:
            size = out.tell()
            try:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            except OSError as error:
                # A full disk mid-append: cut the partial rows off, the extract is as it was.
                out.truncate(size)
                raise PlantingError(f"csv target {self.path}: {error.strerror or error}") from None
        self.rows.extend(self._appended)

    def _rewrite(self) -> None:
        kept = [row for row in self.rows if not any(_matches(row, key) for key in self._deleted)] + self._appended
        buffer = io.StringIO(newline="")
        writer = self._line_writer(buffer)
        writer.writeheader()
        writer.writerows(kept)
        data = self._encode(buffer.getvalue())
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".canary-")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, self.path)
        self.rows = kept

    def insert(self, table, values, key_columns, lookup):
        self._check_table(table)
        row = {c: "" if values.get(c) is None else str(values[c]) for c in self.header}
        self._appended.append(row)
        return {c: row[c] for c in key_columns}

    def fetch(self, table, key):
        self._check_table(table)
        return next((row for row in self.rows if _matches(row, key)), None)

    def delete(self, table, key):
        self._check_table(table)
        self._deleted.append(key)
        return sum(_matches(row, key) for row in self.rows)

    def close(self) -> None:
        pass


def _matches(row: dict, key: dict) -> bool:
    return all(str(row.get(c, "")) == str(v) for c, v in key.items())
