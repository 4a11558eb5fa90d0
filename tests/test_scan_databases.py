"""Raw database copies as leaks: a planted SQLite lab copied and scanned, a pg_dump -Fc, hostile files;
and the issue's backwards scenario end to end (plant, DNS lookup, plant, copy, scan, report)."""
from __future__ import annotations

import gzip
import hashlib
import random
import shutil
import sqlite3
import subprocess

import dns.message
import dns.query
import pytest
from click.testing import CliRunner
from labdb import MAPPING
from services import service_missing

from canary.cli import main
from canary.generation.issuing import Issuer
from canary.planting.plant import plant_into_target
from canary.scan import scan_files
from canary.scan.leakgen import COLUMNS, leak_row, population
from canary.planting.registration import add_target
from listeners.dns import Authority
from listeners.dns_server import DnsServer

from investigation_world import build_world


@pytest.fixture
def lims(deployment, lab_db):
    deployment.store.add_site("Labo Rennes Nord")
    add_target(deployment, "lims", "Labo Rennes Nord", kind="sqlite", location=str(lab_db), mapping=str(MAPPING))
    return lab_db


def planted_rows(result) -> dict[int, dict[str, int]]:
    """Per canary, the rowid of its row in each table."""
    return {p.canary["id"]: {row["table"]: row["key"]["id"] for row in p.rows} for p in result.canaries}


def test_a_sqlite_copy_of_a_planted_lab_is_scanned_and_attributed_with_table_and_row(deployment, lims, tmp_path):
    planted = plant_into_target(deployment, "lims", 4, rng=random.Random(3))
    loot = tmp_path / "loot"
    loot.mkdir()
    copy = loot / "stolen.db"
    shutil.copy(lims, copy)
    before = hashlib.sha256(copy.read_bytes()).hexdigest()
    result = scan_files(deployment, [str(copy)], record=False)
    (target,) = result.targets
    # In a normalised copy a phone sits in its own telecom row, without the names that would
    # corroborate it: a canary the host model left with a phone alone (as some host patients
    # have) is not counted, and the copy then looks partial. Every other canary is found.
    countable = [p for p in planted.canaries if p.canary["patient"]["email"] or p.canary["patient"]["nir"]]
    assert len(countable) >= 2
    assert (target.target, target.canaries_found, target.complete) == (
        "lims", len(countable), len(countable) == len(planted.canaries))
    rows = planted_rows(planted)
    for match in result.matches:
        table = match.file.split("!", 1)[1]
        assert match.file.startswith(f"{copy}!") and match.line == rows[match.owner.canary_id][table]
    assert {m.file.split("!")[1] for m in result.matches} >= {"patient", "telecom"}
    assert result.files[0]["members"][0]["format"] == "sqlite"
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == before                 # never written
    assert sorted(p.name for p in loot.iterdir()) == ["stolen.db"]                  # no journal, no -wal
    compressed = tmp_path / "stolen.db.gz"
    compressed.write_bytes(gzip.compress(copy.read_bytes(), compresslevel=1))
    again = scan_files(deployment, [str(compressed)], record=False)
    assert [(t.target, t.canaries_found) for t in again.targets] == [("lims", len(countable))]


def test_a_hostile_sqlite_file_is_read_only_and_cannot_run_code(deployment, tmp_path):
    """An email of ours hidden in a WITHOUT ROWID table with a hostile name, beside a trigger and a
    view that would load code: found, and the file is never written."""
    token = Issuer(deployment.store, deployment.settings).issue_token("email", note="in a hostile db")
    loot = tmp_path / "loot"
    loot.mkdir()
    path = loot / "hostile.db"
    connection = sqlite3.connect(path)
    connection.executescript(f"""
        CREATE TABLE "we""ird; DROP TABLE x" (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
        INSERT INTO "we""ird; DROP TABLE x" VALUES ('a', 'contact: {token['value']}');
        CREATE TABLE log (id INTEGER PRIMARY KEY, t TEXT);
        CREATE TRIGGER t AFTER INSERT ON log BEGIN DELETE FROM log; END;
        CREATE VIEW v AS SELECT load_extension('/tmp/evil') AS x;
    """)
    connection.commit()
    connection.close()
    before = path.read_bytes()
    result = scan_files(deployment, [str(path)], record=False)
    assert [(m.owner.value, m.file, m.line) for m in result.matches] == [
        (token["value"], f'{path}!we"ird; DROP TABLE x', 1)]
    assert path.read_bytes() == before and sorted(p.name for p in loot.iterdir()) == ["hostile.db"]


def test_a_damaged_sqlite_file_is_one_clear_error(deployment, tmp_path, invoke):
    path = tmp_path / "damaged.db"
    path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 20)
    result = invoke("scan", str(path), expect_exit=1)
    assert "damaged.db" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_pg_dump_custom_format_is_scanned_with_its_table(tmp_path_factory, postgres_db, tmp_path, store_url):
    psycopg = pytest.importorskip("psycopg")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        service_missing("pg_dump/pg_restore are not installed; .ci/services.sh installs PostgreSQL")
    world = build_world(tmp_path_factory.mktemp("pgdump") / "deployment", store_url)
    hidden = world.canaries["lims-prod"][:2]
    rows = [*population(300, seed=8, base=300)]
    rows[100:100] = [leak_row(c["patient"]) for c in hidden]
    with psycopg.connect(postgres_db) as conn:
        conn.execute("CREATE TABLE patients (" + ", ".join(f"{c} text" for c in COLUMNS) + ")")
        with conn.cursor().copy(f"COPY patients ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in COLUMNS])
    dump = tmp_path / "lims.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), postgres_db], check=True)
    result = scan_files(world.deployment, [str(dump)], record=False)
    world.deployment.close()
    assert [(t.target, t.canaries_found) for t in result.targets] == [("lims-prod", 2)]
    assert {(m.file, m.line) for m in result.matches} == {(f"{dump}!public.patients", 101),
                                                          (f"{dump}!public.patients", 102)}
    assert result.files[0]["members"][0]["format"] == "pg_dump"


def test_the_issues_backwards_scenario_gives_a_consistent_window_and_a_note(deployment, lims, recorder, tmp_path):
    """Plant 3, one canary's hostname looked up over DNS, plant 3 more, copy the whole database, scan."""
    # Every canary with an email: in a normalised copy a phone alone sits in its own telecom row,
    # without the name that would corroborate it, so it never counts; this test is about the window.
    deployment.settings["planting"]["contacts"] = "all"
    first = plant_into_target(deployment, "lims", 3, rng=random.Random(1))
    server = DnsServer(Authority.from_settings(deployment.settings), recorder, "127.0.0.1", 0, rrl_rate=0).start()
    try:
        looked_up = first.canaries[0].canary
        name = deployment.store.get_canary(looked_up["id"])["identifiers"]["hostname"][0]
        dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=server.port, timeout=3)
    finally:
        server.stop()
        recorder.stop()                               # every queued contact committed
    second = plant_into_target(deployment, "lims", 3, rng=random.Random(2))
    copy = tmp_path / "copy.db"
    shutil.copy(lims, copy)
    home = str(deployment.settings.home)
    scanned = CliRunner().invoke(main, ["scan", str(copy), "--home", home])
    assert scanned.exit_code == 0, scanned.output
    result = scan_files(deployment, [str(copy)], record=False)
    (target,) = result.targets
    contact = deployment.store.first_contact_times([looked_up["id"]])[looked_up["id"]]
    newest = max(deployment.store.get_canary(p.canary["id"])["planted_at"] for p in second.canaries)
    assert target.canaries_found == 6 and target.taken_after == newest
    assert target.bounds["first_contact"] == contact < target.taken_after
    assert target.taken_before_source == "sighting" and target.taken_after <= target.taken_before
    assert len(target.conflicts) == 1 and "first contact" in target.conflicts[0]
    assert "conflict: the first contact" in scanned.output
    report = CliRunner().invoke(main, ["report", "--target", "lims", "--home", home])
    assert report.exit_code == 0, report.output
    assert "conflict: the first contact" in report.output
    line = next(line for line in report.output.splitlines() if "taken after" in line)
    after, before = line.split("taken after ")[1].split(" and before ")
    assert after <= before.split()[0]
