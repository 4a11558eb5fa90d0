"""Planting into a 5,000-patient SQLite lab database, checking, retiring, rotating — all or nothing."""
import random
import re
import sqlite3

import pytest
from labdb import MAPPING, dump_sqlite, store_tables

from canary.planting import value_formats
from canary.planting.base import PlantingError
from canary.planting.plant import check_target, plant_into_target, retire, rotate
from canary.planting.registration import add_target


@pytest.fixture
def lims(deployment, lab_db):
    deployment.store.add_site("Labo Rennes Nord")
    add_target(deployment, "lims", "Labo Rennes Nord", kind="sqlite", location=str(lab_db), mapping=str(MAPPING))
    return lab_db


def rows_of(conn, sql, params=()):
    conn.row_factory = sqlite3.Row
    return [dict(r) for r in conn.execute(sql, params)]


def test_twenty_canaries_blend_into_the_host_and_check_present(deployment, lims):
    result = plant_into_target(deployment, "lims", 20, rng=random.Random(7))
    assert result.state == "planted" and len(result.canaries) == 20
    conn = sqlite3.connect(lims)
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    host = rows_of(conn, "SELECT * FROM patient WHERE id <= 5000")
    host_phones = [r["valeur"] for r in rows_of(conn, "SELECT valeur FROM telecom WHERE type != 'EMAIL' "
                                                       "AND patient_id <= 5000")]
    host_dossiers = [r["numero"] for r in rows_of(conn, "SELECT numero FROM dossier WHERE patient_id <= 5000")]
    for planted in result.canaries:
        canary = planted.canary
        tables = {row["table"] for row in planted.rows}
        assert {"patient", "adresse", "dossier", "resultat"} <= tables
        patient_id = planted.rows[0]["key"]["id"]
        patient = rows_of(conn, "SELECT * FROM patient WHERE id = ?", (patient_id,))[0]
        assert patient["nir"] == canary["patient"]["nir"]
        assert patient["nom_usage"] == canary["patient"]["last_name"].upper()
        assert re.fullmatch(r"\d\d/\d\d/\d{4}", patient["date_naissance"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", patient["cree_le"])
        assert re.fullmatch(r"(19|20)\d{8}", patient["ipp"]) and patient["ipp"][:4] == patient["cree_le"][:4]
        telecoms = rows_of(conn, "SELECT type, valeur FROM telecom WHERE patient_id = ?", (patient_id,))
        # Phone and email are there as often as the host's, and every canary can be reached one way.
        wanted = {"EMAIL"} if canary["patient"]["email"] else set()
        if canary["patient"]["phone"]:
            wanted.add("MOBILE" if canary["patient"]["phone_kind"] == "mobile" else "FIXE")
        assert {t["type"] for t in telecoms} == wanted and wanted
        if canary["patient"]["phone"]:
            phone = next(t["valeur"] for t in telecoms if t["type"] != "EMAIL")
            assert value_formats.learn_phone_style([phone]) == value_formats.learn_phone_style(host_phones) == "spaced"
            assert phone == value_formats.format_phone(canary["identifiers"]["phone"][0], "spaced")
        if canary["patient"]["email"]:
            email = next(t["valeur"] for t in telecoms if t["type"] == "EMAIL")
            assert email == canary["identifiers"]["email"][0]
        address = rows_of(conn, "SELECT * FROM adresse WHERE patient_id = ?", (patient_id,))
        assert len(address) == 1 and address[0]["commune"] == address[0]["commune"].upper()
        dossiers = rows_of(conn, "SELECT * FROM dossier WHERE patient_id = ?", (patient_id,))
        assert len(dossiers) in (1, 2, 3, 5)      # as many as the host's patients have
        assert value_formats.learn_key_pattern([d["numero"] for d in dossiers]) == value_formats.learn_key_pattern(host_dossiers)
        for dossier in dossiers:
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", dossier["date_prelevement"])
            assert dossier["date_prelevement"][:10] >= patient["cree_le"][:10]
            results = rows_of(conn, "SELECT * FROM resultat WHERE dossier_id = ?", (dossier["id"],))
            assert 1 <= len(results) <= 4
            assert all(r["valide_le"] > dossier["date_prelevement"] for r in results)
    # The host's synthetic patients use the fiction ranges too: no canary carries one of their numbers.
    from canary.generation.phones import normalise_phone
    assert {normalise_phone(phone) for phone in host_phones} & \
        {p.canary["identifiers"]["phone"][0] for p in result.canaries if p.canary["identifiers"].get("phone")} == set()
    # The host's own formats, learnt the same way, agree with what we wrote.
    ours = rows_of(conn, "SELECT * FROM patient WHERE id > 5000")
    for column in ("date_naissance", "cree_le"):
        assert value_formats.learn_date_format([r[column] for r in ours]) == \
            value_formats.learn_date_format([r[column] for r in host])
    assert value_formats.learn_case([r["nom_usage"] for r in ours]) == value_formats.learn_case([r["nom_usage"] for r in host])
    # The host is a copy frozen on 2020-10-31: the canaries' history ends there too.
    latest_host = max(r["date_prelevement"] for r in rows_of(conn, "SELECT date_prelevement FROM dossier"
                                                                   " WHERE patient_id <= 5000"))
    assert max(r["cree_le"][:16] for r in ours) <= latest_host
    assert max(r[0] for r in conn.execute("SELECT date_prelevement FROM dossier")) == latest_host
    # The canaries live where the lab's patients live (departments learnt from the postal codes).
    host_departments = {r[0][:2] for r in conn.execute("SELECT code_postal FROM adresse WHERE patient_id <= 5000")}
    assert {p.canary["patient"]["address"]["department"] for p in result.canaries} <= host_departments
    # Optional columns are empty about as often as the host's (65 % of blood groups are unknown).
    assert 4 <= sum(r["groupe_sanguin"] is None for r in ours) <= 19
    # No canary copies a real patient's NIR.
    assert not {r["nir"] for r in ours} & {r["nir"] for r in host} - {None}
    report = check_target(deployment, "lims")
    assert [c.status for c in report] == ["present"] * 20
    checks = deployment.store.checks(deployment.store.get_target("lims")["id"])
    assert list(checks[-1]["result"].values()) == ["present"] * 20
    assert deployment.store.events("planting")[-1]["payload"]["rows"] == result.canaries[-1].rows
    assert deployment.store.verify_evidence().ok


def test_a_row_deleted_by_hand_makes_check_report_it(deployment, lims):
    result = plant_into_target(deployment, "lims", 3, rng=random.Random(1))
    victim = result.canaries[1]
    email_row = next(r for r, v in zip(victim.rows, victim.fingerprint)
                     if r["table"] == "telecom" and v["type"] in ("EMAIL", "MOBILE", "FIXE"))
    conn = sqlite3.connect(lims)
    with conn:
        conn.execute("DELETE FROM telecom WHERE id = ?", (email_row["key"]["id"],))
        conn.execute("UPDATE patient SET prenom = 'Jean' WHERE id = ?", (result.canaries[2].rows[0]["key"]["id"],))
    report = {c.canary_id: c for c in check_target(deployment, "lims")}
    assert report[result.canaries[0].canary["id"]].status == "present"
    missing = report[victim.canary["id"]]
    assert missing.status == "missing" and f"telecom id={email_row['key']['id']}: row missing" in missing.problems
    altered = report[result.canaries[2].canary["id"]]
    assert altered.status == "altered" and "prenom" in altered.problems[0]
    event = deployment.store.events("check")[-1]["payload"]
    assert event["result"][str(victim.canary["id"])] == "missing"


def test_dry_run_writes_nothing_anywhere(deployment, lims):
    before, store_before = dump_sqlite(lims), store_tables(deployment.store)
    result = plant_into_target(deployment, "lims", 2, dry_run=True, rng=random.Random(3))
    assert result.state == "dry-run" and len(result.canaries) == 2 and result.canaries[0].rows
    assert dump_sqlite(lims) == before
    assert store_tables(deployment.store) == store_before


def test_a_failure_mid_way_leaves_target_and_store_as_they_were(deployment, lims, monkeypatch):
    plant_into_target(deployment, "lims", 1, rng=random.Random(2))
    before, store_before = dump_sqlite(lims), store_tables(deployment.store)
    from canary.planting import sqlite as sqlite_writer
    real_insert = sqlite_writer.SqliteTarget.insert
    calls = []

    def failing_insert(self, table, values, key_columns, lookup):
        calls.append(table)
        if table == "resultat" and len(calls) > 30:   # the 3rd or 4th canary, part-way through its rows
            values = {**values, "code": None}           # NOT NULL: the database refuses it
        return real_insert(self, table, values, key_columns, lookup)

    monkeypatch.setattr(sqlite_writer.SqliteTarget, "insert", failing_insert)
    with pytest.raises(PlantingError, match="resultat.*NOT NULL"):
        plant_into_target(deployment, "lims", 5, rng=random.Random(4))
    assert len(calls) > 30
    assert dump_sqlite(lims) == before
    assert store_tables(deployment.store) == store_before


def test_a_mapping_error_found_while_building_rows_changes_nothing(deployment, lims, tmp_path, monkeypatch):
    # Only men are in the map: the error shows up at the first woman, after other canaries'
    # rows are already in the target's transaction.
    mapping = tmp_path / "bad.toml"
    mapping.write_text(MAPPING.read_text().replace('sexe = { field = "sex" }', 'sexe = { field = "sex", map = { M = "M" } }'))
    deployment.store.add_target("lims-bad", "Labo Rennes Nord", kind="sqlite", location=str(lims),
                                mapping=str(mapping))
    before, store_before = dump_sqlite(lims), store_tables(deployment.store)
    from canary.planting import sqlite as sqlite_writer
    real_insert, inserted = sqlite_writer.SqliteTarget.insert, []
    monkeypatch.setattr(sqlite_writer.SqliteTarget, "insert",
                        lambda self, *args: inserted.append(args[0]) or real_insert(self, *args))
    with pytest.raises(PlantingError, match=r"patient\.sexe: map has no entry for 'F'"):
        plant_into_target(deployment, "lims-bad", 10, rng=random.Random(5))
    assert inserted.count("patient") >= 1
    assert dump_sqlite(lims) == before
    assert store_tables(deployment.store) == store_before


def test_unknown_canary_fields_are_refused_before_anything_is_written(deployment, lims, tmp_path):
    mapping = tmp_path / "bad.toml"
    mapping.write_text(MAPPING.read_text().replace('field = "insurer"', 'field = "insurance_company"'))
    with pytest.raises(PlantingError, match=r"patient\.mutuelle: field 'insurance_company' is not a canary field"):
        add_target(deployment, "lims-bad", "Labo Rennes Nord", kind="sqlite", location=str(lims),
                   mapping=str(mapping))


def test_retire_deletes_the_rows_and_records_when(deployment, lims):
    before = dump_sqlite(lims)
    result = plant_into_target(deployment, "lims", 2, rng=random.Random(6))
    first = result.canaries[0].canary["id"]
    retired, _ = retire(deployment, "lims", canary_id=first)
    assert [p["canary_id"] for p in retired] == [first]
    conn = sqlite3.connect(lims)
    assert conn.execute("SELECT count(*) FROM patient WHERE id = ?",
                        (result.canaries[0].rows[0]["key"]["id"],)).fetchone()[0] == 0
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    planting = deployment.store.plantings(canary_id=first)[0]
    assert planting["state"] == "retired" and planting["removed_at"]
    assert [c.canary_id for c in check_target(deployment, "lims")] == [result.canaries[1].canary["id"]]
    retire(deployment, "lims", before="2999-01-01")
    assert dump_sqlite(lims) == before


def test_rotate_plants_in_every_target_and_skips_manual_ones(deployment, lims):
    deployment.store.add_target("paper", "Labo Rennes Nord", kind="manual")
    rotations = {r.target: r for r in rotate(deployment, count=2, rng=random.Random(8))}
    assert rotations["paper"].skipped
    assert len(rotations["lims"].result.canaries) == 2 and not rotations["lims"].error
    assert len(deployment.store.plantings(states=("planted",))) == 2


def test_same_seed_same_patients_into_the_same_host(lab_template, tmp_path, fresh_store):
    # Two deployments (a NIR is registered once per deployment) planting into two copies of one host.
    import shutil

    from canary.deployment import init_deployment
    planted = []
    for name in ("a", "b"):
        deployment = init_deployment(tmp_path / name, ["canary.test"], store=fresh_store())
        deployment.store.add_site("Labo Rennes Nord")
        path = tmp_path / f"{name}.db"
        shutil.copy(lab_template, path)
        add_target(deployment, "lims", "Labo Rennes Nord", kind="sqlite", location=str(path), mapping=str(MAPPING))
        result = plant_into_target(deployment, "lims", 3, rng=random.Random(11))
        planted.append([(c.canary["patient"]["first_name"], c.canary["patient"]["last_name"],
                         c.canary["patient"]["birth_date"], c.canary["patient"]["address"]["commune"])
                        for c in result.canaries])
        deployment.close()
    assert planted[0] == planted[1]


def test_a_target_locked_by_the_labs_software_fails_alone_in_rotate(deployment, lims, lab_template, tmp_path,
                                                                     monkeypatch):
    import shutil

    from canary.planting import sqlite as sqlite_writer
    other = tmp_path / "other.db"
    shutil.copy(lab_template, other)
    add_target(deployment, "other", "Labo Rennes Nord", kind="sqlite", location=str(other), mapping=str(MAPPING))
    monkeypatch.setattr(sqlite_writer, "BUSY_TIMEOUT", 0.05)
    before = dump_sqlite(lims)
    lab_software = sqlite3.connect(lims, isolation_level=None)
    lab_software.execute("BEGIN IMMEDIATE")      # the lab is writing: readers go on, a second writer waits
    try:
        rotations = {r.target: r for r in rotate(deployment, count=1, rng=random.Random(9))}
    finally:
        lab_software.execute("ROLLBACK")
        lab_software.close()
    assert rotations["lims"].error == f"sqlite target {lims}: database is locked"
    assert len(rotations["other"].result.canaries) == 1
    assert dump_sqlite(lims) == before
    assert [p["target_id"] for p in deployment.store.plantings()] == \
        [deployment.store.get_target("other")["id"]]


def test_a_host_that_never_writes_accents_gets_canaries_without_them(deployment, lims):
    import unicodedata
    conn = sqlite3.connect(lims)
    conn.create_function("strip", 1, lambda text: text and unicodedata.normalize("NFKD", text).encode(
        "ascii", "ignore").decode())
    with conn:   # a legacy LIMS in ASCII: 'GUERIN', 'Helene', 'LE VAL-SAINT-PERE'
        conn.execute("UPDATE patient SET nom_usage = strip(nom_usage), nom_naissance = strip(nom_naissance), "
                     "prenom = strip(prenom)")
        conn.execute("UPDATE adresse SET ligne1 = strip(ligne1), ligne2 = strip(ligne2), commune = strip(commune)")
    result = plant_into_target(deployment, "lims", 20, rng=random.Random(7))
    # Names the host never shares (its long tail) are our own, and ours have accents: they are stripped too.
    ours = rows_of(conn, "SELECT p.nom_usage, p.nom_naissance, p.prenom, a.ligne1, a.ligne2, a.commune FROM patient p "
                         "JOIN adresse a ON a.patient_id = p.id WHERE p.id > 5000")
    assert len(ours) == 20
    assert [value for row in ours for value in row.values() if value and not value.isascii()] == []
    assert [c.status for c in check_target(deployment, "lims")] == ["present"] * 20
