"""A stolen SQLite database file is a leak too: scanned table by table, through sqlite-utils."""
from __future__ import annotations

import gzip
import json
import shutil

import pytest
from labdb import MAPPING


@pytest.fixture
def planted_lab(invoke, lab_db):
    invoke("site", "add", "Labo Rennes Nord")
    invoke("target", "add", "lims", "--site", "Labo Rennes Nord", "--kind", "sqlite", "--location", str(lab_db),
           "--mapping", str(MAPPING))
    planted = json.loads(invoke("plant", "lims", "--count", "3", "--seed", "9", "--json").output)
    return lab_db, [canary["canary"] for canary in planted["canaries"]]


def test_a_copied_database_file_names_its_target(invoke, planted_lab, tmp_path):
    lab_db, canaries = planted_lab
    stolen = tmp_path / "stolen.db"
    shutil.copy(lab_db, stolen)
    result = json.loads(invoke("scan", str(stolen), "--json").output)
    assert [(t["target"], t["canaries_found"]) for t in result["targets"]] == [("lims", 3)]
    assert {m["canary_id"] for m in result["matches"]} == set(canaries)
    assert {m["file"] for m in result["matches"]} >= {f"{stolen}!patient", f"{stolen}!telecom"}
    assert result["files"][0]["members"][0]["format"] == "sqlite"


def test_a_compressed_database_file_is_read_too(invoke, planted_lab, tmp_path):
    lab_db, canaries = planted_lab
    stolen = tmp_path / "stolen.db.gz"
    stolen.write_bytes(gzip.compress(lab_db.read_bytes()))
    result = json.loads(invoke("scan", str(stolen), "--json").output)
    assert {m["canary_id"] for m in result["matches"]} == set(canaries)


def test_a_damaged_database_file_is_one_clear_error(invoke, planted_lab, tmp_path):
    lab_db, _ = planted_lab
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(lab_db.read_bytes()[:100] + b"\xff" * 4096)
    result = invoke("scan", str(damaged), expect_exit=1)
    assert "damaged.db" in result.output and "SQLite" in result.output and "Traceback" not in result.output
