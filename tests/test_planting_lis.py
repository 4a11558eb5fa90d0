"""The second example LIS (examples/lis: person/patient split, typed identities, address parts, UUIDs,
sequences) planted into SQLite, PostgreSQL and MariaDB: a thief's joins return every canary."""
from __future__ import annotations

import csv
import importlib.util
import pathlib
import random

import pytest

from canary.planting.plant import check_target, plant_into_target
from canary.scan import scan_files
from canary.planting.registration import add_target

LIS = pathlib.Path(__file__).resolve().parent.parent / "examples" / "lis"
CANARIES = 25

# Through the identity rows typed by the lookup table: NIR and GUID of every patient, with the name.
IDENTITY_JOIN = """
SELECT pe.last_name, pe.first_name, nir.identity_data AS nir, guid.identity_data AS guid, p.external_id
FROM patient p
JOIN person pe ON pe.id = p.person_id
JOIN patient_identity nir ON nir.patient_id = p.id
JOIN identity_type tn ON tn.id = nir.identity_type_id AND tn.code = 'NIR'
JOIN patient_identity guid ON guid.patient_id = p.id
JOIN identity_type tg ON tg.id = guid.identity_type_id AND tg.code = 'GUID'
WHERE guid.identity_data = CAST(p.fhir_uuid AS CHAR(36))
"""
# Through the address parts, with the contacts: a mailing list.
ADDRESS_JOIN = """
SELECT pe.last_name, pe.first_name, pc.value AS postal_code, cm.value AS commune, dp.value AS department,
       em.value AS email, ph.value AS phone
FROM person pe
JOIN person_address pc ON pc.person_id = pe.id
JOIN address_part apc ON apc.id = pc.address_part_id AND apc.part_name = 'postal_code'
JOIN person_address cm ON cm.person_id = pe.id
JOIN address_part acm ON acm.id = cm.address_part_id AND acm.part_name = 'commune'
JOIN person_address dp ON dp.person_id = pe.id
JOIN address_part adp ON adp.id = dp.address_part_id AND adp.part_name = 'department'
JOIN contact em ON em.person_id = pe.id AND em.kind = 'EMAIL'
JOIN contact ph ON ph.person_id = pe.id AND ph.kind <> 'EMAIL'
"""
# What the lab's software does next: an insert that leaves every key to the database.
APPLICATION_INSERTS = [
    "INSERT INTO person (last_name, first_name, updated_at) VALUES ('APPLICATION', 'Test', '2024-07-01 08:00:00')",
    "INSERT INTO contact (person_id, kind, value) VALUES (1, 'EMAIL', 'reception@example.com')",
    "INSERT INTO patient (person_id, sex, birth_date, external_id, fhir_uuid, created_at) VALUES "
    "(1, 'F', '1990-01-01 00:00:00', 'LAB-APP-1', '0b9e4c7e-5f4a-4a55-9a43-6f0a1d2c3b4e', '2024-07-01 08:00:00')",
    "INSERT INTO patient_identity (patient_id, identity_type_id, identity_data, updated_at) VALUES "
    "(1, 4, 'APP-1', '2024-07-01 08:00:00')",
]


def _builder():
    spec = importlib.util.spec_from_file_location("make_lis_db", LIS / "make_lis_db.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def lis(request, tmp_path, deployment):
    """(kind, location) of a 300-patient example LIS in each engine, registered as target `lis`."""
    kind = request.param
    if kind == "sqlite":
        location = str(tmp_path / "lis.db")
    elif kind == "postgresql":
        location = request.getfixturevalue("postgres_db")
    else:
        location = request.getfixturevalue("mariadb_db")
    _builder().build(location, 300, 7)
    deployment.store.add_site("Labo Lorient")
    row = add_target(deployment, "lis", "Labo Lorient", kind=kind, location=location,
                     mapping=str(LIS / "mapping.toml"))
    assert row["notes"] == ["mapping checked against the target's schema"]
    return kind, location


def query(location: str, sql: str) -> list[tuple]:
    conn, _ = _builder().connect(location)
    try:
        cursor = conn.cursor()
        cursor.execute(sql)
        return [tuple(r) for r in cursor.fetchall()]
    finally:
        conn.close()


def execute(location: str, statements: list[str]) -> None:
    conn, _ = _builder().connect(location)
    try:
        cursor = conn.cursor()
        for statement in statements:
            cursor.execute(statement)
        conn.commit()
    finally:
        conn.close()


def test_a_thiefs_joins_return_every_canary_and_the_scan_attributes_them(deployment, lis, tmp_path):
    kind, location = lis
    # Every canary with an email and a phone (not at the host's rates): the joins below go through them.
    deployment.settings.values["planting"]["contacts"] = "all"
    result = plant_into_target(deployment, "lis", CANARIES, rng=random.Random(5))
    patients = [p.canary["patient"] for p in result.canaries]

    identities = query(location, IDENTITY_JOIN)
    assert len(identities) == 300 + CANARIES
    assert {p["nir"] for p in patients} <= {row[2] for row in identities}
    addresses = query(location, ADDRESS_JOIN)
    by_email = {row[5]: row for row in addresses}
    assert len(addresses) == 300 + CANARIES
    for patient in patients:
        row = by_email[patient["email"]]
        assert row[2] == patient["address"]["postal_code"]
        assert row[3] == patient["address"]["commune"].upper()      # as the host writes its communes
        assert row[4] == {"29": "Finistère", "56": "Morbihan"}.get(patient["address"]["department"], row[4])
    # Birth-name rows only for the canaries who have one.
    birth_names = {r[0] for r in query(location, "SELECT i.identity_data FROM patient_identity i JOIN identity_type t "
                                                 "ON t.id = i.identity_type_id WHERE t.code = 'BIRTH_NAME'")}
    for patient in patients:
        assert (patient["birth_name"] is not None) == (patient["birth_name"].upper() in birth_names
                                                       if patient["birth_name"] else False)

    leak = tmp_path / "mailing-list.csv"
    with open(leak, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["nom", "prenom", "cp", "commune", "departement", "email", "telephone"])
        writer.writerows(addresses)
    scanned = scan_files(deployment, [str(leak)], record=False)
    assert [(t.target, t.canaries_found) for t in scanned.targets] == [("lis", CANARIES)]


def test_check_right_after_planting_finds_nothing_altered_and_the_application_still_inserts(deployment, lis):
    kind, location = lis
    plant_into_target(deployment, "lis", 10, rng=random.Random(6))
    report = check_target(deployment, "lis")
    assert [c.status for c in report] == ["present"] * 10, [c.problems for c in report if c.problems]
    # The lab's software keeps inserting with its own keys: no canary is in the way.
    execute(location, APPLICATION_INSERTS)
    assert [c.status for c in check_target(deployment, "lis")] == ["present"] * 10


def test_the_host_habits_are_written_exactly(deployment, lis):
    kind, location = lis
    result = plant_into_target(deployment, "lis", 10, rng=random.Random(7))
    person_ids = [p.rows[0]["key"]["id"] for p in result.canaries]
    assert all(isinstance(i, int) and i > 300 for i in person_ids)       # numeric(10,0): a JSON integer
    rows = query(location, f"SELECT p.created_at, p.fhir_uuid, g.identity_data, p.external_id FROM patient p "
                           f"JOIN patient_identity g ON g.patient_id = p.id AND g.identity_type_id = 2 "
                           f"WHERE p.person_id IN ({', '.join(map(str, person_ids))})")
    assert len(rows) == 10
    for created, fhir_uuid, guid, external_id in rows:
        assert str(fhir_uuid) == guid                                   # one generated value, two places
        assert external_id.startswith("LAB") and len(external_id) == 11  # the host's IPP scheme
    # The host's timestamps carry microseconds; so do the canaries'.
    assert sum(".".join(str(created).split(".")[1:]) not in ("", "000000") for created, *_ in rows) >= 8
