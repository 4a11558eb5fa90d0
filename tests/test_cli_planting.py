"""`canary target add` checks, then plant, check, retire, rotate and confirm as a user runs them."""
import json
import pathlib
import sqlite3

import pytest
from labdb import MAPPING, dump_sqlite

from canary.cli import main


@pytest.fixture
def lims(invoke, lab_db):
    invoke("site", "add", "Labo Rennes Nord")
    result = invoke("target", "add", "lims", "--site", "Labo Rennes Nord", "--kind", "sqlite",
                    "--location", str(lab_db), "--mapping", str(MAPPING))
    assert "mapping checked against the target's schema" in result.output
    return lab_db


@pytest.mark.parametrize("args, message", [
    (["--kind", "oracle"], "unknown target kind 'oracle'"),
    (["--kind", "sqlite"], "a sqlite target needs --location"),
    (["--kind", "sqlite", "--location", "/nonexistent.db", "--mapping", str(MAPPING)], "no such file"),
    (["--kind", "postgresql", "--location", "lab.db", "--mapping", str(MAPPING)], "not a PostgreSQL DSN"),
    (["--kind", "postgresql", "--location", "postgresql://lab:s3cret@127.0.0.1/lab", "--mapping", str(MAPPING)],
     "keep the password out of the DSN"),
    (["--kind", "postgresql", "--location", "dbname=lab password=s3cret", "--mapping", str(MAPPING)],
     "keep the password out of the DSN"),
    (["--kind", "sql", "--location", "/nonexistent-dir", "--mapping", str(MAPPING)], "not a directory"),
    (["--kind", "sqlite", "--location", "LAB"], "needs --mapping"),
    (["--kind", "manual", "--mapping", str(MAPPING)], "a manual target has no mapping"),
])
def test_target_add_refuses_what_cannot_be_planted(invoke, lab_db, args, message):
    invoke("site", "add", "Lab")
    args = [str(lab_db) if a == "LAB" else a for a in args]
    result = invoke("target", "add", "t", "--site", "Lab", *args, expect_exit=1)
    assert message in result.output and "Traceback" not in result.output and "s3cret" not in result.output
    assert json.loads(invoke("target", "list", "--json").output) == []


def test_target_add_checks_the_mapping_against_the_real_schema(invoke, lab_db, tmp_path):
    invoke("site", "add", "Lab")
    conn = sqlite3.connect(lab_db)
    conn.execute("ALTER TABLE adresse RENAME COLUMN commune TO ville")
    conn.commit()
    conn.close()
    result = invoke("target", "add", "t", "--site", "Lab", "--kind", "sqlite", "--location", str(lab_db),
                    "--mapping", str(MAPPING), expect_exit=1)
    assert "adresse.commune: no such column in the target" in result.output
    assert "adresse.ville is NOT NULL and the mapping gives it no value" in result.output


def test_plant_check_retire_from_the_command_line(invoke, lims, deployment):
    before = dump_sqlite(lims)
    dry = invoke("plant", "lims", "--count", "2", "--dry-run", "--seed", "1")
    assert "nothing written" in dry.output and "patient (id=5001)" in dry.output
    assert dump_sqlite(lims) == before
    planted = invoke("plant", "lims", "--count", "3", "--seed", "2")
    assert planted.output.startswith("Planted 3 canaries in lims (sqlite)")
    assert "3 present, 0 missing, 0 altered" in invoke("check", "lims").output
    # Ids in planting order (on PostgreSQL the dry run's rolled-back ids are not reused).
    first, second, third = [p["canary_id"] for p in deployment.store.plantings()]
    conn = sqlite3.connect(lims)
    with conn:
        conn.execute("DELETE FROM adresse WHERE patient_id = 5002")
    result = invoke("check", "lims", expect_exit=2)
    assert f"canary {second} missing: adresse id=" in result.output
    assert "give exactly one of" in invoke("retire", "lims", expect_exit=1).output
    assert "Retired 1 canaries" in invoke("retire", "lims", "--canary", str(first)).output
    checked = json.loads(invoke("check", "lims", "--json", expect_exit=2).output)
    assert [(c["canary"], c["status"]) for c in checked] == [(second, "missing"), (third, "present")]


def test_rotate_and_confirm(invoke, lims):
    invoke("target", "add", "paper", "--site", "Labo Rennes Nord")
    result = invoke("rotate", "--count", "1")
    assert "lims: planted 1 canaries" in result.output and "paper: skipped" in result.output
    manual = invoke("plant", "paper", "--count", "2")
    assert "enter them by hand" in manual.output and "  address_postal_code: " in manual.output
    assert "  nir: " in manual.output and "@" in manual.output
    assert "Confirmed 2 canaries in paper" in invoke("confirm", "paper").output
    assert "Nothing pending" in invoke("confirm", "paper").output


def test_rotate_reports_a_broken_target_and_goes_on(invoke, lims, tmp_path):
    other = tmp_path / "other.db"
    other.write_bytes(lims.read_bytes())
    invoke("target", "add", "lims2", "--site", "Labo Rennes Nord", "--kind", "sqlite", "--location",
           str(other), "--mapping", str(MAPPING))
    lims.rename(tmp_path / "moved.db")
    result = invoke("rotate", expect_exit=1)
    assert "lims: FAILED" in result.output and "no such file" in result.output
    assert "lims2: planted 2 canaries" in result.output


@pytest.mark.parametrize("command", ["plant", "check", "retire", "rotate", "confirm"])
def test_every_planting_command_has_help_with_an_example(command):
    from click.testing import CliRunner
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "Example: canary " + command in result.output


def test_plant_json_lists_rows_and_values(invoke, lims):
    planted = json.loads(invoke("plant", "lims", "--count", "2", "--json").output)
    assert planted["state"] == "planted" and len(planted["canaries"]) == 2
    first = planted["canaries"][0]
    assert first["rows"][0] == {"table": "patient", "key": {"id": 5001}}
    assert "nir" in first["values"][0]
    assert all(c["email"] is None or c["email"].endswith(".canary.test") for c in planted["canaries"])


def test_a_script_target_without_a_readable_copy_cannot_be_checked(invoke, tmp_path):
    invoke("site", "add", "Lab")
    (tmp_path / "out").mkdir()
    invoke("target", "add", "export", "--site", "Lab", "--kind", "sql", "--location", str(tmp_path / "out"),
           "--mapping", str(MAPPING))
    result = invoke("check", "export", expect_exit=1)
    assert "give its mapping [host] database" in result.output
    # Nothing to learn key schemes from: the mapping has to say them.
    result = invoke("plant", "export", expect_exit=1)
    assert "patient.ipp: cannot learn the host's key scheme" in result.output
    assert list((tmp_path / "out").iterdir()) == []


def test_an_unreachable_postgresql_target_is_named_in_every_error(invoke):
    import socket
    with socket.socket() as probe:            # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dsn = f"postgresql://canary@127.0.0.1:{port}/lab"
    invoke("site", "add", "Lab")
    added = invoke("target", "add", "lims-pg", "--site", "Lab", "--kind", "postgresql", "--location", dsn,
                   "--mapping", str(MAPPING))
    assert "mapping not checked against the schema: target lims-pg: postgresql target: cannot connect" in added.output
    for command in (["plant", "lims-pg"], ["check", "lims-pg"], ["rotate"]):
        result = invoke(*command, expect_exit=1)
        assert "lims-pg: postgresql target: cannot connect" in result.output and "Traceback" not in result.output
        assert len([line for line in result.output.splitlines() if "cannot connect" in line]) == 1
    assert json.loads(invoke("target", "list", "--json").output)[0]["canaries"] == 0


def test_check_says_when_scripts_wait_for_a_dba(invoke, lab_db, tmp_path):
    mapping = tmp_path / "export.toml"
    mapping.write_text(MAPPING.read_text().replace("[host]\n", f'[host]\ndatabase = "{lab_db}"\n'))
    (tmp_path / "out").mkdir()
    invoke("site", "add", "Lab")
    invoke("target", "add", "export", "--site", "Lab", "--kind", "sql", "--location", str(tmp_path / "out"),
           "--mapping", str(mapping))
    invoke("plant", "export", "--count", "2", "--seed", "3")
    waiting = invoke("check", "export", expect_exit=2).output   # not clean while a script waits
    assert "0 canaries planted" in waiting and "2 canaries pending" in waiting and "canary confirm export" in waiting
    script = next((tmp_path / "out").glob("*.postgresql.sql"))
    conn = sqlite3.connect(lab_db)
    conn.executescript(script.read_text())
    conn.close()
    invoke("confirm", "export")
    applied = invoke("check", "export").output
    assert "2 present, 0 missing, 0 altered" in applied and "pending" not in applied


def test_confirm_script_confirms_only_the_canaries_of_the_script_applied(invoke, lab_db, tmp_path):
    mapping = tmp_path / "export.toml"
    mapping.write_text(MAPPING.read_text().replace("[host]\n", f'[host]\ndatabase = "{lab_db}"\n'))
    out = tmp_path / "out"
    out.mkdir()
    invoke("site", "add", "Lab")
    for name in ("export", "other"):
        invoke("target", "add", name, "--site", "Lab", "--kind", "sql", "--location", str(out), "--mapping",
               str(mapping))
    first = json.loads(invoke("plant", "export", "--count", "2", "--seed", "4", "--json").output)
    second = json.loads(invoke("plant", "export", "--count", "1", "--seed", "5", "--json").output)
    applied = next(p for p in first["scripts"] if p.endswith(".postgresql.sql"))
    conn = sqlite3.connect(lab_db)
    conn.executescript(pathlib.Path(applied).read_text())     # the DBA applies the first script only
    conn.close()
    wrong = invoke("confirm", "other", "--script", applied, expect_exit=1)
    assert "is not a plant script of target other" in wrong.output
    assert "Confirmed 2 canaries in export" in invoke("confirm", "export", "--script", applied).output
    assert "Nothing pending" in invoke("confirm", "export", "--script", applied).output
    checked = invoke("check", "export", expect_exit=2).output
    assert "2 present, 0 missing, 0 altered" in checked and "1 canaries pending" in checked
    mysql = next(p for p in second["scripts"] if p.endswith(".mysql.sql"))
    assert f"-- canaries: {second['canaries'][0]['canary']}\n" in pathlib.Path(mysql).read_text()
    assert "`canary confirm export --script` with this file" in pathlib.Path(mysql).read_text()


def test_retire_rotate_and_confirm_speak_json(invoke, lims):
    invoke("plant", "lims", "--count", "2", "--seed", "6")
    retired = json.loads(invoke("retire", "lims", "--canary", "1", "--json").output)
    assert retired["target"] == "lims" and retired["retired"] == [1] and retired["rows"] > 0
    invoke("target", "add", "paper", "--site", "Labo Rennes Nord")
    rotated = {r["target"]: r for r in json.loads(invoke("rotate", "--count", "1", "--json").output)}
    assert rotated["lims"]["state"] == "planted" and len(rotated["lims"]["canaries"]) == 1
    assert rotated["paper"]["skipped"] and rotated["paper"]["canaries"] == []
    invoke("plant", "paper", "--count", "1")
    confirmed = json.loads(invoke("confirm", "paper", "--json").output)
    assert confirmed["target"] == "paper" and len(confirmed["confirmed"]) == 1
