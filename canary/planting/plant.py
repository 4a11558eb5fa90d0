"""Plant canaries into a target, check they are still there, retire them, rotate, confirm scripts.

The slow part (reading the host, generating canaries, writing their rows) runs inside the
target's transaction only; the store is written at the end, in one short transaction that
registers the canaries and records their plantings, and the target commits after it. If the
store refuses, the target rolls back; listeners never wait for the target's work.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import math
import random
import secrets
import time
from dataclasses import dataclass, field

from .. import clock
from ..deployment import Deployment
from ..generation.issuing import Issuer
from .backfill import BEYOND_HOLES, Backfill, NoHole
from .base import Find, NextValue, ParentKey, Pick, PlantingError, nothing, plain
from .typed import key_value, same_value
from .host import HostProfile
from .mapping import validate_mapping
from .rows import RowRef, build_rows
from .tail import LongTail, target_counts
from .writers import WRITER_KINDS, can_read_rows, load_target_mapping, open_writer

_NIR_ATTEMPTS = 20


class _DryRun(Exception):
    """Raised inside the transactions to roll both back after a dry run."""


@dataclass
class Planted:
    canary: dict
    rows: list[dict]                 # [{table, key}] as written
    fingerprint: list[dict]          # the values written, row by row
    planting_id: int | None = None


@dataclass
class PlantResult:
    target: dict
    state: str                        # planted, pending (script or manual) or dry-run
    canaries: list[Planted] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    script_text: str = ""
    notes: list[str] = field(default_factory=list)


def plant_into_target(deployment: Deployment, target_name: str, count: int, dry_run: bool = False,
                      rng: random.Random | None = None, now: dt.datetime | None = None,
                      progress=None) -> PlantResult:
    """Generate `count` canaries and write them into the target, all or nothing.

    `progress(done)` is called after each canary's rows are written (a progress bar).
    """
    if count < 1:
        raise PlantingError("count must be at least 1")
    store = deployment.store
    target = _live_target(store, target_name)
    rng = rng or random.Random(secrets.randbits(64))
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).replace(tzinfo=None)
    if target["kind"] == "manual":
        return _plant_manual(deployment, target, count, dry_run, rng, now)
    mapping = load_target_mapping(target)
    writer = open_writer(target, mapping)
    result = PlantResult(target, "dry-run" if dry_run else ("planted" if writer.writes_directly else "pending"))
    try:
        schema = writer.schema()
        validate_mapping(mapping, schema)
        issuer = Issuer(store, deployment.settings, random.Random(rng.getrandbits(64)))
        try:
            with contextlib.ExitStack() as target_transaction:
                target_transaction.enter_context(writer.transaction())
                target_transaction.enter_context(getattr(writer, "pipelined", nothing)())
                host = HostProfile(writer, mapping, can_read=can_read_rows(target, mapping),
                                   written=_written_before(store, target))
                host.model = _learn(deployment, target, writer, mapping, schema, host)
                if deployment.settings["planting"]["fill_holes"] and writer.writes_directly and host.can_read:
                    host.holes = Backfill(host, schema, wait=_beyond_holes(deployment.settings) == "wait")
                history_until = host.latest_moment(now)
                result.notes = host.notes
                regions = _regions(target, host)
                host_ids = _host_identifiers(host, mapping)
                numbered: dict = {}
                # Fiction ranges are shared with every synthetic data set (the example lab uses them too):
                # a canary must not carry the number of one of the host's own patients.
                issuer.phones.used.update(host_ids.phones)
                staged, taken = [], set()
                long_tail = _long_tail(store, target, host, mapping) if host.model else None
                for _ in range(count):
                    canary = _prepare(issuer, store, host_ids, target, regions, rng, history_until, taken, host.model,
                                      long_tail)
                    try:
                        planned = build_rows(canary, mapping, schema, host, rng, history_until)
                    except NoHole:
                        result.notes.append(f"{count - len(staged)} of {count} canaries not planted: no hole left "
                                            "in the host's patient keys (planting.beyond_holes = \"wait\"); a "
                                            "schedule keeps them due")
                        break
                    _note_numbered_keys(planned, numbered)
                    staged.append((canary, *_write(writer, planned)))
                    if progress is not None:
                        progress(len(staged))
                if host.holes is not None and host.holes.patients:
                    result.notes.append(_holes_note(host.holes, mapping, len(staged)))
                if numbered and hasattr(writer, "advance_sequences"):
                    writer.advance_sequences(numbered)

                def commit_target():
                    if not writer.writes_directly:
                        writer.canary_ids = [planted.canary["id"] for planted in result.canaries]
                    if dry_run:
                        if not writer.writes_directly:
                            result.script_text = writer.render("postgresql", "plant")
                        raise _DryRun
                    target_transaction.close()
                _register_all(store, target, staged, "planted" if writer.writes_directly else "pending", result,
                              commit_target, dry_run)
        except _DryRun:
            pass
        if not dry_run and not writer.writes_directly:
            result.scripts = [str(p) for p in writer.written]
    finally:
        writer.close()
    return result


def _beyond_holes(settings) -> str:
    chosen = settings["planting"].get("beyond_holes", "next-keys")
    if chosen not in BEYOND_HOLES:
        raise PlantingError(f"planting.beyond_holes = {chosen!r}: use one of {', '.join(BEYOND_HOLES)}")
    return chosen


def _holes_note(holes: Backfill, mapping, count: int) -> str:
    """How many canaries took a hole, and how many holes are left for the next ones: beyond them, canaries take
    the next keys and sit among the newest rows (docs/realism.md, keys and time)."""
    root = next(e for e in mapping.entries if e.parent is None)
    note = (f"{holes.patients} of {count} canaries keyed in holes of the host's key sequence, among its rows of "
            f"that time; {holes.holes_left(root) or 0} holes left")
    if holes.patients < count:
        note += ("; the others took the next keys, among the host's newest rows (keys and registration dates "
                 "stay at chance only with no more canaries than holes)")
    return note


def _live_target(store, name: str) -> dict:
    target = store.get_target(name)
    if target.get("removed_at"):
        raise PlantingError(f"target {name} was removed on {target['removed_at']} (canary target remove): "
                            "its canaries stay registered, nothing more is planted or checked")
    return target


def _plant_manual(deployment, target, count, dry_run, rng, now) -> PlantResult:
    """Register canaries for hand entry; they count as planted from `canary confirm`."""
    store = deployment.store
    result = PlantResult(target, "dry-run" if dry_run else "pending")
    issuer = Issuer(store, deployment.settings, random.Random(rng.getrandbits(64)))
    staged, taken = [], set()
    for _ in range(count):
        staged.append((_prepare(issuer, store, _host_identifiers(None, None), target, [], rng, now, taken), [], []))

    def commit_target():
        if dry_run:
            raise _DryRun
    try:
        _register_all(store, target, staged, "pending", result, commit_target, dry_run)
    except _DryRun:
        pass
    return result


# A store transaction of the plant ends after REGISTER_CHUNK canaries or REGISTER_SECONDS,
# whichever comes first, and the writers waiting meanwhile (the listeners' contacts) go before
# the next one: a contact waits for one chunk at most (a loaded machine slows the chunk, not
# the count of canaries it holds, hence the time bound).
REGISTER_CHUNK = 20
REGISTER_SECONDS = 0.02


def _register_all(store, target: dict, staged: list, state: str, result: PlantResult, commit_target,
                  dry_run: bool = False) -> None:
    """Register the prepared canaries and record their plantings in short store transactions; the
    target commits inside the last one, which makes them planted.

    Everything slow (reading the host, generating, writing the rows) happened before, outside the
    store's transactions, and registering is cut in chunks: a listener recording a contact waits
    for one chunk at most, never for the plant (issue 11, defect 6). Until the target has committed
    the plantings are pending (no planted_at: nothing is dated from them); if the target fails they
    are retired, each with its evidence event, so the log says what was attempted. A dry run uses
    one transaction, rolled back by commit_target's _DryRun."""
    def register(chunk, chunk_state):
        for canary, rows, fingerprint in chunk:
            canary["id"] = store.add_canary(canary["patient"], canary["label"], canary.pop("pairs"),
                                            target_id=target["id"])
            planting_id = store.record_planting(canary["id"], target["id"], rows, fingerprint, state=chunk_state)
            result.canaries.append(Planted(canary, rows, fingerprint, planting_id))
    if dry_run:
        with store.transaction():
            register(staged, state)
            commit_target()
        return
    try:
        remaining = iter(staged)
        while _register_chunk(store, remaining, register):
            store.let_waiting_writers_in()
        with store.transaction():
            if state == "planted":
                store.confirm_plantings(target["id"], canary_ids=[p.canary["id"] for p in result.canaries])
            commit_target()
    except BaseException:
        if result.canaries:
            store.retire_plantings([planted.planting_id for planted in result.canaries])
        raise


def _register_chunk(store, remaining, register) -> bool:
    """Register canaries from `remaining` in one short transaction; False once none was left."""
    registered = 0
    with store.transaction():
        started = time.monotonic()
        for staged in remaining:
            register([staged], "pending")
            registered += 1
            if registered >= REGISTER_CHUNK or time.monotonic() - started >= REGISTER_SECONDS:
                break
    return registered > 0


def _written_before(store, target: dict) -> list[dict]:
    """What earlier plantings wrote, so keys stay unique across scripts nobody has applied yet."""
    if target["kind"] != "sql":
        return []
    return [{"table": row["table"], "values": values}
            for planting in store.plantings(target["id"])
            for row, values in zip(planting["rows"], planting["fingerprint"])]


def _learn(deployment, target: dict, writer, mapping, schema, host: HostProfile) -> dict | None:
    """The host's model (aggregates only), kept in the deployment for the operator to inspect."""
    if not host.can_read:
        return None
    from .model import latest_registration, learn_model, model_path, save_model
    model = learn_model(writer, mapping, schema, k=int(deployment.settings["planting"]["k_anonymity"]))
    if not model.get("patients"):
        return None
    host.last_registration = latest_registration(writer, mapping, schema)
    save_model(model, model_path(deployment.settings.home, target["name"]))
    return model


def _regions(target: dict, host: HostProfile) -> list[tuple[str, int]]:
    if target.get("region"):
        return [(target["region"], 1)]
    return host.departments()


@dataclass
class HostIdentifiers:
    """What the host's own patients already carry, read once per plant: a canary must not copy them."""
    nirs: set[str]
    phones: set[str]


def _host_identifiers(host, mapping) -> HostIdentifiers:
    from ..generation.phones import normalise_phone
    return HostIdentifiers({value.replace(" ", "") for value in _host_values(host, mapping, "nir")},
                           set(filter(None, map(normalise_phone, _host_values(host, mapping, "phone")))))


def _long_tail(store, target: dict, host: HostProfile, mapping) -> LongTail:
    """The tail values the target holds now (its patients' and the canaries planted there), in memory only."""
    live = [canary["patient"] for canary in store.canaries(target["name"]) if not canary.get("removed_at")]
    return LongTail(target_counts(host, mapping), live)


def _prepare(issuer, store, host_ids: HostIdentifiers, target, regions, rng, now, taken: set,
             model: dict | None = None, long_tail: LongTail | None = None) -> dict:
    """A new patient with identifiers of its own, not stored yet; its NIR and phone are neither ours already
    nor the host's, nor another of this plant's (`taken` grows with it)."""
    from ..generation.patients import generate_patient
    for _ in range(_NIR_ATTEMPTS if not model else 1):
        if model:
            from .blend import patient_like_host
            region = rng.choices(*zip(*regions))[0] if regions else None
            patient = patient_like_host(
                model, rng, today=now.date(), region=region, settings=issuer.settings, phone_allocator=issuer.phones,
                is_free_nir=lambda nir: nir not in host_ids.nirs and nir not in taken
                and not store.identifier_exists(nir),
                email_taken=lambda email: email in taken or store.identifier_exists(email), long_tail=long_tail)
            registered, label, pairs = issuer.prepare_canary(patient, taken, keep_contacts=True)
            return _prepared(registered, label, pairs, target, taken)
        region = None
        if regions:
            names, weights = zip(*regions)
            region = rng.choices(names, weights=weights)[0]
        patient = generate_patient(rng, region=region, today=now.date())
        if patient["nir"] not in host_ids.nirs and patient["nir"] not in taken and not store.identifier_exists(patient["nir"]):
            registered, label, pairs = issuer.prepare_canary(patient, taken)
            return _prepared(registered, label, pairs, target, taken)
    raise PlantingError("could not generate a patient whose NIR is new to the host and the store")


def _prepared(registered: dict, label: str, pairs: list, target: dict, taken: set) -> dict:
    taken.update(value for _, value in pairs)
    identifiers: dict[str, list[str]] = {}
    for kind, value in pairs:
        identifiers.setdefault(kind, []).append(value)
    # The shape store.canaries() returns; the id comes with the registration.
    return {"id": None, "target_id": target["id"], "label": label, "patient": registered,
            "target": target["name"], "site": target.get("site"), "identifiers": identifiers, "pairs": pairs}


def _host_values(host, mapping, field: str) -> set[str]:
    """Every value the host holds in the columns the mapping fills from canary `field`."""
    found: set[str] = set()
    if host is None:
        return found
    for table, column, spec in mapping.fields():
        if spec.argument == field:
            found |= {str(value) for value in host.values(table, column) if value is not None}
    return found


def _note_numbered_keys(planned, numbered: dict) -> None:
    """The highest key we numbered ourselves (max+1) per column, to advance the database's sequence past it."""
    for row in planned:
        for column, spec in row.entry.columns.items():
            value = row.values.get(column)
            if spec.source == "generate" and spec.argument == "max+1" and isinstance(value, int):
                key = (row.table, column)
                if value > numbered.get(key, (value - 1, None))[0]:
                    numbered[key] = (value, spec.options.get("sequence"))


def _write(writer, planned) -> tuple[list[dict], list[dict]]:
    """Insert one canary's rows in order; returns the rows (table and key) and their fingerprint.

    A writer may hand back a pending key (PostgreSQL, pipelined): it is waited for only when a
    later row refers to it, or at the end, so the rows of a canary cost a few round trips, not one each.
    """
    keys: dict[int, object] = {}
    concretes: dict[int, dict] = {}

    def key_of(index: int) -> dict:
        key = keys[index]
        if not isinstance(key, dict):
            key = key.result()
        # numeric(10,0) keys come back as Decimal: the store keeps JSON.
        key = keys[index] = {c: v if isinstance(v, dict) else key_value(v) for c, v in key.items()}
        return key

    def known(index: int) -> dict:
        return {**{c: v for c, v in concretes[index].items() if v is not None},
                **{c: v for c, v in key_of(index).items() if not isinstance(v, dict)}}

    for row in planned:
        values = {}
        for column, value in row.values.items():
            if isinstance(value, RowRef):
                parent = planned[value.index]
                value = ParentKey(parent.table, value.column, tuple(known(value.index).items()), parent.entry.lookup)
            values[column] = value
        keys[row.index] = writer.insert(row.table, values, row.key_columns, row.entry.lookup)
        # What we know the row holds: a script leaves picks and generated parent keys to the database.
        concrete = {}
        for column, value in values.items():
            if isinstance(value, ParentKey):
                if value.value() is None:
                    continue
                value = value.value()
            if not isinstance(value, (Pick, Find, NextValue)):
                concrete[column] = value
        concretes[row.index] = concrete
    rows = [{"table": row.table, "key": key_of(row.index)} for row in planned]
    fingerprint = [{c: plain(v) for c, v in concretes[row.index].items()} for row in planned]
    return rows, fingerprint


# -- check, retire, confirm, rotate -------------------------------------------------------------
@dataclass
class CheckedCanary:
    canary_id: int
    planting_id: int
    status: str                      # present, missing, altered
    problems: list[str] = field(default_factory=list)


def check_target(deployment: Deployment, target_name: str) -> list[CheckedCanary]:
    """Compare every planted canary's rows with what was written; record the result."""
    store = deployment.store
    target = _live_target(store, target_name)
    if target["kind"] == "manual":
        raise PlantingError(f"target {target_name} is manual: canary cannot read it, check it by hand")
    mapping = load_target_mapping(target)
    if target["kind"] == "sql" and not mapping.host.get("database"):
        raise PlantingError(f"target {target_name} is a script target: give its mapping [host] database = "
                            "\"PATH or DSN\" (read access) to check it")
    writer = open_writer(target, mapping)
    report = []
    begun = store.retirements_begun(target["id"])
    try:
        schema = writer.schema()
        for planting in store.plantings(target["id"], states=("planted",)):
            checked = CheckedCanary(planting["canary_id"], planting["id"], "present")
            for row, written in zip(planting["rows"], planting["fingerprint"]):
                found = writer.fetch(row["table"], row["key"])
                where = f"{row['table']} {_key_text(row['key'])}"
                if found is None:
                    checked.status = "missing"
                    checked.problems.append(f"{where}: row missing")
                    continue
                columns = schema[row["table"]].columns if row["table"] in schema else {}
                for column, value in written.items():
                    if not same_value(value, found.get(column), getattr(columns.get(column), "type", "")):
                        if checked.status == "present":
                            checked.status = "altered"
                        checked.problems.append(f"{where}: {column} was {value!r}, now {plain(found.get(column))!r}")
            if checked.status == "missing" and planting["id"] in begun:
                # Not a thief's doing, as far as the log tells: a retire deleted the rows and died
                # before the store recorded it (docs/limits.md).
                checked.problems.append(f"a `canary retire` of it began at {begun[planting['id']]} and did not "
                                        f"finish: `canary retire {target_name} --canary {planting['canary_id']}` "
                                        "ends it")
            report.append(checked)
    finally:
        writer.close()
    store.record_check(target["id"], {str(c.canary_id): c.status for c in report})
    return report


def pending_count(deployment: Deployment, target_name: str) -> int:
    """Canaries written to a script (or registered for hand entry) that nobody has confirmed yet."""
    target = deployment.store.get_target(target_name)
    return len(deployment.store.plantings(target["id"], states=("pending",)))


def _key_text(key: dict) -> str:
    return ", ".join(f"{c}={v}" for c, v in key.items() if not isinstance(v, dict))


def retire(deployment: Deployment, target_name: str, canary_id: int | None = None,
           before: str | None = None) -> tuple[list[dict], list[str]]:
    """Delete canaries' rows from the target (children first) and record when; returns plantings and scripts."""
    store = deployment.store
    target = store.get_target(target_name)
    cutoff = clock.format_time(clock.parse_time(before)) if before else None
    plantings = store.plantings(target["id"], states=("planted", "pending"), canary_id=canary_id,
                                planted_before=cutoff)
    if canary_id is not None and not plantings:
        raise PlantingError(f"canary {canary_id} is not planted in target {target_name}")
    if not plantings:
        return [], []
    if target["kind"] == "manual":
        store.retire_plantings([p["id"] for p in plantings])
        return plantings, []
    mapping = load_target_mapping(target)
    writer = open_writer(target, mapping)
    try:
        transaction = writer.transaction("retire") if not writer.writes_directly else writer.transaction()
        with contextlib.ExitStack() as target_transaction:
            target_transaction.enter_context(transaction)
            for planting in plantings:
                for row in reversed(planting["rows"]):
                    writer.delete(row["table"], row["key"])
            # The slow deletes are done and not yet committed. Two short store transactions follow,
            # each after the writers waiting meanwhile (the listeners' contacts): the intent, then the
            # retirement with the target committing inside it, so that a store refusing it rolls the
            # target back. A crash between the two commits leaves the intent in the log.
            ids = [p["id"] for p in plantings]
            store.let_waiting_writers_in()
            store.record_retiring(target["id"], ids)
            store.let_waiting_writers_in()
            with store.transaction():
                store.retire_plantings(ids)
                target_transaction.close()
        scripts = [str(p) for p in getattr(writer, "written", [])]
    finally:
        writer.close()
    return plantings, scripts


def confirm(deployment: Deployment, target_name: str, script: str | None = None) -> list[int]:
    """The DBA applied the script (or the canaries were entered by hand): they count as planted from now.

    With `script`, only that plant script's canaries: a script not yet applied must not date a copy.
    """
    target = deployment.store.get_target(target_name)
    canary_ids = None
    if script is not None:
        from .sqlscript import script_canaries
        canary_ids = script_canaries(script, target_name)
    return deployment.store.confirm_plantings(target["id"], canary_ids=canary_ids)




@dataclass
class Rotation:
    target: str
    result: PlantResult | None = None
    skipped: str = ""
    error: str = ""


def schedule(deployment: Deployment, target_name: str, count: int, over: dt.timedelta,
             now: dt.datetime | None = None) -> dict:
    """Plant `count` canaries into a target over a period, a few at each `canary rotate`: their keys then
    interleave with the host's own new registrations instead of sitting together after them."""
    if count < 1:
        raise PlantingError("count must be at least 1")
    if over < dt.timedelta(hours=1):
        raise PlantingError("--over: give a period of at least an hour (e.g. 90d, 12w, 36h)")
    store = deployment.store
    target = _live_target(store, target_name)
    if target["kind"] not in WRITER_KINDS:
        raise PlantingError(f"{target_name}: {target['kind']} targets are planted by hand, not by `canary rotate`; "
                            "plant them with --count alone")
    start = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    schedule_id = store.add_schedule(target["id"], count, clock.format_time(start), clock.format_time(start + over))
    return next(s for s in store.schedules(target["id"]) if s["id"] == schedule_id)


def due(schedule: dict, now: dt.datetime) -> int:
    """Canaries of a schedule to plant by `now`: its total spread evenly over its period."""
    start, end = (clock.parse_time(schedule[k]) for k in ("starts_at", "ends_at"))
    share = min(1.0, max(0.0, (now - start) / (end - start)))
    return max(0, math.floor(schedule["total"] * share + 1e-9) - schedule["planted"])


def rotate(deployment: Deployment, target_name: str | None = None, count: int | None = None,
           rng: random.Random | None = None, now: dt.datetime | None = None) -> list[Rotation]:
    """Plant fresh canaries in every target (or one); a failing target does not stop the others.

    A target with an unfinished schedule (`plant --over`) gets what the schedule has due, and nothing
    when nothing is; the others get `count` (default planting.rotate_count)."""
    store = deployment.store
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    targets = [store.get_target(target_name)] if target_name else store.targets()
    rotations = []
    for target in targets:
        if target["kind"] not in WRITER_KINDS:
            rotations.append(Rotation(target["name"], skipped=f"{target['kind']} targets are planted by hand"))
            continue
        schedules = [] if count else store.schedules(target["id"], unfinished=True)
        wanted = sum(due(s, now) for s in schedules) if schedules else (
            count or int(deployment.settings["planting"]["rotate_count"]))
        if not wanted:
            rotations.append(Rotation(target["name"], skipped="nothing due; " + _schedule_progress(schedules)))
            continue
        try:
            result = plant_into_target(deployment, target["name"], wanted, rng=rng, now=now)
        except Exception as error:  # noqa: BLE001 - one target's trouble must not stop the others' rotation
            text = " ".join(str(error).split())
            if not isinstance(error, (PlantingError, ValueError, OSError)):
                text = f"{type(error).__name__}: {text}"
            rotations.append(Rotation(target["name"], error=text))
            continue
        # What was planted counts, oldest schedule first (beyond_holes = "wait" may plant fewer than due).
        planted = len(result.canaries)
        for schedule in schedules:
            step = min(planted, due(schedule, now))
            store.advance_schedule(schedule["id"], step)
            planted -= step
        if schedules:
            done = [s for s in store.schedules(target["id"]) if s["id"] in {d["id"] for d in schedules}]
            result.notes.append(_schedule_progress(done))
        rotations.append(Rotation(target["name"], result))
    return rotations


def _schedule_progress(schedules: list[dict]) -> str:
    return "; ".join(f"schedule {s['id']}: {s['planted']} of {s['total']} planted, until {s['ends_at'][:10]}"
                     for s in schedules)
