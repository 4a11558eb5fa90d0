"""Opening a target of any kind from its store row: the writer and its mapping."""
from __future__ import annotations

import pathlib

from .base import PlantingError
from .mapping import Mapping, load_mapping

# The one list of target kinds: every kind but "manual" (canaries entered by hand) has a writer
# and is planted, checked and rotated by canary.
WRITER_KINDS = ("sqlite", "postgresql", "mysql", "sql", "csv")
TARGET_KINDS = ("manual", *WRITER_KINDS)


def is_postgresql_dsn(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://")) or "dbname=" in location


def open_database(location: str):
    """A readable database: a PostgreSQL DSN, a mysql:// location or an SQLite file."""
    from .mysql import MysqlTarget, is_mysql_location
    if is_mysql_location(location):
        return MysqlTarget(location)
    if is_postgresql_dsn(location):
        from .postgresql import PostgresqlTarget
        return PostgresqlTarget(location)
    from .sqlite import SqliteTarget
    return SqliteTarget(location)


def load_target_mapping(target: dict) -> Mapping:
    if not target.get("mapping"):
        raise PlantingError(f"target {target['name']} has no mapping file (canary target add ... --mapping FILE)")
    return load_mapping(target["mapping"])


def open_writer(target: dict, mapping: Mapping):
    """The writer for a target row of the store; raises PlantingError naming what is missing."""
    kind, location = target["kind"], target.get("location")
    if kind not in WRITER_KINDS:
        raise PlantingError(f"target {target['name']} is {kind}: nothing to write into")
    if not location:
        raise PlantingError(f"target {target['name']} has no location")
    try:
        if kind == "sqlite":
            from .sqlite import SqliteTarget
            return SqliteTarget(location)
        if kind == "postgresql":
            from .postgresql import PostgresqlTarget
            return PostgresqlTarget(location)
        if kind == "mysql":
            from .mysql import MysqlTarget
            return MysqlTarget(location)
        if kind == "csv":
            from .csvfile import CsvTarget
            return CsvTarget(location)
    except PlantingError as error:
        # A cron log holds many targets' lines: say which one cannot be opened.
        raise PlantingError(f"target {target['name']}: {error}") from None
    from .sqlscript import SqlScriptTarget
    return SqlScriptTarget(target["name"], location, script_source(mapping))


def script_source(mapping: Mapping):
    """What a `sql` target learns the schema (and, with [host] database, formats) from."""
    database = mapping.host.get("database")
    if database:
        if not is_postgresql_dsn(database) and not database.startswith(("mysql://", "mariadb://")):
            database = str(mapping.resolve_path(database))
        return open_database(database)
    schema = mapping.host.get("schema")
    if not schema:
        raise PlantingError(f"mapping {mapping.path}: a sql target needs [host] schema = \"FILE.sql\" "
                            "or [host] database = \"PATH or DSN\" to check the mapping against")
    path = mapping.resolve_path(schema)
    try:
        script = pathlib.Path(path).read_text("utf-8")
    except OSError as error:
        raise PlantingError(f"mapping {mapping.path}: [host] schema {path}: {error.strerror}") from None
    from .sqlite import SqliteTarget
    return SqliteTarget.from_script(script)


def can_read_rows(target: dict, mapping: Mapping) -> bool:
    """Whether planting can learn from the host's rows (a script target only with [host] database)."""
    return target["kind"] != "sql" or bool(mapping.host.get("database"))
