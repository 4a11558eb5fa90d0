"""CSV extracts: canaries appended in the extract's own dialect, encoding and line endings."""
import csv
import io
import random
import re
import sqlite3

import pytest


from canary.planting import formats
from canary.planting.plant import check_target, plant_into_target, retire
from canary.targets import add_target

MAPPING = """
[[table]]
name = "extract"
key = ["NIR"]
[table.columns]
IPP = { generate = "pattern" }
NOM = { field = "last_name" }
PRENOM = { field = "first_name" }
DATE_NAISSANCE = { field = "birth_date" }
NIR = { field = "nir" }
CP = { field = "address.postal_code" }
VILLE = { field = "address.commune" }
TELEPHONE = { field = "phone" }
EMAIL = { field = "email" }
"""


@pytest.fixture
def extract(lab_db, tmp_path):
    """A French spreadsheet export of the lab: semicolons, Windows-1252, CRLF, grouped NIRs."""
    conn = sqlite3.connect(lab_db)
    rows = conn.execute(
        "SELECT p.ipp, p.nom_usage, p.prenom, p.date_naissance, coalesce(p.nir, ''), a.code_postal, a.commune, "
        "coalesce((SELECT valeur FROM telecom t WHERE t.patient_id = p.id AND type <> 'EMAIL'), ''), "
        "coalesce((SELECT valeur FROM telecom t WHERE t.patient_id = p.id AND type = 'EMAIL'), '') "
        "FROM patient p JOIN adresse a ON a.patient_id = p.id ORDER BY p.id LIMIT 500").fetchall()
    conn.close()
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["IPP", "NOM", "PRENOM", "DATE_NAISSANCE", "NIR", "CP", "VILLE", "TELEPHONE", "EMAIL"])
    # This extract writes NIRs in groups, as they are printed on a carte Vitale.
    writer.writerows([row[:4] + (formats.format_nir(row[4], "spaced"),) + row[5:] for row in rows])
    path = tmp_path / "extract.csv"
    path.write_bytes(buffer.getvalue().encode("cp1252"))
    (tmp_path / "extract.toml").write_text(MAPPING)
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
        assert row["NIR"] == formats.format_nir(planted.canary["patient"]["nir"], "spaced")
        assert row["NOM"] == row["NOM"].upper() and row["VILLE"] == row["VILLE"].upper()
        assert re.fullmatch(r"\d\d/\d\d/\d{4}", row["DATE_NAISSANCE"])
        assert re.fullmatch(r"0\d( \d\d){4}", row["TELEPHONE"])
        assert re.fullmatch(r"(19|20)\d{8}", row["IPP"])
    assert [c.status for c in check_target(deployment, "extract")] == ["present"] * 5
    retire(deployment, "extract", before="2999-01-01")
    assert extract.read_bytes() == before
