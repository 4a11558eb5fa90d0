"""Canary rows placed in the holes of the host's key sequences, where the host's own rows of that time sit.

A row's keys are placed as the host places its own: a table whose keys rise with its dates
(registrations, samples) gets a hole among the rows of that date; one whose keys follow its
parent's (a lab that numbers a patient's files as it enters the patient) gets a hole among
the rows of its parent's neighbours; a table whose keys follow neither gets any hole. A
patient placed in a hole is registered between its two neighbours when the host's keys
follow time, so key, registration date and every derived key (an IPP that carries the year
and the same counter) agree as they do on the host's rows. Without a fitting hole a row
takes the next key, as before.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from . import value_formats
from .base import PlantingError
from .host import _at_time_of_day
from .keyspace import Hole, KeySpace

# A table's keys "follow" its dates or its parent's keys when at least this share of
# neighbouring keys (in a sample of the host's rows) are in that order.
FOLLOWS = 0.9
# A child row goes in a hole at most this far (a share of the table's keys) from where the
# host would have put it; further, it takes the next key.
REACH = 0.01
# Keys that are numbers of their own (a pattern's are its {seq}).
NUMBERED_KEYS = ("auto", "max+1", "sequence")
BEYOND_HOLES = ("next-keys", "wait")


class NoHole(PlantingError):
    """No hole left for a patient, and planting.beyond_holes = "wait": the canary is not planted."""


@dataclass
class Slot:
    keys: dict[str, int]             # generated column -> ordinal (a number, or a pattern's counter)
    moment: dt.datetime | None       # a root row's registration, between its neighbours'


class Backfill:
    """The holes of every generated key column of one target, taken as the canaries of one plant need them."""

    def __init__(self, host, schema, wait: bool = False):
        self.host = host
        self.schema = schema
        self.wait = wait                # planting.beyond_holes = "wait": no hole, no canary
        self._spaces: dict[tuple[str, str], KeySpace] = {}
        self._columns: dict[str, list | None] = {}
        self._orders: dict[str, str | None] = {}
        self._fetched: dict[tuple, dict | None] = {}
        self.patients = 0               # canaries that took a hole (the CLI says how many)

    # -- what a table's keys are ---------------------------------------------------------------
    def columns(self, entry) -> list | None:
        """[(column, pattern or None)] of the entry's generated keys, main key first; None: cannot be placed."""
        if entry.name not in self._columns:
            found = []
            table = self.schema[entry.table]
            for column, spec in entry.columns.items():
                if spec.source != "generate" or spec.argument == "uuid":
                    continue
                if spec.argument in NUMBERED_KEYS:
                    if spec.argument == "auto" and not table.columns[column].explicit_key:
                        found = None     # GENERATED ALWAYS: the database refuses a key we give
                        break
                    found.append((column, None))
                else:
                    found.append((column, spec.options.get("pattern") or self.host.key_pattern(entry.table, column)))
            primary = table.primary_key
            if found == [] and len(primary) == 1 and primary[0] not in entry.columns and table.columns[primary[0]].auto \
                    and table.columns[primary[0]].explicit_key:
                # A key the mapping leaves to the database (rowid, serial): placed as well, or the canary's
                # addresses and results would be the newest rows of their tables.
                found = [(primary[0], None)]
            if found:
                found.sort(key=lambda pair: pair[0] not in primary)
            self._columns[entry.name] = found or None
        return self._columns[entry.name]

    def space(self, table: str, column: str, pattern: str | None) -> KeySpace:
        if (table, column) not in self._spaces:
            ordinals = {}
            for value in self.host.values(table, column):
                ordinal = _ordinal(value, pattern)
                if ordinal is not None:
                    ordinals[ordinal] = value
            self._spaces[(table, column)] = KeySpace(ordinals)
        return self._spaces[(table, column)]

    def order(self, entry) -> str | None:
        """What the host's keys of this table follow: "moment", "parent" or nothing."""
        if entry.name not in self._orders:
            column, pattern = self.columns(entry)[0]
            rows = [(o, row) for row in self.host.sample(entry.table)
                    if (o := _ordinal(row.get(column), pattern)) is not None]
            rows.sort(key=lambda pair: pair[0])
            shares = {}
            for name, read in (("moment", self._moment_of), ("parent", self._parent_of)):
                values = [read(entry, row) for _, row in rows]
                values = [v for v in values if v is not None]
                if len(values) >= 20:
                    shares[name] = sum(b >= a for a, b in zip(values, values[1:])) / (len(values) - 1)
            best = max(shares, key=shares.get, default=None)
            self._orders[entry.name] = (best, shares[best]) if best and shares[best] >= FOLLOWS else (None, 0.0)
        return self._orders[entry.name][0]

    def strict(self, entry) -> bool:
        """Whether the host keeps that order without exception (then so must a canary's row)."""
        self.order(entry)
        return self._orders[entry.name][1] == 1.0

    def holes_left(self, entry) -> int | None:
        """Holes still free in the entry's main key (None: its keys cannot be placed)."""
        columns = self.columns(entry)
        return len(self.space(entry.table, *columns[0])) if columns else None

    # -- slots -------------------------------------------------------------------------------------
    def root_slot(self, entry, rng: random.Random, born: dt.datetime) -> Slot | None:
        """A hole anywhere in the host's history; registered between its neighbours if keys follow time."""
        columns = self.columns(entry)
        if not columns:
            return None
        space = self.space(entry.table, *columns[0])
        follows_time = self.order(entry) == "moment"

        def fits(hole: Hole) -> bool:
            if not follows_time:
                return True
            before, after = self._neighbour_moments(entry, columns[0], space, hole)
            return before is not None and after is not None and before >= born
        hole = space.random_hole(rng, fits)
        if hole is None:
            return None
        moment = None
        if follows_time:
            moment = self._between(*self._neighbour_moments(entry, columns[0], space, hole), rng)
        slot = self._fill(entry, columns, space, hole, whole=True, moment=moment)
        self.patients += slot is not None
        return slot

    def child_slot(self, entry, moment: dt.datetime, parent, rng: random.Random) -> Slot | None:
        """The hole nearest where the host would have put this row: by its date, or by its parent's key."""
        columns = self.columns(entry)
        if not columns:
            return None
        space = self.space(entry.table, *columns[0])
        order = self.order(entry)
        if order is None:
            hole = space.random_hole(rng)
            return self._fill(entry, columns, space, hole, whole=True) if hole else None
        mine = moment if order == "moment" else _sortable(self._parent_value(entry, parent))
        if mine is None:
            return None              # the parent took the next key: so do its rows

        def sits_before(ordinal: int) -> bool:
            """Whether the host's row with this key comes before ours in the order its keys follow."""
            row = self._row(entry, columns[0], space, ordinal)
            theirs = self._moment_of(entry, row) if order == "moment" else _sortable(self._parent_of(entry, row))
            return theirs is not None and theirs <= mine
        position = space.position(sits_before)
        hole = space.nearest_hole(position)
        # Where the host never breaks the order, only the hole right there will do.
        reach = 0 if self.strict(entry) else max(10, REACH * len(space.ordinals))
        if hole is None or abs(hole.after + 1 - position) > reach:
            return None
        return self._fill(entry, columns, space, hole, whole=False)

    def _fill(self, entry, columns, space: KeySpace, hole: Hole, whole: bool, moment=None) -> Slot | None:
        """The main key from the hole; every other generated key at the same distance from the same neighbour
        (the host's IPP counts with its id: so do the canary's), or no slot if that key is taken."""
        ordinal = hole.low
        keys = {columns[0][0]: ordinal}
        neighbour = self._row(entry, columns[0], space, space.ordinals[hole.after])
        for column, pattern in columns[1:]:
            other = self.space(entry.table, column, pattern)
            start = _ordinal(neighbour.get(column), pattern) if neighbour else None
            if start is None:
                return None
            mine = start + ordinal - space.ordinals[hole.after]
            if mine in other.values or other.next_above(start) <= mine:
                return None
            keys[column] = mine
        space.take(hole, whole)
        for column, pattern in columns[1:]:
            self.space(entry.table, column, pattern).values[keys[column]] = None   # taken
        return Slot(keys, moment)

    # -- reading the host's rows around a hole -------------------------------------------------------
    def _row(self, entry, column_pattern, space: KeySpace, ordinal: int) -> dict | None:
        column = column_pattern[0]
        value = space.values.get(ordinal)
        key = (entry.table, column, value)
        if key not in self._fetched:
            self._fetched[key] = self.host.target.fetch(entry.table, {column: value}) if value is not None else None
        return self._fetched[key]

    def _neighbour_moments(self, entry, column_pattern, space: KeySpace, hole: Hole):
        return tuple(self._moment_of(entry, self._row(entry, column_pattern, space, space.ordinals[i]))
                     for i in (hole.after, hole.after + 1))

    def _moment_of(self, entry, row: dict | None) -> dt.datetime | None:
        column = next((c for c, spec in entry.columns.items() if spec.source == "moment"), None)
        if row is None or column is None or row.get(column) in (None, ""):
            return None
        value = row[column]
        form = entry.columns[column].options.get("format") or self.host.date_format(entry.table, column, with_time=True)
        try:
            moment = value if isinstance(value, (dt.date, dt.datetime)) else value_formats.parse_date(str(value), form)
        except ValueError:
            return None
        if not isinstance(moment, dt.datetime):
            moment = dt.datetime.combine(moment, dt.time())
        return moment.replace(tzinfo=None)

    def _parent_column(self, entry) -> str | None:
        return next((c for c, spec in entry.columns.items() if spec.source == "ref" and spec.argument == entry.parent),
                    None)

    def _parent_of(self, entry, row: dict | None):
        column = self._parent_column(entry)
        return None if row is None or column is None else row.get(column)

    def _parent_value(self, entry, parent) -> object:
        """The key this row's parent got, as the row refers to it (unknown when the database assigns it)."""
        column = self._parent_column(entry)
        fk = self.schema[entry.table].foreign_key(column) if column else None
        target = fk.ref_column if fk else (parent.key_columns[0] if parent.key_columns else None)
        value = parent.values.get(target) if target else None
        return value if isinstance(value, (int, str)) else None

    def _between(self, before: dt.datetime, after: dt.datetime, rng: random.Random) -> dt.datetime:
        """A registration between two of the host's, at one of its usual times of day."""
        learnt = (self.host.model or {}).get("registration") or {}
        if after <= before:
            return before
        moment = before + (after - before) * rng.random()
        days = (after.date() - before.date()).days
        for _ in range(30):
            day = dt.datetime.combine(before.date() + dt.timedelta(days=rng.randint(0, days)), dt.time())
            drawn = _at_time_of_day(day, learnt.get("time_of_day"), learnt.get("seconds"), rng, minutes=False)
            if before <= drawn <= after:
                moment = drawn
                break
        else:
            # Neighbours an evening and a morning apart: of the host's usual times, one between them (drawn
            # at random, the time was mostly in the night, when the host registers nobody).
            moment = _usual_time_between(before, after, learnt.get("time_of_day"), rng) or moment
        if not learnt.get("seconds", True):
            moment = moment.replace(second=0)
        return moment.replace(microsecond=0)


def _usual_time_between(before: dt.datetime, after: dt.datetime, histogram, rng: random.Random,
                        width: int = 60) -> dt.datetime | None:
    """A moment in [before, after] in one of the host's time-of-day bins ([[second of day, count]]),
    weighted by their counts; None when the host registers nobody at those hours."""
    if not histogram or (after - before).days > 7:
        return None
    candidates, weights = [], []
    day = dt.datetime.combine(before.date(), dt.time())
    while day <= after:
        for start, count in histogram:
            low = max(before, day + dt.timedelta(seconds=start))
            high = min(after, day + dt.timedelta(seconds=start + width - 1))
            if count > 0 and low <= high:
                candidates.append((low, high))
                weights.append(count)
        day += dt.timedelta(days=1)
    if not candidates:
        return None
    low, high = rng.choices(candidates, weights)[0]
    return low + (high - low) * rng.random()


def _ordinal(value, pattern: str | None) -> int | None:
    """The number a key counts by: the key itself, or a pattern's {seq}."""
    if value is None:
        return None
    if pattern is None:
        text = str(value).strip()
        return int(text) if text.lstrip("-").isdigit() else None
    match = value_formats.pattern_regex(pattern).match(str(value))
    return int(match.group("seq")) if match else None


def _sortable(value):
    if value is None:
        return None
    text = str(value).strip()
    return (0, int(text), "") if text.lstrip("-").isdigit() else (1, 0, text)
