"""The typed base of the store's parts: what each part may use of `CoreStore`."""
from __future__ import annotations

import contextlib
import sqlite3
from typing import Protocol


class StorePart(Protocol):
    """A part of the store (contacts, registry, ...); `CoreStore` provides these, every part uses only them
    (and public methods of other parts). `CoreStore` subclasses it too, so in `Store`'s MRO it comes after
    CoreStore and never hides the real methods."""

    conn: sqlite3.Connection

    def transaction(self) -> contextlib.AbstractContextManager: ...

    def _insert(self, table: str, row: dict) -> int: ...

    def _rows(self, sql: str, params=()) -> list[dict]: ...

    def _row(self, sql: str, params=()) -> dict | None: ...

    def append_event(self, kind: str, payload: dict, time: str | None = None) -> dict: ...
