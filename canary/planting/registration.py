"""Adding targets: checks what a target needs before the store records it."""
from __future__ import annotations

import pathlib

from ..deployment import Deployment
from ..settings import SettingsError
from .writers import TARGET_KINDS


def check_target_config(kind: str, location: str | None, mapping: str | None,
                        name: str = "new") -> tuple[str | None, str | None, list[str]]:
    """Check kind, location and mapping together; returns them (paths made absolute) and notes for the user.

    The mapping is checked against the target's schema when the target can be reached;
    a PostgreSQL server that is down only earns a note, since targets are often added first.
    """
    from .base import PlantingError
    from .mapping import load_mapping, validate_mapping
    from .writers import is_postgresql_dsn, open_writer
    if kind not in TARGET_KINDS:
        raise SettingsError(f"unknown target kind {kind!r} (one of {', '.join(TARGET_KINDS)})")
    notes: list[str] = []
    if kind == "manual":
        if mapping:
            raise SettingsError("a manual target has no mapping: its canaries are entered by hand")
        return location, None, notes
    if not location:
        raise SettingsError(f"a {kind} target needs --location ("
                            + {"sqlite": "the database file", "postgresql": "a DSN, e.g. postgresql://host/db",
                               "mysql": "e.g. mysql://lims@db.lab.example/lims",
                               "sql": "a directory to write SQL scripts into", "csv": "the extract file"}[kind] + ")")
    if not mapping:
        raise SettingsError(f"a {kind} target needs --mapping FILE (see the demo's lab/lab_mapping.toml)")
    if kind == "postgresql":
        if not is_postgresql_dsn(location):
            raise SettingsError(f"--location {location!r} is not a PostgreSQL DSN (postgresql://... or 'dbname=...')")
        if _dsn_has_password(location):
            # The location is shown by `target list` and kept for good in the evidence log.
            raise SettingsError("--location: keep the password out of the DSN (it would be stored and logged "
                                "for good); put it in the canary user's ~/.pgpass or PGPASSFILE")
    elif kind == "mysql":
        from .mysql import connection_arguments, is_mysql_location
        if not is_mysql_location(location):
            raise SettingsError(f"--location {location!r} is not a MySQL/MariaDB location (mysql://USER@HOST/DATABASE)")
        try:
            connection_arguments(location)
        except PlantingError as error:
            raise SettingsError(f"--location: {error}") from None
    else:
        path = pathlib.Path(location).expanduser().resolve()
        if kind == "sql" and not path.is_dir():
            raise SettingsError(f"--location {location}: not a directory (a sql target writes its scripts there)")
        if kind in ("sqlite", "csv") and not path.is_file():
            raise SettingsError(f"--location {location}: no such file")
        location = str(path)
    mapping = str(pathlib.Path(mapping).expanduser().resolve())
    loaded = load_mapping(mapping)
    try:
        writer = open_writer({"name": name, "kind": kind, "location": location}, loaded)
    except PlantingError as error:
        if kind not in ("postgresql", "mysql"):
            raise
        notes.append(f"mapping not checked against the schema: {error}")
        return location, mapping, notes
    try:
        validate_mapping(loaded, writer.schema())
        notes.append("mapping checked against the target's schema")
    finally:
        writer.close()
    return location, mapping, notes


def _dsn_has_password(dsn: str) -> bool:
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:  # pragma: no cover - depends on the installation
        return False
    try:
        return bool(conninfo_to_dict(dsn).get("password"))
    except Exception:  # noqa: BLE001 - a malformed DSN is reported when it is first used
        return False


def _check_region(region: str | None) -> None:
    if region is not None:
        from ..generation.patients import region_departments
        region_departments(region)  # raises ValueError naming an unknown region


def with_schema(kind: str, location: str | None, schema: str | None) -> str | None:
    """The location with the database schema the lab's tables live in (PostgreSQL: its search_path)."""
    if not schema:
        return location
    if kind == "postgresql":
        from psycopg.conninfo import make_conninfo
        try:
            return make_conninfo(location or "", options=f"-csearch_path={schema}")
        except Exception as error:  # noqa: BLE001 - psycopg's ProgrammingError for a malformed DSN
            raise SettingsError(f"--location: {error}") from None
    if kind == "mysql":
        import urllib.parse
        url = urllib.parse.urlsplit(location or "")
        return urllib.parse.urlunsplit(url._replace(path="/" + urllib.parse.quote(schema)))
    raise SettingsError(f"--schema is for postgresql (its search_path) and mysql (the database) targets, not {kind}")


def add_target(deployment: Deployment, name: str, site: str, *, kind: str = "manual",
               location: str | None = None, mapping: str | None = None, region: str | None = None,
               schema: str | None = None) -> dict:
    """Record a new target of a site, after checking its kind, location, mapping and region."""
    location = with_schema(kind, location, schema)
    location, mapping, notes = check_target_config(kind, location, mapping, name)
    _check_region(region)
    row = deployment.store.add_target(name, site, kind=kind, location=location, mapping=mapping, region=region)
    return {**row, "notes": notes}


def set_target(deployment: Deployment, name: str, *, location: str | None = None, mapping: str | None = None,
               region: str | None = None, schema: str | None = None) -> dict:
    """Change a target's location, mapping, region or schema, checked as `target add` checks them.

    Its canaries' rows stay where they were written: `check` reads the new location, so move a
    target only to a copy of the same database (a new server, a renamed file).
    """
    target = deployment.store.get_target(name)
    if target.get("removed_at"):
        raise SettingsError(f"target {name} was removed on {target['removed_at']}")
    location = with_schema(target["kind"], location or target["location"], schema)
    location, mapping, notes = check_target_config(target["kind"], location, mapping or target["mapping"], name)
    if region:
        _check_region(region)
    changes = {"location": location, "mapping": mapping}
    if region is not None:
        changes["region"] = region or None
    row = deployment.store.update_target(name, changes)
    return {**row, "notes": notes}


def remove_target(deployment: Deployment, name: str, *, retire_canaries: bool = False) -> dict:
    """Stop planting into a target. Its canaries stay registered (a copy taken before still attributes);
    with `retire_canaries` their rows are deleted from it first, else a target still holding some is refused."""
    from .plant import retire
    store = deployment.store
    target = store.get_target(name)
    if target.get("removed_at"):
        raise SettingsError(f"target {name} was already removed on {target['removed_at']}")
    holding = store.plantings(target["id"], states=("planted", "pending"))
    retired = 0
    if holding and not retire_canaries:
        raise SettingsError(f"target {name} still holds {len(holding)} canaries: `canary target remove {name} "
                            f"--retire` deletes their rows first (or `canary retire {name} --all`); their "
                            "registration stays either way, so a leaked copy still attributes")
    scripts: list[str] = []
    if holding:
        plantings, scripts = retire(deployment, name)
        retired = len(plantings)
    return {**store.remove_target(name, retired), "retired": retired, "scripts": scripts}
