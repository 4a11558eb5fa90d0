"""How planted values meet the target's column types: what to write, and whether what is there now is what we wrote.

A database hands back its own types (CHAR padded with spaces, DATE for a date written as text,
Decimal for numeric(10,0), 1 for TRUE): `check` compares through the column's type, so a canary
freshly planted is never "altered".
"""
from __future__ import annotations

import datetime as dt
import decimal
import functools
import re
import uuid

from .base import plain

_PRECISION = re.compile(r"\((\d)\)")


@functools.lru_cache(maxsize=1024)
def family(column_type: str) -> str:
    """char, date, timestamp, time, numeric, boolean or text, from a type as the database names it."""
    t = (column_type or "").lower().strip()
    if t.startswith(("char", "character(", "nchar", "bpchar")) and "varying" not in t or t == "character":
        return "char"
    if t == "date":
        return "date"
    if t.startswith(("timestamp", "datetime")):
        return "timestamp"
    if t.startswith("time"):
        return "time"
    if t.startswith(("bool", "tinyint(1)", "bit(1)")):
        return "boolean"
    if any(word in t for word in ("int", "numeric", "decimal", "real", "double", "float", "serial", "number")):
        return "numeric"
    return "text"


@functools.lru_cache(maxsize=1024)
def precision(column_type: str) -> int | None:
    """Fractional-second digits a timestamp column keeps: 'timestamp(3)' -> 3, 'datetime' (MySQL) -> 0."""
    t = (column_type or "").lower()
    found = _PRECISION.search(t)
    if found:
        return int(found.group(1))
    if t in ("datetime", "timestamp"):     # MySQL's, without (N): whole seconds
        return 0
    return None


def for_column(column_type: str, value):
    """The value as the column takes it: a moment into a DATE keeps its day, a date into a timestamp its midnight."""
    kind = family(column_type)
    if kind == "date" and isinstance(value, dt.datetime):
        return value.date()
    if kind == "timestamp" and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    return value


def key_value(value):
    """A key the database returned, as JSON keeps it: numeric(10,0) -> int, uuid -> text."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return plain(value)


def _moment(value) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    try:
        moment = dt.datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=None) if moment.tzinfo else moment


def _number(value) -> decimal.Decimal | None:
    if isinstance(value, bool):
        return decimal.Decimal(int(value))
    try:
        return decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        return None


_TRUE, _FALSE = {"1", "t", "true", "y", "yes", "on"}, {"0", "f", "false", "n", "no", "off"}


def _truth(value) -> bool | None:
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def same_value(written, found, column_type: str = "") -> bool:
    """Compare what we wrote (as the store keeps it) with what the target holds now, through the column's type."""
    written, found = plain(written), plain(found)
    # NULL and '' are one thing in a CSV extract, and nobody hides a canary by blanking a NULL.
    if written in (None, "") or found in (None, ""):
        return written in (None, "") and found in (None, "")
    if str(written) == str(found):
        return True
    kind = family(column_type)
    if kind == "char":
        return str(written).rstrip(" ") == str(found).rstrip(" ")
    if kind in ("date", "timestamp"):
        a, b = _moment(written), _moment(found)
        if a is None or b is None:
            return False
        if kind == "date":
            return a.date() == b.date()
        digits = precision(column_type)
        if digits is not None and digits < 6:
            # The column keeps fewer digits than we wrote: the database rounded, not a thief.
            scale = 10 ** (6 - digits)
            a = a.replace(microsecond=0) + dt.timedelta(microseconds=round(a.microsecond / scale) * scale)
        return a == b
    if kind == "numeric":
        a, b = _number(written), _number(found)
        return a is not None and b is not None and a == b
    if kind == "boolean":
        a, b = _truth(written), _truth(found)
        return a is not None and a == b
    return False
