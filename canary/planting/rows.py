"""A canary and a mapping become ordered rows: parents first, keys generated, values in the host's value_formats."""
from __future__ import annotations

import datetime as dt
import random
import re
import uuid
from dataclasses import dataclass, field

from . import value_formats, typed
from .backfill import NUMBERED_KEYS, NoHole
from .base import Find, PlantingError, Schema
from .fields import field_values
from .host import HostProfile
from .mapping import Entry, Mapping, MappingError

_ISO_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
DEFAULT_DAYS_AGO = (30, 5 * 365)
DEFAULT_HOURS = (7, 19)


@dataclass(frozen=True)
class RowRef:
    """The key of an earlier row of the same canary (filled in once that row is written)."""
    index: int
    column: str


@dataclass
class PlannedRow:
    index: int
    entry: Entry
    values: dict                     # column -> value, RowRef or Pick; auto keys absent
    key_columns: list[str]
    moment: dt.datetime
    parent: int | None = None        # index of the row this one was repeated under
    auto: list[str] = field(default_factory=list)

    @property
    def table(self) -> str:
        return self.entry.table


def key_columns(entry: Entry, schema: Schema) -> list[str]:
    if entry.key:
        return entry.key
    primary = schema[entry.table].primary_key
    if primary:
        return primary
    if entry.lookup:
        return [entry.lookup]
    raise MappingError(f"{entry.table}: no primary key in the target; name the columns that find a row "
                       "with key = [...] in its [[table]]")


def build_rows(canary: dict, mapping: Mapping, schema: Schema, host: HostProfile, rng: random.Random,
               now: dt.datetime) -> list[PlannedRow]:
    """Every row one canary needs, in write order."""
    patient = canary["patient"]
    fields = field_values(patient)
    # Nobody is registered at a lab before being born.
    born = dt.datetime.fromisoformat(patient["birth_date"]) + dt.timedelta(days=1)
    rows: list[PlannedRow] = []
    by_entry: dict[str, list[int]] = {}
    for entry in mapping.entries:
        if entry.condition and not entry.condition.holds(fields):
            by_entry[entry.name] = []       # a birth-name row only for a canary that has one
            continue
        if entry.parent is None:
            parents = [None]
        else:
            parents = by_entry.get(entry.parent, [])
        indexes = []
        for parent in parents:
            parent_row = rows[parent] if parent is not None else None
            # How many rows, when, and in which order, as the host has them (host.py, model.py);
            # without a model, siblings in date order so that sequence numbers and dates rise together.
            count = host.child_count(entry, rng)
            # A patient in a hole of the host's keys is registered among its neighbours (backfill.py).
            root_slot = host.holes.root_slot(entry, rng, born) if host.holes and parent_row is None else None
            if root_slot is None and parent_row is None and host.holes is not None and host.holes.wait:
                raise NoHole("no hole left in the host's patient keys")
            moments = [(root_slot.moment if root_slot else None)
                       or host.moment(entry, parent_row.moment if parent_row else None, rng, now, born,
                                      whole_history=root_slot is not None)
                       or _moment(entry, parent_row, rng, now, born) for _ in range(count)]
            in_order = host.siblings_sorted(entry, rng)
            if in_order:
                moments.sort()
            # No hole left near its parent's: the next key. (Dropping the row instead would give the
            # canary fewer files or results than the host's patients have: a plainer tell.)
            slots = [root_slot or (host.holes.child_slot(entry, moment, parent_row, rng)
                                   if host.holes and parent_row is not None else None) for moment in moments]
            if in_order:
                slots = _in_key_order(slots)
            used: set = set()
            for moment, slot in zip(moments, slots):
                row = _plan_row(len(rows), entry, fields, mapping, schema, host, rng, moment, parent_row, rows, used,
                                slot)
                if _without_fields(row, entry):
                    continue
                rows.append(row)
                indexes.append(row.index)
        by_entry[entry.name] = indexes
    return rows


def _in_key_order(slots: list) -> list:
    """Siblings' slots so that keys rise with their (sorted) dates, as a thief reading in key order sees the
    host's: holes are below every next key, so the rows that took one come first, lowest key first."""
    placed = sorted((slot for slot in slots if slot is not None and slot.keys),
                    key=lambda slot: next(iter(slot.keys.values())))
    return placed + [slot for slot in slots if slot is None or not slot.keys]


def _without_fields(row: PlannedRow, entry: Entry) -> bool:
    """A row for a canary field the canary does not have (no email, no phone) is not written."""
    fields = [c for c, spec in entry.columns.items() if spec.source == "field"]
    return entry.parent is not None and bool(fields) and all(row.values.get(c) is None for c in fields)


def _moment(entry: Entry, parent: PlannedRow | None, rng: random.Random, now: dt.datetime,
            born: dt.datetime) -> dt.datetime:
    spec = entry.moment
    if parent is not None and not spec:
        return parent.moment
    low_hour, high_hour = spec.get("hours", DEFAULT_HOURS)

    def at_hour(day: dt.datetime) -> dt.datetime:
        seconds = rng.randint(int(low_hour * 3600), int(high_hour * 3600) - 1)
        return dt.datetime.combine(day.date(), dt.time()) + dt.timedelta(seconds=seconds)

    if "after_parent_hours" in spec and parent is not None:
        low, high = spec["after_parent_hours"]
        moment = parent.moment + dt.timedelta(seconds=rng.randint(int(low * 3600), int(high * 3600)))
    elif spec.get("after_parent") and parent is not None:
        span = max(0, (now - parent.moment).days)
        moment = at_hour(parent.moment + dt.timedelta(days=rng.randint(0, span)))
        if moment < parent.moment:
            moment = parent.moment + dt.timedelta(minutes=rng.randint(1, 120))
    else:
        low, high = spec.get("days_ago", DEFAULT_DAYS_AGO)
        moment = at_hour(now - dt.timedelta(days=rng.randint(int(low), int(high))))
        if moment < born:
            # A newborn: registered the day after birth, at an office hour like anyone else.
            moment = at_hour(born)
    return min(moment, now)


def _plan_row(index, entry, fields, mapping, schema, host, rng, moment, parent, rows, used, slot=None) -> PlannedRow:
    row = PlannedRow(index, entry, {}, key_columns(entry, schema), moment, parent.index if parent else None)
    if entry.sample:
        # Different analyses in one file: redraw a few times rather than repeat one.
        for _ in range(10):
            drawn = host.sampled_row(entry.table, entry.sample, rng)
            if tuple(drawn.values()) not in used:
                break
        used.add(tuple(drawn.values()))
        row.values.update(drawn)
    table = schema[entry.table]
    # Typed rows learn their habits from the host's rows of the same type.
    found = {column: host.find(*spec.argument.split("."), spec.options["where"], f"{entry.table}.{column}")
             for column, spec in entry.columns.items() if spec.source == "find"}
    keys = host
    host = host.scoped(entry.table, tuple((c, v) for c, v in found.items() if not isinstance(v, Find)))
    if slot is not None:
        for column, ordinal in slot.keys.items():
            if column not in entry.columns:
                row.values[column] = ordinal        # a key the mapping leaves to the database, placed
    for column, spec in entry.columns.items():
        where = f"{entry.table}.{column}"
        if spec.condition and not spec.condition.holds(fields):
            continue                        # left to the database's default
        if spec.source == "generate":
            if slot is not None and column in slot.keys:
                ordinal = slot.keys[column]
                row.values[column] = ordinal if spec.argument in NUMBERED_KEYS else \
                    value_formats.render_key(spec.options.get("pattern") or keys.key_pattern(entry.table, column),
                                             ordinal, moment)
                continue
            if spec.argument == "auto":
                row.auto.append(column)
                continue
            if spec.argument == "max+1":
                row.values[column] = keys.next_number(entry.table, column)
                continue
            if spec.argument == "uuid":
                row.values[column] = _uuid(rng, spec.options.get("format", "lower"))
                continue
            if spec.argument == "sequence":
                row.values[column] = keys.next_key(entry.table, column, spec.options.get("sequence"))
                continue
            pattern = spec.options.get("pattern") or keys.key_pattern(entry.table, column)
            try:
                row.values[column] = value_formats.render_key(pattern, keys.next_sequence(entry.table, column, pattern),
                                                        moment)
            except PlantingError as error:
                raise MappingError(f"{where}: {error}") from None
        elif spec.source == "ref":
            ancestor = _ancestor(rows, parent, spec.argument, mapping)
            if ancestor is None:
                raise MappingError(f"{where}: ref = {spec.argument!r} is not an ancestor of this row "
                                   f"(set parent = {spec.argument!r})")
            fk = table.foreign_key(column)
            target_column = fk.ref_column if fk else ancestor.key_columns[0]
            row.values[column] = RowRef(ancestor.index, target_column)
        elif spec.source == "pick":
            other, _, other_column = spec.argument.partition(".")
            row.values[column] = host.pick(other, other_column, rng)
        elif spec.source == "find":
            row.values[column] = found[column]
        elif spec.source == "same":
            row.values[column] = _same(spec.argument, row, rows, parent, mapping, where)
        elif spec.source == "host":
            by = spec.options.get("by")
            row.values[column] = host.like_host(entry.table, column, by, row.values.get(by) if by else None, rng)
        elif spec.source == "moment":
            form = spec.options.get("format") or host.date_format(entry.table, column, with_time=True)
            # Written as the host writes it, down to the microseconds its own rows carry (or their absence).
            digits = value_formats.fraction_digits(form) if form != "native" else host.fraction_digits(entry.table, column)
            stamped = moment.replace(microsecond=rng.randrange(10 ** 6) // 10 ** (6 - digits) * 10 ** (6 - digits)
                                     if digits else 0)
            row.values[column] = value_formats.format_date(stamped, form)
        elif spec.source == "value":
            row.values[column] = spec.argument
            fk = table.foreign_key(column)
            if fk is not None and spec.argument is not None:
                host.check_reference(fk, spec.argument, where)
        else:
            row.values[column] = _field_value(spec, fields, host, entry.table, column, where)
        # A patient drawn from the host's model is already empty at the host's rates.
        drawn_empty = spec.source == "field" and host.model is not None
        if not drawn_empty and spec.options.get("nulls") == "host" and rng.random() < host.null_share(
                entry.table, column):
            row.values[column] = None
        if column in table.columns:
            row.values[column] = typed.for_column(table.columns[column].type, row.values[column])
    return row


def _uuid(rng: random.Random, form: str) -> str:
    """A random (version 4) UUID from the plant's seeded rng: the same seed plants the same canaries."""
    value = uuid.UUID(int=rng.getrandbits(128), version=4)
    return {"lower": str(value), "upper": str(value).upper(), "hex": value.hex, "braces": "{" + str(value) + "}"}[form]


def _same(argument: str, row: PlannedRow, rows: list[PlannedRow], parent, mapping, where: str):
    """The value this canary's row of BLOCK holds in COLUMN (a generated id in two places, for instance)."""
    block, _, column = argument.partition(".")
    source = row if block == row.entry.name else _ancestor(rows, parent, block, mapping)
    if source is None:
        raise MappingError(f"{where}: same = {argument!r}: {block} is not an ancestor of this row "
                           f"(set parent = {block!r})")
    if column in source.values:
        return source.values[column]
    if column in source.auto or column in source.key_columns:
        return RowRef(source.index, column)      # the database assigns it: known once that row is written
    return None


def _ancestor(rows, parent, name, mapping) -> PlannedRow | None:
    current = parent
    while current is not None:
        if current.entry.name == name:
            return current
        current = rows[current.parent] if current.parent is not None else None
    # A root block (one row per canary) is everyone's ancestor.
    return next((r for r in rows if r.entry.name == name and mapping.entry(name).parent is None), None)


def field_of(fields: dict, path: str, where: str):
    if path not in fields:
        raise MappingError(f"{where}: field {path!r} is not a canary field (fields: {', '.join(sorted(fields))})")
    return fields[path]


def _field_value(spec, fields, host: HostProfile, table: str, column: str, where: str):
    value = field_of(fields, spec.argument, where)
    same = spec.options.get("null_if_same")
    if same is not None and value == field_of(fields, same, where):
        value = None
    if "map" in spec.options and value is not None:
        mapped = spec.options["map"]
        if str(value) not in mapped:
            raise MappingError(f"{where}: map has no entry for {value!r} (it maps {', '.join(map(str, mapped))})")
        value = mapped[str(value)]
    if value is None:
        value = spec.options.get("default")
    if value is None or not isinstance(value, str):
        return value
    form = spec.options.get("format")
    if _ISO_DATE.match(value):
        form = form or host.date_format(table, column, with_time=False)
        return value_formats.format_date(dt.date.fromisoformat(value), form)
    if spec.argument.split(".")[-1] == "phone" and value.startswith("+"):
        return value_formats.format_phone(value, form or host.phone_style(table, column))
    if spec.argument == "nir":
        form = form if form in value_formats.NIR_STYLES else host.nir_style(table, column)
        return value_formats.format_nir(value, form)
    if form in (None, "learn"):
        form = host.case(table, column)
    if form not in value_formats.CASES:
        raise MappingError(f"{where}: format {form!r} for text: use one of {', '.join(value_formats.CASES)}")
    if host.ascii_only(table, column):
        value = value_formats.strip_accents(value)
    return value_formats.apply_case(value, form)
