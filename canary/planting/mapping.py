"""Mapping files (TOML): how one canary becomes rows of a target's schema, and checking them against it.

    [[table]]
    name = "patient"                      # rows are written in file order: parents first
    lookup = "ipp"                        # a unique column that finds the row again from a SQL script
    moment = { days_ago = [30, 1800] }    # when the canary's history starts; children follow it
    [table.columns]
    ipp = { generate = "pattern" }          # the host's scheme, e.g. {yyyy}{seq:6}; dates from the row's moment
    nom_usage = { field = "last_name" }   # format learnt from the host's rows unless given
    date_naissance = { field = "birth_date", format = "DD/MM/YYYY" }
    medecin_traitant_id = { pick = "medecin.id" }

    [[table]]
    name = "dossier"
    count = [1, 3]                        # child rows per parent row, so a canary has a history
    [table.columns]
    patient_id = { ref = "patient" }

docs/reference/mapping.md describes every key.
"""
from __future__ import annotations

import functools
import pathlib
import tomllib
from dataclasses import dataclass, field

from .base import PlantingError, Schema

SOURCES = ("field", "value", "ref", "pick", "generate", "moment", "host")
OPTIONS = {"format", "map", "null_if_same", "pattern", "by", "default", "nulls"}
GENERATORS = ("auto", "max+1", "pattern")
TABLE_KEYS = {"name", "as", "parent", "count", "key", "lookup", "moment", "sample", "columns"}
HOST_KEYS = {"schema", "database", "sample_rows", "clock"}


class MappingError(PlantingError):
    """A mapping that does not fit its target; the message names the file, table and column."""


@dataclass
class ColumnSpec:
    column: str
    source: str                     # one of SOURCES
    argument: object                # field path, constant, entry name, "table.column", generator, ...
    options: dict = field(default_factory=dict)


@dataclass
class Entry:
    """One [[table]] block: rows of `table` written for each canary (or for each parent row)."""
    name: str                       # unique within the mapping ("as", default the table)
    table: str
    columns: dict[str, ColumnSpec]
    parent: str | None = None
    count: tuple[int, int] = (1, 1)
    key: list[str] = field(default_factory=list)
    lookup: str | None = None
    moment: dict = field(default_factory=dict)
    sample: list[str] = field(default_factory=list)


@dataclass
class Mapping:
    path: pathlib.Path
    entries: list[Entry]
    host: dict = field(default_factory=dict)

    def entry(self, name: str) -> Entry:
        return next(e for e in self.entries if e.name == name)

    def ancestors(self, entry: Entry) -> list[Entry]:
        chain, current = [], entry
        while current.parent:
            current = self.entry(current.parent)
            chain.append(current)
        return chain

    def fields(self) -> list[tuple[str, str, ColumnSpec]]:
        """(table, column, spec) of every column filled from a canary field; a column may appear twice."""
        return [(e.table, c, spec) for e in self.entries for c, spec in e.columns.items() if spec.source == "field"]

    def resolve_path(self, relative: str) -> pathlib.Path:
        return (self.path.parent / relative).resolve()


def load_mapping(path: str | pathlib.Path) -> Mapping:
    """Parse a mapping file; errors name the file, the table and the column."""
    path = pathlib.Path(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as error:
        raise MappingError(f"mapping {path}: cannot read it ({error.strerror or error})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise MappingError(f"mapping {path}: {error}") from None
    where = f"mapping {path}"
    unknown = set(data) - {"host", "table"}
    if unknown:
        raise MappingError(f"{where}: unknown section(s) {', '.join(sorted(unknown))} (expected [host] and [[table]])")
    host = data.get("host", {})
    if set(host) - HOST_KEYS:
        raise MappingError(f"{where}: [host] has unknown key(s) {', '.join(sorted(set(host) - HOST_KEYS))}")
    if host.get("clock", "host") not in ("host", "now"):
        raise MappingError(f"{where}: [host] clock must be \"host\" or \"now\"")
    if not isinstance(host.get("sample_rows", 1), int) or host.get("sample_rows", 1) < 1:
        raise MappingError(f"{where}: [host] sample_rows must be a positive integer")
    blocks = data.get("table")
    if not isinstance(blocks, list) or not blocks:
        raise MappingError(f"{where}: no [[table]] blocks")
    entries: list[Entry] = []
    for number, block in enumerate(blocks, 1):
        entries.append(_entry(block, number, entries, where))
    return Mapping(path, entries, host)


def _entry(block: dict, number: int, earlier: list[Entry], where: str) -> Entry:
    table = block.get("name")
    if not isinstance(table, str) or not table:
        raise MappingError(f"{where}: [[table]] number {number} has no name")
    here = f"{where}: table {table}"
    if set(block) - TABLE_KEYS:
        raise MappingError(f"{here}: unknown key(s) {', '.join(sorted(set(block) - TABLE_KEYS))}")
    name = block.get("as", table)
    if any(e.name == name for e in earlier):
        raise MappingError(f"{here}: a block named {name!r} already exists; give this one `as = \"...\"`")
    columns = {}
    for column, raw in (block.get("columns") or {}).items():
        columns[column] = _column_spec(column, raw, f"{where}: {table}.{column}")
    known = {e.name for e in earlier}
    for column, spec in columns.items():
        if spec.source == "ref" and spec.argument not in known:
            raise MappingError(f"{where}: {table}.{column}: ref = {spec.argument!r} names no earlier [[table]] "
                               f"(parents come first; earlier: {', '.join(sorted(known)) or 'none'})")
    parent = block.get("parent")
    if parent is None:
        parent = next((spec.argument for spec in columns.values() if spec.source == "ref"), None)
    elif parent not in known:
        raise MappingError(f"{here}: parent = {parent!r} names no earlier [[table]]")
    count = block.get("count", 1)
    if isinstance(count, int):
        count = (count, count)
    if (not isinstance(count, (list, tuple)) or len(count) != 2 or not all(isinstance(n, int) for n in count)
            or not 0 <= count[0] <= count[1] <= 1000):
        raise MappingError(f"{here}: count must be N or [MIN, MAX] with 0 <= MIN <= MAX <= 1000")
    if parent is None and count != (1, 1):
        raise MappingError(f"{here}: count needs a parent (one row per canary otherwise)")
    key = block.get("key", [])
    key = [key] if isinstance(key, str) else list(key)
    for column in key + ([block["lookup"]] if block.get("lookup") else []) + list(block.get("sample", [])):
        if not isinstance(column, str):
            raise MappingError(f"{here}: key, lookup and sample name columns")
    moment = block.get("moment", {})
    if not isinstance(moment, dict) or set(moment) - {"days_ago", "after_parent", "after_parent_hours", "hours"}:
        raise MappingError(f"{here}: moment takes days_ago, after_parent, after_parent_hours, hours")
    return Entry(name=name, table=table, columns=columns, parent=parent, count=tuple(count), key=key,
                 lookup=block.get("lookup"), moment=moment, sample=list(block.get("sample", [])))


def _column_spec(column: str, raw, where: str) -> ColumnSpec:
    if not isinstance(raw, dict):
        # A bare value is a constant: pays = "FRANCE".
        return ColumnSpec(column, "value", raw)
    sources = [key for key in SOURCES if key in raw]
    if len(sources) != 1:
        raise MappingError(f"{where}: give exactly one of {', '.join(SOURCES)} (found {', '.join(sources) or 'none'})")
    source = sources[0]
    options = {key: value for key, value in raw.items() if key != source}
    if set(options) - OPTIONS:
        raise MappingError(f"{where}: unknown key(s) {', '.join(sorted(set(options) - OPTIONS))}")
    argument = raw[source]
    if source == "generate" and argument not in GENERATORS:
        raise MappingError(f"{where}: generate must be one of {', '.join(GENERATORS)}")
    if source == "pick" and (not isinstance(argument, str) or argument.count(".") != 1):
        raise MappingError(f"{where}: pick must be \"table.column\"")
    if source in ("field", "ref") and not isinstance(argument, str):
        raise MappingError(f"{where}: {source} must be a string")
    if options.get("nulls", "host") != "host":
        raise MappingError(f"{where}: nulls = \"host\" is the only choice (empty as often as in the host's rows)")
    if "map" in options and not isinstance(options["map"], dict):
        raise MappingError(f"{where}: map must be a table {{ from = \"to\" }}")
    return ColumnSpec(column, source, argument, options)


@functools.cache
def canary_fields() -> tuple[str, ...]:
    """The dotted paths of a canary's fields ('last_name', 'address.postal_code', ...)."""
    import random
    from ..generation.patients import generate_patient

    def paths(record, prefix=""):
        for key, value in record.items():
            yield from paths(value, f"{prefix}{key}.") if isinstance(value, dict) else [f"{prefix}{key}"]
    return tuple(sorted(paths(generate_patient(random.Random(0)))))


def check_mapping(mapping: Mapping, schema: Schema) -> list[str]:
    """Every way the mapping does not fit the schema or the canary, one message per table and column."""
    errors = []
    where = f"mapping {mapping.path}"
    fields = canary_fields()
    for entry in mapping.entries:
        for column, spec in entry.columns.items():
            for path in (spec.argument if spec.source == "field" else None, spec.options.get("null_if_same")):
                if path is not None and path not in fields:
                    errors.append(f"{where}: {entry.table}.{column}: field {path!r} is not a canary field "
                                  f"(fields: {', '.join(fields)})")
        table = schema.get(entry.table)
        if table is None:
            errors.append(f"{where}: table {entry.table} is not in the target "
                          f"(it has: {', '.join(sorted(schema)) or 'no tables'})")
            continue
        named = list(entry.columns) + entry.key + ([entry.lookup] if entry.lookup else []) + entry.sample
        for column in dict.fromkeys(named):
            if column not in table.columns:
                errors.append(f"{where}: {entry.table}.{column}: no such column in the target")
        filled = set(entry.columns) | set(entry.sample)
        for column in table.columns.values():
            if column.notnull and not column.has_default and not column.auto and column.name not in filled:
                errors.append(f"{where}: {entry.table}.{column.name} is NOT NULL and the mapping gives it no value")
        for column, spec in entry.columns.items():
            if spec.source == "generate" and spec.argument == "auto":
                col = table.columns.get(column)
                if col is not None and not col.auto:
                    errors.append(f"{where}: {entry.table}.{column}: generate = \"auto\" but the target does "
                                  "not assign it (use \"max+1\" or \"pattern\")")
        for fk in table.foreign_keys:
            spec = entry.columns.get(fk.column)
            if spec is None:
                if table.columns[fk.column].notnull:
                    errors.append(f"{where}: {entry.table}.{fk.column} references {fk.table}.{fk.ref_column} "
                                  "and is NOT NULL but the mapping gives it no value")
                continue
            if spec.source == "ref":
                parent = mapping.entry(spec.argument)
                if parent.table != fk.table:
                    errors.append(f"{where}: {entry.table}.{fk.column} references {fk.table}.{fk.ref_column} "
                                  f"but ref = {spec.argument!r} writes table {parent.table}")
            elif spec.source == "pick":
                if spec.argument != f"{fk.table}.{fk.ref_column}":
                    errors.append(f"{where}: {entry.table}.{fk.column} references {fk.table}.{fk.ref_column} "
                                  f"but picks {spec.argument}")
            elif not (spec.source == "value" and spec.argument is None):
                errors.append(f"{where}: {entry.table}.{fk.column} references {fk.table}.{fk.ref_column}: "
                              f"fill it with ref = \"<a [[table]] of {fk.table}>\" or pick = "
                              f"\"{fk.table}.{fk.ref_column}\", not {spec.source}, or the key would dangle")
        for column, spec in entry.columns.items():
            if spec.source == "pick":
                other, _, other_column = spec.argument.partition(".")
                if other not in schema or other_column not in schema[other].columns:
                    errors.append(f"{where}: {entry.table}.{column}: pick = {spec.argument!r}: no such "
                                  "table.column in the target")
    return errors


def validate_mapping(mapping: Mapping, schema: Schema) -> None:
    """Raise MappingError listing every problem (first line the count) if the mapping does not fit."""
    errors = check_mapping(mapping, schema)
    if errors:
        head = errors[0] if len(errors) == 1 else f"{len(errors)} problems: " + "; ".join(errors)
        raise MappingError(head)
