"""Keys from the database's own machinery (sequences, identity, AUTO_INCREMENT), schemas, and type-aware check."""
from __future__ import annotations

import datetime as dt
import decimal
import pathlib
import random

import pytest
from labdb import MAPPING as LAB_MAPPING

from canary.planting.base import PlantingError
from canary.planting.plant import check_target, plant_into_target
from canary.planting.typed import same_value
from canary.planting.registration import add_target

psycopg = pytest.importorskip("psycopg")

# The shape of an open-source LIS whose software calls nextval itself: no key defaults at all.
PG_SCHEMA = """
CREATE SCHEMA lims;
SET search_path = lims;
CREATE SEQUENCE patient_seq;
CREATE SEQUENCE note_seq;
CREATE TABLE patient (id numeric(10,0) PRIMARY KEY, name varchar(60) NOT NULL, sex char(3) NOT NULL,
                      birth timestamp NOT NULL, seen date NOT NULL, vip boolean NOT NULL DEFAULT false,
                      stamp timestamp(6) NOT NULL);
CREATE TABLE note (id numeric(10,0) PRIMARY KEY, patient_id numeric(10,0) NOT NULL REFERENCES patient (id),
                   body text NOT NULL);
INSERT INTO patient VALUES (1, 'HOST', 'F', '1950-01-01', '2020-01-01', false, '2020-06-30 10:00:00.123456');
SELECT setval('patient_seq', 1);
INSERT INTO note VALUES (7, 1, 'first');
SELECT setval('note_seq', 7);
"""
MAPPING = """
[host]
clock = "now"
[[table]]
name = "patient"
[table.columns]
id = {{ generate = "sequence", sequence = "patient_seq" }}
name = {{ field = "last_name" }}
sex = {{ field = "sex" }}
birth = {{ field = "birth_date" }}
seen = {{ moment = true, format = "native" }}
vip = false
stamp = {{ moment = true }}
[[table]]
name = "note"
[table.columns]
id = {{ generate = "{note_key}"{note_sequence} }}
patient_id = {{ ref = "patient" }}
body = {{ field = "comment", default = "RAS" }}
"""


def _target(deployment, tmp_path, location, note_key="max+1", note_sequence=', sequence = "note_seq"',
            schema="lims", kind="postgresql"):
    path = tmp_path / "mapping.toml"
    path.write_text(MAPPING.format(note_key=note_key, note_sequence=note_sequence))
    deployment.store.add_site("Lab")
    return add_target(deployment, "lims", "Lab", kind=kind, location=location, mapping=str(path), schema=schema)


@pytest.fixture
def pg_lims(postgres_db):
    with psycopg.connect(postgres_db, autocommit=True) as conn:
        conn.execute(PG_SCHEMA)
    return postgres_db


def test_postgresql_keys_come_from_the_softwares_sequences_and_the_software_never_collides(
        deployment, tmp_path, pg_lims):
    _target(deployment, tmp_path, pg_lims)
    result = plant_into_target(deployment, "lims", 5, rng=random.Random(1))
    ids = [p.rows[0]["key"]["id"] for p in result.canaries]
    assert ids == [2, 3, 4, 5, 6]                           # nextval('patient_seq'): JSON integers, not Decimal
    notes = [p.rows[1]["key"]["id"] for p in result.canaries]
    assert notes == [8, 9, 10, 11, 12]                      # max+1 ...
    with psycopg.connect(pg_lims, autocommit=True) as conn:
        conn.execute("SET search_path = lims")
        # ... and the software's next nextval() passes them all.
        assert conn.execute("SELECT nextval('note_seq')").fetchone()[0] == 13
        assert conn.execute("SELECT nextval('patient_seq')").fetchone()[0] == 7
    # CHAR(3) padding, a date in a timestamp, a moment in a DATE, a boolean, numeric keys: nothing "altered".
    assert [c.status for c in check_target(deployment, "lims")] == ["present"] * 5


def test_a_schema_outside_public_without_the_option_gets_a_hint(deployment, tmp_path, pg_lims):
    with pytest.raises(PlantingError, match=r"no tables in schema public; schemas with tables: lims \(2 tables\): "
                                            r"give the target --schema NAME"):
        _target(deployment, tmp_path, pg_lims, schema=None)


def test_a_sequence_that_does_not_exist_names_the_column(deployment, tmp_path, pg_lims):
    _target(deployment, tmp_path, pg_lims, note_key="sequence", note_sequence=', sequence = "nope_seq"')
    with pytest.raises(PlantingError, match=r"note\.id: sequence nope_seq: .*does not exist"):
        plant_into_target(deployment, "lims", 1, rng=random.Random(2))


MY_SCHEMA = [
    "CREATE SEQUENCE patient_seq",
    "CREATE TABLE patient (id DECIMAL(10,0) PRIMARY KEY, name VARCHAR(60) NOT NULL, sex CHAR(3) NOT NULL, "
    "birth DATETIME NOT NULL, seen DATE NOT NULL, vip BOOLEAN NOT NULL DEFAULT FALSE, stamp DATETIME(6) NOT NULL)",
    "CREATE TABLE note (id INT AUTO_INCREMENT PRIMARY KEY, patient_id DECIMAL(10,0) NOT NULL, body TEXT NOT NULL, "
    "FOREIGN KEY (patient_id) REFERENCES patient (id))",
    "INSERT INTO patient VALUES (1, 'HOST', 'F', '1950-01-01', '2020-01-01', FALSE, '2020-06-30 10:00:00.123456')",
    "SELECT SETVAL(patient_seq, 1)",
    "INSERT INTO note VALUES (7, 1, 'first')",
]


def test_mariadb_sequences_and_auto_increment_pass_every_planted_key(deployment, tmp_path, mariadb_db):
    import pymysql

    from canary.planting.mysql import connection_arguments
    with pymysql.connect(**connection_arguments(mariadb_db)) as conn:
        for statement in MY_SCHEMA:
            conn.cursor().execute(statement)
    _target(deployment, tmp_path, mariadb_db, note_sequence="", schema=None, kind="mysql")
    result = plant_into_target(deployment, "lims", 4, rng=random.Random(3))
    assert [p.rows[0]["key"]["id"] for p in result.canaries] == [2, 3, 4, 5]
    assert [p.rows[1]["key"]["id"] for p in result.canaries] == [8, 9, 10, 11]
    with pymysql.connect(**connection_arguments(mariadb_db)) as conn:
        cursor = conn.cursor()
        cursor.execute("INSERT INTO note (patient_id, body) VALUES (1, 'the application')")
        assert cursor.lastrowid == 12
        cursor.execute("SELECT NEXTVAL(patient_seq)")
        assert cursor.fetchone()[0] == 6
    assert [c.status for c in check_target(deployment, "lims")] == ["present"] * 4


@pytest.mark.parametrize("written, found, column_type", [
    ("F", "F  ", "character(3)"),
    ("1950-01-01", dt.datetime(1950, 1, 1), "timestamp without time zone"),
    ("2020-01-01T10:11:12", dt.date(2020, 1, 1), "date"),
    ("2020-01-01T10:11:12.123456", dt.datetime(2020, 1, 1, 10, 11, 12), "datetime"),
    ("5001", decimal.Decimal("5001"), "numeric(10,0)"),
    ("1.50", 1.5, "decimal(4,2)"),
    (False, 0, "tinyint(1)"),
    (True, "t", "boolean"),
])
def test_check_compares_through_the_column_type(written, found, column_type):
    assert same_value(written, found, column_type)


@pytest.mark.parametrize("written, found, column_type", [
    ("F", "M  ", "character(3)"),
    ("1950-01-01", dt.datetime(1950, 1, 2), "timestamp without time zone"),
    ("5001", decimal.Decimal("5002"), "numeric(10,0)"),
    (True, 0, "boolean"),
    ("Dupont", "DUPONT", "varchar(60)"),
])
def test_check_still_sees_a_real_change(written, found, column_type):
    assert not same_value(written, found, column_type)


def test_plant_piped_into_head_ends_quietly_after_the_commit(tmp_path, lab_db):
    import subprocess
    import sys
    canary = str(pathlib.Path(sys.executable).parent / "canary")
    home = tmp_path / "home"
    mapping = LAB_MAPPING
    for args in (["init", "--zone", "canary.test"], ["site", "add", "Lab"],
                 ["target", "add", "lims", "--site", "Lab", "--kind", "sqlite", "--location", str(lab_db),
                  "--mapping", str(mapping)]):
        subprocess.run([canary, *args, "--home", str(home)], check=True, capture_output=True)
    shell = f"set -o pipefail; {canary} plant lims --count 40 --home {home} | head -1"
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True)
    assert done.stdout.startswith("Planted 40 canaries")
    assert "Broken pipe" not in done.stderr and done.returncode == 0


def test_a_terminal_gets_a_progress_bar_and_a_pipe_none(tmp_path, lab_db):
    import os
    import pty
    import subprocess
    import sys
    canary = str(pathlib.Path(sys.executable).parent / "canary")
    home = tmp_path / "home"
    mapping = LAB_MAPPING
    for args in (["init", "--zone", "canary.test"], ["site", "add", "Lab"],
                 ["target", "add", "lims", "--site", "Lab", "--kind", "sqlite", "--location", str(lab_db),
                  "--mapping", str(mapping)]):
        subprocess.run([canary, *args, "--home", str(home)], check=True, capture_output=True)
    piped = subprocess.run([canary, "plant", "lims", "--count", "30", "--home", str(home)], capture_output=True,
                           text=True, check=True)
    assert "Planting into" not in piped.stderr + piped.stdout
    leader, follower = pty.openpty()
    with os.fdopen(leader, "rb", buffering=0) as terminal:
        process = subprocess.Popen([canary, "plant", "lims", "--count", "30", "--home", str(home)],
                                   stdout=subprocess.DEVNULL, stderr=follower)
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = terminal.read(4096)
            except OSError:          # the terminal closed: the plant is over
                break
            if not chunk:
                break
            seen += chunk
        assert process.wait() == 0
    assert b"Planting into lims" in seen and b"100%" in seen
