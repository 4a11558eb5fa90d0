"""`sql` targets: a reviewable script that applies cleanly with sqlite3 and psql, then `confirm` and `check`."""
import pathlib
import random
import shutil
import sqlite3
import subprocess

import pytest
from labdb import EXAMPLES, MAPPING, load_example

from canary.planting.plant import check_target, confirm, plant_into_target, retire
from canary.planting.registration import add_target

# Without a readable copy of the host nothing can be learnt: the mapping says the formats itself.
EXPLICIT = {
    'ipp = { generate = "pattern" }': 'ipp = { generate = "pattern", pattern = "{yyyy}{seq:6}" }',
    'numero = { generate = "pattern" }': 'numero = { generate = "pattern", pattern = "{yy}-{mmdd}-{seq:6}" }',
    'nom_usage = { field = "last_name" }': 'nom_usage = { field = "last_name", format = "upper" }',
    'date_naissance = { field = "birth_date" }': 'date_naissance = { field = "birth_date", format = "DD/MM/YYYY" }',
    'cree_le = { moment = true }': 'cree_le = { moment = true, format = "YYYY-MM-DD HH:MM:SS" }',
    'sample = ["code", "libelle", "unite"]': '',
    'valeur = { host = true, by = "code" }': 'code = "GLY"\nlibelle = "Glycémie à jeun"\nunite = "g/L"',
}


def need(program):
    if shutil.which(program) is None:
        pytest.fail(f"{program} is not installed: .ci/services.sh installs it")


def script_mapping(tmp_path, database=None):
    text = MAPPING.read_text()
    for old, new in EXPLICIT.items():
        assert old in text
        text = text.replace(old, new)
    text = text.replace('schema = "lab_schema.sql"', f'schema = "{EXAMPLES / "lab_schema.sql"}"')
    if database:
        text = text.replace("[host]\n", f'[host]\ndatabase = "{database}"\n')
    path = tmp_path / "script_mapping.toml"
    path.write_text(text)
    return path


@pytest.fixture
def export(deployment, tmp_path):
    deployment.store.add_site("Labo Caen")
    (tmp_path / "scripts").mkdir()
    add_target(deployment, "export", "Labo Caen", kind="sql", location=str(tmp_path / "scripts"),
               mapping=str(script_mapping(tmp_path)))
    return tmp_path / "scripts"


def test_script_applies_cleanly_to_a_fresh_schema_with_sqlite3(deployment, export, tmp_path):
    need("sqlite3")
    result = plant_into_target(deployment, "export", 3, rng=random.Random(21))
    assert result.state == "pending" and len(result.scripts) == 2
    postgresql_script = next(p for p in result.scripts if p.endswith(".postgresql.sql"))
    mysql_script = next(p for p in result.scripts if p.endswith(".mysql.sql"))
    mysql_text = pathlib.Path(mysql_script).read_text()
    assert "`patient`" in mysql_text and "START TRANSACTION;" in mysql_text
    fresh = tmp_path / "fresh.db"
    subprocess.run(["sqlite3", str(fresh)], input=(EXAMPLES / "lab_schema.sql").read_text(), text=True, check=True)
    applied = subprocess.run(["sqlite3", "-bail", "-cmd", "PRAGMA foreign_keys = ON", str(fresh)],
                             input=pathlib.Path(postgresql_script).read_text(), capture_output=True, text=True)
    assert applied.returncode == 0 and applied.stderr == ""
    conn = sqlite3.connect(fresh)
    assert conn.execute("SELECT count(*) FROM patient").fetchone()[0] == 3
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    expected_rows = sum(len(p.rows) for p in result.canaries)
    counted = sum(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("patient", "adresse", "telecom", "dossier", "resultat"))
    assert counted == expected_rows
    ipps = {r[0] for r in conn.execute("SELECT ipp FROM patient")}
    assert ipps == {p.rows[0]["key"]["ipp"] for p in result.canaries}
    assert {p["state"] for p in deployment.store.plantings()} == {"pending"}
    assert confirm(deployment, "export") and {p["state"] for p in deployment.store.plantings()} == {"planted"}


def test_keys_stay_unique_across_scripts_not_yet_applied(deployment, export, tmp_path):
    need("sqlite3")
    first = plant_into_target(deployment, "export", 2, rng=random.Random(25))
    second = plant_into_target(deployment, "export", 2, rng=random.Random(26))
    ipps = [p.rows[0]["key"]["ipp"] for p in first.canaries + second.canaries]
    assert len(set(ipps)) == 4
    fresh = tmp_path / "fresh.db"
    subprocess.run(["sqlite3", str(fresh)], input=(EXAMPLES / "lab_schema.sql").read_text(), text=True, check=True)
    for result in (first, second):
        script = next(p for p in result.scripts if p.endswith(".postgresql.sql"))
        subprocess.run(["sqlite3", "-bail", str(fresh)], input=pathlib.Path(script).read_text(), text=True,
                       check=True)


def test_script_applies_cleanly_with_psql(deployment, export, postgres_db):
    need("psql")
    import psycopg
    schema = load_example("lab_to_postgresql")
    with psycopg.connect(postgres_db) as conn:
        schema.create_schema(conn)
    result = plant_into_target(deployment, "export", 3, rng=random.Random(22))
    script = next(p for p in result.scripts if p.endswith(".postgresql.sql"))
    applied = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", postgres_db, "-f", script],
                             capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr
    with psycopg.connect(postgres_db) as conn:
        assert conn.execute("SELECT count(*) FROM patient").fetchone()[0] == 3
        assert conn.execute("SELECT count(*) FROM resultat").fetchone()[0] == \
            sum(1 for p in result.canaries for r in p.rows if r["table"] == "resultat")


def test_script_against_a_readable_copy_learns_confirms_checks_and_retires(deployment, lab_db, tmp_path):
    need("sqlite3")
    deployment.store.add_site("Labo Caen")
    (tmp_path / "out").mkdir()
    add_target(deployment, "export", "Labo Caen", kind="sql", location=str(tmp_path / "out"),
               mapping=str(script_mapping(tmp_path, database=lab_db)))
    result = plant_into_target(deployment, "export", 2, rng=random.Random(23))
    script = next(p for p in result.scripts if p.endswith(".postgresql.sql"))
    subprocess.run(["sqlite3", "-bail", str(lab_db)], input=pathlib.Path(script).read_text(), text=True, check=True)
    confirm(deployment, "export")
    assert [c.status for c in check_target(deployment, "export")] == ["present", "present"]
    _, scripts = retire(deployment, "export", before="2999-01-01")
    retire_script = next(p for p in scripts if p.endswith(".postgresql.sql"))
    subprocess.run(["sqlite3", "-bail", str(lab_db)], input=pathlib.Path(retire_script).read_text(), text=True, check=True)
    conn = sqlite3.connect(lab_db)
    assert conn.execute("SELECT count(*) FROM patient").fetchone()[0] == 5000
    assert conn.execute("SELECT count(*) FROM dossier WHERE id > (SELECT max(id) FROM dossier WHERE patient_id <= 5000)"
                        ).fetchone()[0] == 0


def test_dry_run_prints_the_script_and_writes_no_file(deployment, export):
    result = plant_into_target(deployment, "export", 1, dry_run=True, rng=random.Random(24))
    assert "INSERT INTO \"patient\"" in result.script_text and not list(export.iterdir())
    assert deployment.store.plantings() == []


def test_each_script_says_how_to_apply_it_and_the_mysql_one_sets_its_character_set(deployment, export):
    from canary.planting.sqlscript import SqlScriptTarget
    plant = plant_into_target(deployment, "export", 1, rng=random.Random(27))
    _, retire_scripts = retire(deployment, "export", before="2999-01-01")
    for path in plant.scripts + retire_scripts:
        text = pathlib.Path(path).read_text("utf-8")
        header = text.split("BEGIN;" if path.endswith(".postgresql.sql") else "START TRANSACTION;")[0]
        assert ("ON_ERROR_STOP=1" in header) if path.endswith(".postgresql.sql") else ("SET NAMES utf8mb4;" in header)
        # A retire script is not followed by `canary confirm`: the removal is already recorded.
        assert ("canary confirm export" in header) == ("-plant-" in path)
    # A row with nothing to write is DEFAULT VALUES in PostgreSQL, () VALUES () in MySQL.
    script = SqlScriptTarget("empty", str(export), None)
    with script.transaction():
        script.insert("journal", {}, ["id"], None)
        assert "INSERT INTO `journal` () VALUES ();" in script.render("mysql", "plant")
        assert 'INSERT INTO "journal" DEFAULT VALUES;' in script.render("postgresql", "plant")


def test_a_disk_full_while_writing_the_scripts_leaves_no_script_and_no_planting(deployment, export, monkeypatch):
    from labdb import assert_attempt_retired

    from canary.planting import sqlscript
    from canary.planting.base import PlantingError
    real_replace, replaced = sqlscript.os.replace, []

    def replace_then_disk_full(source, destination):
        if replaced:                              # the PostgreSQL script is in place, the MySQL one fails
            raise OSError(28, "No space left on device")
        replaced.append(destination)
        return real_replace(source, destination)

    monkeypatch.setattr(sqlscript.os, "replace", replace_then_disk_full)
    with pytest.raises(PlantingError, match="cannot write its scripts .*No space left on device"):
        plant_into_target(deployment, "export", 2, rng=random.Random(28))
    assert replaced and list(export.iterdir()) == []
    assert_attempt_retired(deployment.store, 2)
