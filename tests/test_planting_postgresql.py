"""Planting into the 5,000-patient lab copied into a real PostgreSQL server (each test its own database)."""
import random
import re

import pytest
from labdb import MAPPING, dump_postgres, store_tables

from canary.planting.base import PlantingError
from canary.planting.plant import check_target, plant_into_target, retire
from canary.planting.registration import add_target

psycopg = pytest.importorskip("psycopg")


@pytest.fixture
def lims(deployment, postgres_lab):
    deployment.store.add_site("Labo Nantes")
    row = add_target(deployment, "lims-pg", "Labo Nantes", kind="postgresql", location=postgres_lab,
                     mapping=str(MAPPING))
    assert row["notes"] == ["mapping checked against the target's schema"]
    return postgres_lab


def test_twenty_canaries_into_postgresql_all_linked_and_present(deployment, lims):
    result = plant_into_target(deployment, "lims-pg", 20, rng=random.Random(11))
    with psycopg.connect(lims) as conn:
        for planted in result.canaries:
            patient_id = planted.rows[0]["key"]["id"]
            assert patient_id > 5000
            patient = conn.execute("SELECT ipp, nom_usage, date_naissance, nir FROM patient WHERE id = %s",
                                   (patient_id,)).fetchone()
            assert patient[3] == planted.canary["patient"]["nir"]
            assert re.fullmatch(r"(19|20)\d{8}", patient[0]) and patient[1] == patient[1].upper()
            assert re.fullmatch(r"\d\d/\d\d/\d{4}", patient[2])
            for table in ("adresse", "telecom", "dossier"):
                assert conn.execute(f"SELECT count(*) FROM {table} WHERE patient_id = %s",
                                    (patient_id,)).fetchone()[0] >= 1
            assert conn.execute("SELECT count(*) FROM resultat r JOIN dossier d ON d.id = r.dossier_id "
                                "WHERE d.patient_id = %s", (patient_id,)).fetchone()[0] >= 1
            phone = conn.execute("SELECT valeur FROM telecom WHERE patient_id = %s AND type <> 'EMAIL'",
                                 (patient_id,)).fetchone()
            # A phone at the host's rate (a canary may have an email only), written as the host writes it.
            assert (phone is None) == (planted.canary["patient"]["phone"] is None)
            assert phone is None or re.fullmatch(r"0\d( \d\d){4}", phone[0])
        # Nothing dangles: every child row's parent exists (PostgreSQL enforces it; say so anyway).
        assert conn.execute("SELECT count(*) FROM resultat r LEFT JOIN dossier d ON d.id = r.dossier_id "
                            "WHERE d.id IS NULL").fetchone()[0] == 0
    assert [c.status for c in check_target(deployment, "lims-pg")] == ["present"] * 20
    victim = result.canaries[4]
    with psycopg.connect(lims) as conn:
        last = victim.rows[-1]
        conn.execute(f"DELETE FROM {last['table']} WHERE id = %s", (last["key"]["id"],))
    report = {c.canary_id: c.status for c in check_target(deployment, "lims-pg")}
    assert report.pop(victim.canary["id"]) == "missing"
    assert set(report.values()) == {"present"}


def test_a_failure_mid_way_leaves_postgresql_and_store_as_they_were(deployment, lims, monkeypatch):
    before, store_before = dump_postgres(lims), store_tables(deployment.store)
    from canary.planting import postgresql as writer
    real_insert = writer.PostgresqlTarget.insert
    calls = []

    def failing_insert(self, table, values, key_columns, lookup):
        calls.append(table)
        if len(calls) == 25:
            values = {**values, "patient_id": 10**9} if "patient_id" in values else {**values, "dossier_id": 10**9}
        return real_insert(self, table, values, key_columns, lookup)

    monkeypatch.setattr(writer.PostgresqlTarget, "insert", failing_insert)
    with pytest.raises(PlantingError, match="foreign key"):
        plant_into_target(deployment, "lims-pg", 4, rng=random.Random(12))
    assert dump_postgres(lims) == before
    assert store_tables(deployment.store) == store_before


def test_retire_removes_the_rows_from_postgresql(deployment, lims):
    before = dump_postgres(lims)
    plant_into_target(deployment, "lims-pg", 2, rng=random.Random(13))
    assert dump_postgres(lims) != before
    retired, _ = retire(deployment, "lims-pg", before="2999-01-01")
    assert len(retired) == 2 and dump_postgres(lims) == before
    assert check_target(deployment, "lims-pg") == []
