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

The README section "The mapping format" describes every key.
"""
from __future__ import annotations

import pathlib
import tomllib
from dataclasses import dataclass, field

from .base import PlantingError, Schema
from .fields import canary_fields

SOURCES = ("field", "value", "ref", "pick", "find", "same", "generate", "moment", "host")
OPTIONS = {"format", "map", "null_if_same", "pattern", "by", "default", "nulls", "where", "when", "unless",
           "sequence"}
GENERATORS = ("auto", "sequence", "max+1", "pattern", "uuid")
UUID_FORMATS = ("lower", "upper", "hex", "braces")
TABLE_KEYS = {"name", "as", "parent", "count", "key", "lookup", "moment", "sample", "columns", "when", "unless"}
HOST_KEYS = {"schema", "database", "sample_rows", "clock"}


class MappingError(PlantingError):
    """A mapping that does not fit its target; the message names the file, table and column."""


@dataclass(frozen=True)
class Condition:
    """`when = "birth_name"` (the field is not empty), `when = { sex = "F" }` (equals), `unless = ...` (negated)."""
    fields: tuple                   # ((path, wanted value or None for "not empty"), ...)
    negated: bool = False

    def holds(self, values: dict) -> bool:
        met = all(values.get(path) not in (None, "") if wanted is None else str(values.get(path)) == str(wanted)
                  for path, wanted in self.fields)
        return met != self.negated


@dataclass
class ColumnSpec:
    column: str
    source: str                     # one of SOURCES
    argument: object                # field path, constant, entry name, "table.column", generator, ...
    options: dict = field(default_factory=dict)
    condition: Condition | None = None   # the column is left out (the database's default) unless it holds


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
    condition: "Condition | None" = None     # rows only for canaries that meet it (when / unless)


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

    def conditions(self):
        """Every when/unless of the mapping with the place it stands, for checking the fields it names."""
        for entry in self.entries:
            if entry.condition:
                yield f"table {entry.table}", entry.condition
            for column, spec in entry.columns.items():
                if spec.condition:
                    yield f"{entry.table}.{column}", spec.condition

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
    if not _valid_clock(host.get("clock", "host")):
        raise MappingError(f"{where}: [host] clock must be \"host\" (the host's latest activity), \"now\" "
                           "or the date a copy was frozen, e.g. \"2020-06-30\"")
    if not isinstance(host.get("sample_rows", 1), int) or host.get("sample_rows", 1) < 1:
        raise MappingError(f"{where}: [host] sample_rows must be a positive integer")
    blocks = data.get("table")
    if not isinstance(blocks, list) or not blocks:
        raise MappingError(f"{where}: no [[table]] blocks")
    entries: list[Entry] = []
    for number, block in enumerate(blocks, 1):
        entries.append(_entry(block, number, entries, where))
    return Mapping(path, entries, host)


def _valid_clock(value) -> bool:
    import datetime as dt
    if value in ("host", "now"):
        return True
    try:
        dt.datetime.fromisoformat(str(value))
    except ValueError:
        return False
    return isinstance(value, (str, dt.date))


def _condition(block: dict, where: str) -> Condition | None:
    """`when` / `unless` of a [[table]] or a column."""
    found = [(key, block[key]) for key in ("when", "unless") if key in block]
    if not found:
        return None
    if len(found) > 1:
        raise MappingError(f"{where}: give when or unless, not both")
    key, raw = found[0]
    example = f'{key} = "birth_name" or {key} = {{ sex = "F" }}'
    if isinstance(raw, str) and raw:
        return Condition(((raw, None),), negated=key == "unless")
    if isinstance(raw, dict) and raw and all(isinstance(v, (str, int, bool)) for v in raw.values()):
        return Condition(tuple(raw.items()), negated=key == "unless")
    raise MappingError(f"{where}: {key} names a canary field (not empty) or {{ field = value }}: e.g. {example}")


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
    for column, spec in columns.items():
        if spec.source == "same":
            block_name, _, other = spec.argument.partition(".")
            if block_name != name and block_name not in known:
                raise MappingError(f"{where}: {table}.{column}: same = {spec.argument!r} names no earlier [[table]] "
                                   f"(write same = \"BLOCK.COLUMN\" with BLOCK one of: "
                                   f"{', '.join(sorted(known | {name}))})")
            if block_name == name and (other not in columns or list(columns).index(other) >= list(columns).index(column)):
                raise MappingError(f"{where}: {table}.{column}: same = {spec.argument!r}: in its own row, "
                                   f"{other} must be a column listed before {column}")
    return Entry(name=name, table=table, columns=columns, parent=parent, count=tuple(count), key=key,
                 lookup=block.get("lookup"), moment=moment, sample=list(block.get("sample", [])),
                 condition=_condition(block, here))


def _column_spec(column: str, raw, where: str) -> ColumnSpec:
    if not isinstance(raw, dict):
        # A bare value is a constant: pays = "FRANCE".
        return ColumnSpec(column, "value", raw)
    sources = [key for key in SOURCES if key in raw]
    if len(sources) != 1:
        raise MappingError(f"{where}: give exactly one of {', '.join(SOURCES)} (found {', '.join(sources) or 'none'})")
    source = sources[0]
    options = {key: value for key, value in raw.items() if key not in (source, "when", "unless")}
    if set(options) - OPTIONS:
        raise MappingError(f"{where}: unknown key(s) {', '.join(sorted(set(options) - OPTIONS))}")
    argument = raw[source]
    if source == "generate" and argument not in GENERATORS:
        raise MappingError(f"{where}: generate must be one of {', '.join(GENERATORS)}")
    if source == "generate" and argument == "uuid" and options.get("format", "lower") not in UUID_FORMATS:
        raise MappingError(f"{where}: a uuid's format is one of {', '.join(UUID_FORMATS)}")
    if "sequence" in options and not (source == "generate" and argument in ("sequence", "max+1")):
        raise MappingError(f"{where}: sequence = \"NAME\" goes with generate = \"sequence\" (take the next value) "
                           "or generate = \"max+1\" (advance it past the keys we write)")
    if source in ("pick", "find") and (not isinstance(argument, str) or argument.count(".") != 1):
        raise MappingError(f"{where}: {source} must be \"table.column\"")
    if source == "same" and (not isinstance(argument, str) or argument.count(".") != 1):
        raise MappingError(f"{where}: same must be \"BLOCK.COLUMN\", e.g. same = \"person.guid\"")
    if source == "find":
        match = options.get("where")
        if not isinstance(match, dict) or not match:
            raise MappingError(f"{where}: find = {argument!r} needs where = {{ column = value }}, e.g. "
                               f"{{ find = \"{argument}\", where = {{ code = \"NIR\" }} }}")
    elif "where" in options:
        raise MappingError(f"{where}: where = {{ ... }} goes with find = \"table.column\"")
    if source in ("field", "ref") and not isinstance(argument, str):
        raise MappingError(f"{where}: {source} must be a string")
    if options.get("nulls", "host") != "host":
        raise MappingError(f"{where}: nulls = \"host\" is the only choice (empty as often as in the host's rows)")
    if "map" in options and not isinstance(options["map"], dict):
        raise MappingError(f"{where}: map must be a table {{ from = \"to\" }}")
    return ColumnSpec(column, source, argument, options, _condition(raw, where))


def check_mapping(mapping: Mapping, schema: Schema) -> list[str]:
    """Every way the mapping does not fit the schema or the canary, one message per table and column."""
    errors = []
    where = f"mapping {mapping.path}"
    fields = canary_fields()
    for place, condition in mapping.conditions():
        for path, _ in condition.fields:
            if path not in fields:
                errors.append(f"{where}: {place}: when/unless names {path!r}, not a canary field "
                              f"(fields: {', '.join(fields)})")
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
                                  "not assign it (no identity, serial, AUTO_INCREMENT or nextval default): use "
                                  "generate = \"sequence\", sequence = \"NAME\" for the sequence the software "
                                  "takes its keys from, or \"max+1\" or \"pattern\"")
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
            elif spec.source in ("pick", "find"):
                if spec.argument != f"{fk.table}.{fk.ref_column}":
                    errors.append(f"{where}: {entry.table}.{fk.column} references {fk.table}.{fk.ref_column} "
                                  f"but {spec.source}s {spec.argument} (write {spec.source} = "
                                  f"\"{fk.table}.{fk.ref_column}\")")
            elif spec.source not in ("value", "host", "same"):
                # A fixed value is checked against the lookup table at plant time; a host value exists already.
                errors.append(f"{where}: {entry.table}.{fk.column} references {fk.table}.{fk.ref_column}: "
                              f"fill it with ref = \"<a [[table]] of {fk.table}>\", pick = "
                              f"\"{fk.table}.{fk.ref_column}\", find = \"{fk.table}.{fk.ref_column}\", where = "
                              f"{{ code = \"...\" }} (a row of a lookup table) or a value {fk.table} holds, "
                              f"not {spec.source}, or the key would dangle")
        for column, spec in entry.columns.items():
            if spec.source in ("pick", "find"):
                other, _, other_column = spec.argument.partition(".")
                if other not in schema or other_column not in schema[other].columns:
                    errors.append(f"{where}: {entry.table}.{column}: {spec.source} = {spec.argument!r}: no such "
                                  "table.column in the target")
                    continue
                for match in spec.options.get("where", {}):
                    if match not in schema[other].columns:
                        errors.append(f"{where}: {entry.table}.{column}: where = {{ {match} = ... }}: {other} has "
                                      f"no column {match} (it has: {', '.join(schema[other].columns)})")
    return errors


def validate_mapping(mapping: Mapping, schema: Schema) -> None:
    """Raise MappingError listing every problem (first line the count) if the mapping does not fit."""
    errors = check_mapping(mapping, schema)
    if errors:
        head = errors[0] if len(errors) == 1 else f"{len(errors)} problems: " + "; ".join(errors)
        raise MappingError(head)
