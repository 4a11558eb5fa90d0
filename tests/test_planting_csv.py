"""CSV extracts: canaries appended in the extract's own dialect, encoding and line endings."""
import csv
import io
import random
import re
import shutil

import pytest


from canary.demo.labdb import DATA as EXAMPLES
from canary.demo.seeding import write_vendor_extract
from canary.planting import value_formats
from canary.planting.plant import check_target, plant_into_target, retire
from canary.planting.registration import add_target



@pytest.fixture
def extract(lab_db, tmp_path):
    """A French spreadsheet export of 500 of the lab's patients, with its mapping beside it."""
    path = write_vendor_extract(lab_db, tmp_path / "patients.csv", limit=500)  # table name: the file stem
    shutil.copy(EXAMPLES / "extract_mapping.toml", tmp_path / "extract.toml")
    return path


def test_canaries_are_appended_in_the_extracts_own_format(deployment, extract):
    before = extract.read_bytes()
    deployment.store.add_site("Labo Brest")
    add_target(deployment, "extract", "Labo Brest", kind="csv", location=str(extract),
               mapping=str(extract.parent / "extract.toml"))
    result = plant_into_target(deployment, "extract", 5, rng=random.Random(31))
    after = extract.read_bytes()
    assert after.startswith(before) and after.count(b"\r\n") == before.count(b"\r\n") + 5
    text = after.decode("cp1252")
    added = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))[-5:]
    for row, planted in zip(added, result.canaries):
        assert row["NIR"] == value_formats.format_nir(planted.canary["patient"]["nir"], "spaced")
        assert row["NOM"] == row["NOM"].upper() and row["VILLE"] == row["VILLE"].upper()
        assert re.fullmatch(r"\d\d/\d\d/\d{4}", row["DATE_NAISSANCE"])
        assert re.fullmatch(r"0\d( \d\d){4}", row["TELEPHONE"])
        assert re.fullmatch(r"(19|20)\d{8}", row["IPP"])
    assert [c.status for c in check_target(deployment, "extract")] == ["present"] * 5
    retire(deployment, "extract", before="2999-01-01")
    assert extract.read_bytes() == before


def test_a_disk_full_while_appending_leaves_the_extract_as_it_was_and_nothing_planted(deployment, extract,
                                                                                      monkeypatch):
    from labdb import assert_attempt_retired

    from canary.planting import csvfile
    from canary.planting.base import PlantingError
    deployment.store.add_site("Labo Brest")
    add_target(deployment, "extract", "Labo Brest", kind="csv", location=str(extract),
               mapping=str(extract.parent / "extract.toml"))
    before = extract.read_bytes()

    def disk_full(fd):
        assert extract.stat().st_size > len(before)     # the rows did reach the file
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(csvfile.os, "fsync", disk_full)
    with pytest.raises(PlantingError, match=r"patients\.csv: No space left on device"):
        plant_into_target(deployment, "extract", 3, rng=random.Random(32))
    assert extract.read_bytes() == before
    assert_attempt_retired(deployment.store, 3)
