"""What planting learns from a sample of the host's rows: formats, key sequences, picks, region."""
from __future__ import annotations

import collections
import copy
import datetime as dt
import random

from . import value_formats
from .base import Find, NextValue, PlantingError, Pick, Target
from .mapping import Mapping

DEFAULT_SAMPLE_ROWS = 1000
# What we write when the host has no rows to learn from (a fresh schema for a script).
DEFAULT_DATE = "YYYY-MM-DD"
DEFAULT_MOMENT = "YYYY-MM-DD HH:MM:SS"
DEFAULT_PHONE = "spaced"


def _weighted(pairs, rng: random.Random):
    from .blend import _weighted as weighted
    return weighted(pairs, rng)


def _at_time_of_day(day: dt.datetime, histogram, seconds: bool, rng: random.Random, *, minutes: bool = True):
    """`day` at a time of day drawn from the host's ([[minute of day, count]] or [[second bin, count]])."""
    midnight = dt.datetime.combine(day.date(), dt.time())
    if not histogram:
        return midnight + dt.timedelta(hours=rng.randint(7, 18), minutes=rng.randrange(60))
    value = _weighted(histogram, rng)
    offset = dt.timedelta(minutes=value) if minutes else dt.timedelta(seconds=value)
    if seconds:
        offset += dt.timedelta(seconds=rng.randrange(60))
    return midnight + offset


def _offset_moment(parent: dt.datetime, block: dict, rng: random.Random, first: bool = False) -> dt.datetime:
    """Parent time + an offset drawn from the host's quantiles (its first child's, or the others'), in
    its unit; a day or more later, at one of the host's times of day (samples are taken in the morning,
    whenever the patient registered), unless the host counts whole hours."""
    quantiles = (block.get("first_offset_quantiles") if first else None) or block["offset_quantiles"]
    u = rng.random() * (len(quantiles) - 1)
    low, high = quantiles[int(u)], quantiles[min(len(quantiles) - 1, int(u) + 1)]
    unit = block.get("offset_unit", 1)
    seconds = round((low + (high - low) * (u - int(u))) / unit) * unit
    if abs(seconds) < 86400 or unit >= 3600 or not block.get("time_of_day"):
        return parent + dt.timedelta(seconds=seconds)
    day = parent + dt.timedelta(days=seconds // 86400)
    shifts = block.get("day_shift_quantiles")
    if shifts:
        # The host's rows come back near the parent's time of day: so do the canary's.
        u = rng.random() * (len(shifts) - 1)
        shift = shifts[int(u)] + (shifts[min(len(shifts) - 1, int(u) + 1)] - shifts[int(u)]) * (u - int(u))
        moment = dt.datetime.combine(day.date(), dt.time(parent.hour, parent.minute)) + dt.timedelta(minutes=round(shift))
        return moment + dt.timedelta(seconds=rng.randrange(60)) if block.get("seconds") else moment
    return _at_time_of_day(day, block.get("time_of_day"), block.get("seconds"), rng)


class HostProfile:
    """Formats and sequences of one target, read once per plant inside the target's transaction."""

    def __init__(self, target: Target, mapping: Mapping, *, can_read: bool = True,
                 written: list[dict] | None = None):
        self.target = target
        self.mapping = mapping
        self.can_read = can_read
        # Values we wrote before ([{table, values}]): scripts not yet applied still hold their keys.
        self.written = written or []
        self.limit = int(mapping.host.get("sample_rows", DEFAULT_SAMPLE_ROWS))
        self._samples: dict[str, list[dict]] = {}
        self._values: dict[tuple[str, str], list] = {}
        self._counters: dict[tuple, int] = {}
        self._formats: dict[tuple, object] = {}
        self.notes: list[str] = []          # what the operator should know about this plant (shown by the CLI)
        # What planting learnt of the host (model.py), when it can read it: counts and times follow it.
        self.model: dict | None = None
        self.last_registration: dt.datetime | None = None   # the host's latest, read at plant time
        self._children_drawn: dict[tuple, int] = {}
        # Where canaries' rows take keys in the holes of the host's sequences (backfill.py), when planting does.
        self.holes = None

    # -- reading the host ----------------------------------------------------------------
    def sample(self, table: str) -> list[dict]:
        """Up to `sample_rows` random rows of a table, every column the mapping names."""
        if table not in self._samples:
            columns = sorted({c for e in self.mapping.entries if e.table == table
                              for c in [*e.columns, *e.sample, *(s.options.get("by") for s in e.columns.values())]
                              if c})
            self._samples[table] = self.target.sample(table, columns, self.limit) if self.can_read else []
        return self._samples[table]

    def values(self, table: str, column: str) -> list:
        """Every value of one column (keys, for sequences and picks)."""
        if (table, column) not in self._values:
            values = self.target.column_values(table, column) if self.can_read else []
            values += [row["values"][column] for row in self.written
                       if row["table"] == table and row["values"].get(column) is not None]
            self._values[(table, column)] = values
        return self._values[(table, column)]

    def null_share(self, table: str, column: str) -> float:
        """How often the host leaves this column empty."""
        key = ("nulls", table, column)
        if key not in self._formats:
            rows = self.sample(table)
            self._formats[key] = sum(row.get(column) in (None, "") for row in rows) / len(rows) if rows else 0.0
        return self._formats[key]

    def column_sample(self, table: str, column: str) -> list:
        return [row[column] for row in self.sample(table) if row.get(column) is not None]

    # -- formats ---------------------------------------------------------------------------
    def date_format(self, table: str, column: str, *, with_time: bool) -> str:
        key = ("date", table, column)
        if key not in self._formats:
            learnt = value_formats.learn_date_format(self.column_sample(table, column))
            self._formats[key] = learnt or (DEFAULT_MOMENT if with_time else DEFAULT_DATE)
        return self._formats[key]

    def case(self, table: str, column: str) -> str:
        key = ("case", table, column)
        if key not in self._formats:
            self._formats[key] = value_formats.learn_case(self.column_sample(table, column))
        return self._formats[key]

    def ascii_only(self, table: str, column: str) -> bool:
        key = ("ascii", table, column)
        if key not in self._formats:
            self._formats[key] = value_formats.learn_ascii_only(self.column_sample(table, column))
        return self._formats[key]

    def phone_style(self, table: str, column: str) -> str:
        key = ("phone", table, column)
        if key not in self._formats:
            self._formats[key] = value_formats.learn_phone_style(self.column_sample(table, column)) or DEFAULT_PHONE
        return self._formats[key]

    def nir_style(self, table: str, column: str) -> str:
        key = ("nir", table, column)
        if key not in self._formats:
            self._formats[key] = value_formats.learn_nir_style(self.column_sample(table, column))
        return self._formats[key]

    def key_pattern(self, table: str, column: str) -> str:
        key = ("pattern", table, column)
        if key not in self._formats:
            pattern = value_formats.learn_key_pattern(self.values(table, column))
            if pattern is None:
                raise PlantingError(f"{table}.{column}: cannot learn the host's key scheme from its rows; "
                                    "give pattern = \"...\" in the mapping, e.g. \"{yyyy}{seq:6}\"")
            self._formats[key] = pattern
        return self._formats[key]

    # -- keys and picks ----------------------------------------------------------------------
    def next_number(self, table: str, column: str) -> int:
        """max + 1 over the host's values, then one more per call."""
        key = ("max+1", table, column)
        if key not in self._counters:
            numbers = [int(v) for v in self.values(table, column) if str(v).lstrip("-").isdigit()]
            self._counters[key] = max(numbers, default=0) + 1
        value = self._counters[key]
        self._counters[key] += 1
        return value

    def next_sequence(self, table: str, column: str, pattern: str) -> int:
        key = ("seq", table, column, pattern)
        if key not in self._counters:
            self._counters[key] = value_formats.next_sequence(pattern, self.values(table, column))
        value = self._counters[key]
        self._counters[key] += 1
        return value

    def pick(self, table: str, column: str, rng: random.Random):
        """A random existing value (a real physician for a canary's file), or one the script's database picks."""
        if not self.can_read:
            return Pick(table, column)
        values = self.values(table, column)
        return rng.choice(values) if values else None

    def sampled_row(self, table: str, columns: list[str], rng: random.Random) -> dict:
        rows = self.sample(table)
        if not rows:
            raise PlantingError(f"{table}: sample = {columns} needs rows in the host to draw from")
        row = rng.choice(rows)
        return {c: row[c] for c in columns}

    def like_host(self, table: str, column: str, by: str | None, by_value, rng: random.Random):
        """A value this column takes in some host row (of the same `by` group): one value, never a whole row."""
        key = ("like", table, column, by)
        if key not in self._formats:
            pools: dict = collections.defaultdict(list)
            for row in self.sample(table):
                pools[row.get(by) if by else None].append(row[column])
            self._formats[key] = pools
        pool = self._formats[key].get(by_value if by else None)
        return rng.choice(pool) if pool else None

    def scoped(self, table: str, scope: tuple) -> "HostProfile":
        """The host as seen through its rows of one type (address part 'commune', identity 'NIR'): typed rows
        share a column whose habits differ by type (communes in capitals, streets not). Keys stay shared."""
        if not scope:
            return self
        views = self.__dict__.setdefault("_views", {})
        if (table, scope) not in views:
            rows = [r for r in self.sample(table) if all(str(r.get(c)) == str(v) for c, v in scope)]
            view = self
            if rows:
                view = copy.copy(self)
                view._samples = {**self._samples, table: rows}
                view._formats = {}
            views[(table, scope)] = view
        return views[(table, scope)]

    def fraction_digits(self, table: str, column: str) -> int:
        key = ("fraction", table, column)
        if key not in self._formats:
            self._formats[key] = value_formats.learn_fraction_digits(self.column_sample(table, column))
        return self._formats[key]

    # -- lookup tables and the database's own key machinery ---------------------------------------
    def find(self, table: str, column: str, where: dict, place: str):
        """table.column of the one row matching `where` (identity type 'NIR', address part 'commune')."""
        match = tuple(sorted(where.items()))
        if not self.can_read:
            return Find(table, column, match)
        key = ("find", table, column, match)
        if key not in self._formats:
            found = set(self.target.matching_values(table, column, dict(match)))
            condition = " and ".join(f"{c} = {v!r}" for c, v in match)
            if len(found) != 1:
                listed = ", ".join(sorted(map(str, found))[:5])
                raise PlantingError(f"{place}: find = \"{table}.{column}\": {table} has "
                                    f"{'no' if not found else len(found)} rows where {condition}"
                                    f"{' (' + listed + ')' if found else ''}; write where = {{ ... }} so that "
                                    "it names exactly one row of the lookup table")
            self._formats[key] = found.pop()
        return self._formats[key]

    def check_reference(self, fk, value, place: str) -> None:
        """A fixed value in a foreign-key column must name a row of the table it points at."""
        if not self.can_read:
            return
        key = ("reference", fk.table, fk.ref_column, value)
        if key not in self._formats:
            if not self.target.matching_values(fk.table, fk.ref_column, {fk.ref_column: value}):
                raise PlantingError(f"{place}: {value!r} is no {fk.table}.{fk.ref_column}, so the key would dangle: "
                                    f"write a value {fk.table} holds, or find = \"{fk.table}.{fk.ref_column}\", "
                                    "where = { code = \"...\" }")
            self._formats[key] = True

    def next_key(self, table: str, column: str, sequence: str | None):
        """The next value of the sequence the software takes this column's keys from (taken now, or by the script)."""
        if not self.target.writes_directly:
            if not sequence:
                raise PlantingError(f"{table}.{column}: a script takes keys from a sequence it names: write "
                                    "sequence = \"NAME\"")
            return NextValue(sequence)
        next_value = getattr(self.target, "next_value", None)
        if next_value is None:
            raise PlantingError(f"{table}.{column}: a {self.target.kind} target has no sequences: use "
                                "generate = \"auto\" or \"max+1\"")
        return next_value(table, column, sequence)

    def latest_moment(self, now: dt.datetime) -> dt.datetime:
        """The host's most recent activity (a copy frozen in 2020 gets canaries from before then), at most now."""
        clock = self.mapping.host.get("clock", "host")
        if clock == "now":
            return now
        if clock != "host":                 # the date a copy was frozen, given by the mapping
            frozen = dt.datetime.fromisoformat(str(clock))
            return min(frozen.replace(tzinfo=None) if frozen.tzinfo else frozen, now)
        latest = None
        for entry in self.mapping.entries:
            for column, spec in entry.columns.items():
                if spec.source != "moment":
                    continue
                form = spec.options.get("format") or self.date_format(entry.table, column, with_time=True)
                for value in self.column_sample(entry.table, column):
                    try:
                        moment = value if form == "native" else value_formats.parse_date(str(value), form)
                    except ValueError:
                        continue
                    if isinstance(moment, dt.datetime):
                        moment = moment.replace(tzinfo=None)
                    elif isinstance(moment, dt.date):
                        moment = dt.datetime.combine(moment, dt.time(23, 59))
                    latest = moment if latest is None else max(latest, moment)
        if latest is None:
            # Canaries dated months after a frozen copy's last row stand out: never fall back in silence.
            why = ("no column the mapping fills with `moment` has dated host rows" if self.can_read
                   else "the host's rows cannot be read (a script target without [host] database)")
            if "clock" in self.mapping.host and self.can_read:
                raise PlantingError(f"mapping {self.mapping.path}: [host] clock = \"host\" but {why}: write "
                                    "clock = \"now\" (history ends today) or clock = \"YYYY-MM-DD\" (the day "
                                    "the copy was frozen)")
            self.notes.append(f"the canaries' history ends now: {why} (set [host] clock to say so, or to a date)")
            return now
        return min(latest, now)

    # -- counts and times from the model ---------------------------------------------------------
    def _block(self, entry) -> dict | None:
        if not self.model or entry.parent is None:
            return None
        return self.model.get("blocks", {}).get(entry.name)

    def child_count(self, entry, rng: random.Random) -> int:
        """Rows of this block under one parent row, as many as the host's parents have."""
        block = self._block(entry)
        if not block or not block.get("counts") or tuple(entry.count) == (1, 1):
            # One row per parent is the schema's shape (an address, a key-value attribute): keep it.
            return rng.randint(*entry.count)
        counts = block["counts"]
        if any(spec.source == "field" for spec in entry.columns.values()):
            # A contact row (phone, email): whether there is one is the patient's own field.
            counts = [pair for pair in counts if pair[0] > 0] or [[1, 1]]
        return _weighted(counts, rng)

    def siblings_sorted(self, entry, rng: random.Random) -> bool:
        """Whether this parent's rows go in date order (the host's share; always without a model)."""
        block = self._block(entry)
        if not block or "sorted_share" not in block:
            return True
        observed, chance = block["sorted_share"], block.get("random_sorted_share", 0.0)
        if observed <= chance * 1.5:
            return False      # the host keeps no date order: rows drawn one by one are in none either
        return rng.random() < (observed - chance) / max(1e-9, 1 - chance)

    def moment(self, entry, parent: dt.datetime | None, rng: random.Random, now: dt.datetime,
               born: dt.datetime, whole_history: bool = False) -> dt.datetime | None:
        """When this row happened, drawn as the host's rows are; None: the mapping's own rule.

        `whole_history`: a registration from any time of the host's (a patient keyed in a hole among
        older rows), not from its latest months."""
        if not self.model:
            return None
        if entry.parent is None:
            return self._registration(rng, now, born, whole_history)
        block = self._block(entry)
        if not block or parent is None or "median_offset_seconds" not in block:
            return None
        first = self._children_drawn.get((entry.name, parent), 0) == 0
        self._children_drawn[(entry.name, parent)] = self._children_drawn.get((entry.name, parent), 0) + 1
        for _ in range(20):
            if block.get("offset_quantiles") and not block.get("scales_with_age"):
                moment = _offset_moment(parent, block, rng, first)
            elif block.get("absolute") and block.get("offsets_minutes"):
                moment = parent + dt.timedelta(minutes=_weighted(block["offsets_minutes"], rng))
            else:
                fraction = (_weighted(block["fractions"], rng) + rng.random() * 10) / 1000
                day = parent + (now - parent) * min(1.0, max(0.0, fraction))
                moment = _at_time_of_day(day, block.get("time_of_day"), block.get("seconds"), rng)
            if moment < parent and not block.get("negative_share"):
                continue
            if moment <= now:
                return moment
        return None

    def _registration(self, rng: random.Random, now: dt.datetime, born: dt.datetime,
                      whole_history: bool = False) -> dt.datetime | None:
        learnt = self.model.get("registration") or {}
        months = learnt.get("months") if whole_history else None
        months = months or learnt.get("recent_months")
        if not months:
            return None
        if not whole_history and learnt.get("keys_follow_time", 0) >= 0.95 and learnt.get("gap_quantiles") and self.last_registration:
            # Keys rise with time here: the canary, keyed after everyone, registered after everyone,
            # one of the host's usual gaps after the last registration (a time, not a row, is kept).
            gaps = learnt["gap_quantiles"]
            u = rng.random() * (len(gaps) - 1)
            gap = gaps[int(u)] + (gaps[min(len(gaps) - 1, int(u) + 1)] - gaps[int(u)]) * (u - int(u))
            moment = self.last_registration + dt.timedelta(seconds=gap)
            if not learnt.get("seconds"):
                moment = moment.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
            minute_of_day = (moment.hour * 3600 + moment.minute * 60) // 60 * 60
            opening = [start for start, count in learnt.get("time_of_day", []) if count]
            if opening and not opening[0] <= minute_of_day <= opening[-1]:
                # After hours at this host: the next day it is open, at one of its usual times.
                next_day = moment + dt.timedelta(days=1 if minute_of_day > opening[-1] else 0)
                moment = _at_time_of_day(next_day, learnt["time_of_day"], learnt.get("seconds"), rng, minutes=False)
            moment = min(moment.replace(microsecond=0), now)
            self.last_registration = moment
            return max(moment, born)
        for _ in range(30):
            year, month = map(int, _weighted(months, rng).split("-"))
            first = dt.datetime(year, month, 1)
            days = ((first + dt.timedelta(days=32)).replace(day=1) - first).days
            moment = _at_time_of_day(first + dt.timedelta(days=rng.randrange(days)), learnt.get("time_of_day"),
                                     learnt.get("seconds"), rng, minutes=False)
            if born <= moment <= now:
                return moment
        return None

    # -- region ------------------------------------------------------------------------------------
    def departments(self) -> list[tuple[str, int]]:
        """(department, how many host rows) from the column the mapping fills with the postal code."""
        counts = collections.Counter()
        for table, column, spec in self.mapping.fields():
            if spec.argument == "address.postal_code":
                for value in self.column_sample(table, column):
                    text = str(value).strip()
                    if len(text) == 5 and text.isdigit():
                        counts[text[:3] if text.startswith("97") else text[:2]] += 1
        # Corsica's postcodes (20xxx) split into 2A/2B: let the generator choose.
        counts.pop("20", None)
        return counts.most_common()
