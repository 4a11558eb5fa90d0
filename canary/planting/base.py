"""What every target kind offers the planter: its schema, a sample of its rows, a transaction, rows in and out."""
from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol


class PlantingError(ValueError):
    """A target or mapping that cannot be planted into; one line, naming what is wrong."""


@dataclass
class Column:
    name: str
    type: str = ""
    notnull: bool = False
    has_default: bool = False
    primary_key: bool = False
    auto: bool = False          # the database assigns it (INTEGER PRIMARY KEY, identity, serial)
    explicit_key: bool = True   # False: it refuses a key we give (GENERATED ALWAYS AS IDENTITY)


@dataclass
class ForeignKey:
    column: str
    table: str
    ref_column: str


@dataclass
class Table:
    name: str
    columns: dict[str, Column]
    foreign_keys: list[ForeignKey] = field(default_factory=list)

    @property
    def primary_key(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.primary_key]

    def foreign_key(self, column: str) -> ForeignKey | None:
        return next((fk for fk in self.foreign_keys if fk.column == column), None)


Schema = dict[str, Table]


@dataclass(frozen=True)
class ParentKey:
    """The key a parent row got, as a child row refers to it."""
    table: str
    column: str          # the parent's column the child's foreign key points at
    values: tuple        # ((column, value), ...): what the parent row holds, its generated keys included
    lookup: str | None = None   # a unique column that finds the parent from a script

    def value(self):
        """The referenced value when it is known (always, once a direct write returned the keys)."""
        return dict(self.values).get(self.column)


@dataclass(frozen=True)
class Pick:
    """A random existing value of table.column, chosen by the database when the script runs."""
    table: str
    column: str


@dataclass(frozen=True)
class Find:
    """The value of table.column in the one row matching `where` (a lookup table), found when the script runs."""
    table: str
    column: str
    where: tuple          # ((column, value), ...)


@dataclass(frozen=True)
class NextValue:
    """The next value of a database sequence, taken when the script runs."""
    sequence: str


def direct_value(value):
    """What a direct writer inserts for a planned value: a parent's key is known by now; a Pick is not allowed."""
    if isinstance(value, ParentKey):
        return value.value()
    if isinstance(value, (Pick, Find, NextValue)):
        raise PlantingError(f"cannot write {value} without reading the target")
    return value


class Target(Protocol):
    """One writer per target kind: sqlite, postgresql, sql (script), csv."""

    kind: str
    writes_directly: bool     # False: rows go into a script a DBA applies (planted on `confirm`)

    def schema(self) -> Schema: ...

    def sample(self, table: str, columns: list[str], limit: int) -> list[dict]: ...

    def column_values(self, table: str, column: str) -> list: ...

    def transaction(self) -> contextlib.AbstractContextManager: ...

    def insert(self, table: str, values: dict[str, Any], key_columns: list[str],
               lookup: str | None) -> dict: ...

    def fetch(self, table: str, key: dict) -> dict | None: ...

    def delete(self, table: str, key: dict) -> int: ...

    def close(self) -> None: ...


def plain(value):
    """A value as JSON keeps it and as `check` compares it: dates ISO, decimals as text."""
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


@contextlib.contextmanager
def nothing() -> Iterator[None]:
    yield
