"""Canaries among the host's rows of their time, not after its newest (issue 9): keys taken in the
holes the host left (erased or merged patients), registration between the neighbours when the host's
keys follow time, derived keys that agree; and plantings spread over a period by `canary rotate`."""
from __future__ import annotations

import datetime as dt
import random
import sqlite3
import sys

import pytest
from labdb import MAPPING, load_example

from canary.clock import parse_time
from canary.planting.base import PlantingError
from canary.planting.plant import plant_into_target, rotate
from canary.planting.registration import add_target

ERASED = 0.05


@pytest.fixture(scope="module")
def holed_lab(tmp_path_factory):
    """A 600-patient example lab from which 5 % of the patients were erased with all their rows."""
    path = tmp_path_factory.mktemp("holed") / "lab.db"
    builder = load_example("make_lab_db")
    builder.build(path, 600, 3)
    assert 15 <= builder.erase(path, ERASED, 3) <= 45
    return path


def _target(deployment, lab, tmp_path, name="lims"):
    copy = tmp_path / f"{name}.db"
    copy.write_bytes(lab.read_bytes())
    if not deployment.store.sites():
        deployment.store.add_site("Lab")
    add_target(deployment, name, "Lab", kind="sqlite", location=str(copy), mapping=str(MAPPING))
    return copy


def _host_keys(path) -> tuple[set[int], set[int]]:
    conn = sqlite3.connect(path)
    try:
        return ({r[0] for r in conn.execute("SELECT id FROM patient")},
                {r[0] for r in conn.execute("SELECT id FROM dossier")})
    finally:
        conn.close()


def test_canaries_take_the_hosts_holes_and_their_keys_agree(deployment, holed_lab, tmp_path):
    before_patients, before_files = _host_keys(holed_lab)
    copy = _target(deployment, holed_lab, tmp_path)
    result = plant_into_target(deployment, "lims", 12, rng=random.Random(4))
    assert any("12 of 12 canaries keyed in holes" in note for note in result.notes), result.notes
    conn = sqlite3.connect(copy)
    for planted in result.canaries:
        patient_id = planted.rows[0]["key"]["id"]
        # A key the host once used and lost, among its old rows: not after its newest.
        assert patient_id not in before_patients and patient_id < max(before_patients)
        ipp, created = conn.execute("SELECT ipp, cree_le FROM patient WHERE id = ?", (patient_id,)).fetchone()
        # The lab's IPP is the registration year and the patient's own counter: so is the canary's.
        assert ipp == f"{created[:4]}{patient_id:06d}"
        below = max(k for k in before_patients if k < patient_id)
        above = min(k for k in before_patients if k > patient_id)
        files = [r for r in conn.execute("SELECT id, numero FROM dossier WHERE patient_id = ?", (patient_id,))]
        assert files
        # The lab numbers files in the order it enters patients: the canary's sit among its neighbours'.
        low = max(f for f in before_files if conn.execute("SELECT patient_id <= ? FROM dossier WHERE id = ?",
                                                         (below, f)).fetchone()[0])
        high = min(f for f in before_files if conn.execute("SELECT patient_id >= ? FROM dossier WHERE id = ?",
                                                          (above, f)).fetchone()[0])
        for file_id, number in files:
            assert number.endswith(f"-{file_id:06d}") and file_id not in before_files
        # Its first file in the hole its neighbours' left; one the hole has no room for takes the next key.
        assert low < min(f for f, _ in files) < high
        assert all(low < f < high or f > max(before_files) for f, _ in files)
    conn.close()


def test_without_holes_or_when_told_not_to_canaries_take_the_next_keys(deployment, holed_lab, tmp_path):
    deployment.settings.values["planting"]["fill_holes"] = False
    before, _ = _host_keys(holed_lab)
    _target(deployment, holed_lab, tmp_path)
    result = plant_into_target(deployment, "lims", 3, rng=random.Random(4))
    assert [p.rows[0]["key"]["id"] for p in result.canaries] == [max(before) + 1, max(before) + 2, max(before) + 3]


def test_a_host_whose_keys_follow_time_registers_the_canary_between_its_neighbours(deployment, tmp_path):
    """The second example lab: text file numbers P0001234 that rise with the registration time."""
    sys.path.insert(0, str(MAPPING.parents[3] / "examples"))
    try:
        clinic = __import__("make_clinic_db")
    finally:
        sys.path.pop(0)
    path = tmp_path / "clinic.db"
    clinic.build(path, 400, 11)
    clinic.erase(path, ERASED, 11)
    deployment.store.add_site("Clinic")
    add_target(deployment, "clinic", "Clinic", kind="sqlite", location=str(path),
               mapping=str(MAPPING.parents[3] / "examples" / "clinic_mapping.toml"))
    conn = sqlite3.connect(path)
    host = dict(conn.execute("SELECT num_dossier, saisi_le FROM individu").fetchall())
    result = plant_into_target(deployment, "clinic", 5, rng=random.Random(9))

    def when(text):
        return dt.datetime.strptime(text, "%d/%m/%Y %H:%M")
    keys = sorted(host)
    for planted in result.canaries:
        key = planted.rows[0]["key"]["num_dossier"]
        assert key not in host and keys[0] < key < keys[-1]
        below, above = max(k for k in keys if k < key), min(k for k in keys if k > key)
        registered = conn.execute("SELECT saisi_le FROM individu WHERE num_dossier = ?", (key,)).fetchone()[0]
        assert when(host[below]) <= when(registered) <= when(host[above])
    conn.close()


def test_a_schedule_plants_its_canaries_as_they_fall_due(deployment, holed_lab, tmp_path, invoke):
    _target(deployment, holed_lab, tmp_path)
    output = invoke("plant", "lims", "--count", "4", "--over", "40d").output
    assert "Scheduled 4 canaries for lims" in output
    schedule = deployment.store.schedules()[0]
    start = parse_time(schedule["starts_at"])
    # Nothing planted yet: the period has just begun.
    assert rotate(deployment, now=start + dt.timedelta(days=5))[0].skipped.startswith("nothing due")
    halfway = rotate(deployment, now=start + dt.timedelta(days=20), rng=random.Random(1))[0]
    assert len(halfway.result.canaries) == 2 and "2 of 4 planted" in halfway.result.notes[-1]
    assert rotate(deployment, now=start + dt.timedelta(days=21))[0].skipped.startswith("nothing due")
    late = rotate(deployment, now=start + dt.timedelta(days=90), rng=random.Random(2))[0]
    assert len(late.result.canaries) == 2
    assert deployment.store.schedules(unfinished=True) == []
    # Done: rotations are back to planting.rotate_count.
    after = rotate(deployment, now=start + dt.timedelta(days=91), rng=random.Random(3))[0]
    assert len(after.result.canaries) == int(deployment.settings["planting"]["rotate_count"])
    assert len(deployment.store.plantings()) == 4 + len(after.result.canaries)


def test_a_schedule_refuses_what_rotate_cannot_plant(deployment, holed_lab, tmp_path, invoke):
    _target(deployment, holed_lab, tmp_path)
    assert "36h, 90d, 12w" in invoke("plant", "lims", "--count", "4", "--over", "soon", expect_exit=2).output
    assert "at least an hour" in invoke("plant", "lims", "--count", "4", "--over", "0h", expect_exit=1).output
    assert deployment.store.schedules() == []


def test_told_to_wait_canaries_beyond_the_holes_are_not_planted_and_stay_due(deployment, holed_lab, tmp_path,
                                                                              invoke):
    """planting.beyond_holes = "wait": no canary among the newest rows; a schedule keeps the rest due and
    plants them once the host has left new holes (another erased patient)."""
    deployment.settings.values["planting"]["beyond_holes"] = "wait"
    before, _ = _host_keys(holed_lab)
    copy = _target(deployment, holed_lab, tmp_path)
    keys = sorted(before)
    holes = sum(1 < above - below <= 9 for below, above in zip(keys, keys[1:]))     # runs of missing keys
    invoke("plant", "lims", "--count", str(holes + 3), "--over", "10d")
    start = parse_time(deployment.store.schedules()[0]["starts_at"])
    rotation = rotate(deployment, now=start + dt.timedelta(days=11), rng=random.Random(1))[0]
    planted = [p.rows[0]["key"]["id"] for p in rotation.result.canaries]
    assert len(planted) == holes and max(planted) < max(before), rotation.result.notes
    assert any("3 of " in note and "no hole left" in note for note in rotation.result.notes), rotation.result.notes
    assert f"{holes} of {holes + 3} planted" in rotation.result.notes[-1]
    # The lab erases one more of its patients: one more canary, in that hole.
    conn = sqlite3.connect(copy)
    with conn:
        erased = sorted(before)[len(before) // 2]
        conn.execute("DELETE FROM resultat WHERE dossier_id IN (SELECT id FROM dossier WHERE patient_id = ?)",
                     (erased,))
        for table in ("dossier", "telecom", "adresse"):
            conn.execute(f"DELETE FROM {table} WHERE patient_id = ?", (erased,))
        conn.execute("DELETE FROM patient WHERE id = ?", (erased,))
    conn.close()
    again = rotate(deployment, now=start + dt.timedelta(days=12), rng=random.Random(2))[0]
    assert [p.rows[0]["key"]["id"] for p in again.result.canaries] == [erased]
    assert deployment.store.schedules(unfinished=True)[0]["planted"] == holes + 1


def test_an_unknown_beyond_holes_choice_is_one_clear_error(deployment, holed_lab, tmp_path):
    deployment.settings.values["planting"]["beyond_holes"] = "later"
    _target(deployment, holed_lab, tmp_path)
    with pytest.raises(PlantingError, match=r"planting.beyond_holes = 'later': use one of next-keys, wait"):
        plant_into_target(deployment, "lims", 1, rng=random.Random(1))
