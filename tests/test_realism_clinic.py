"""Canaries drawn jointly from the second example lab (examples/make_clinic_db.py): fields absent
together as the host's are, files read in key order, samples at the patient's hour, mail domains and
local parts as its patients have them. Each is a statistic a thief computes over a copy."""
from __future__ import annotations

import datetime as dt
import importlib.util
import pathlib
import random
import sqlite3
import statistics

import pytest

from canary.generation.phones import PhoneAllocator
from canary.planting.blend import local_part, patient_like_host, pool_domain
from canary.planting.host import _offset_moment
from canary.planting.mapping import load_mapping
from canary.planting.model import classify_local_part, learn_model
from canary.planting.sqlite import SqliteTarget

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
TODAY = dt.date(2013, 1, 1)


def _clinic_builder():
    spec = importlib.util.spec_from_file_location("make_clinic_db_for_tests", EXAMPLES / "make_clinic_db.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    """(database, learnt model) of an 800-patient second lab."""
    path = tmp_path_factory.mktemp("clinic") / "clinic.db"
    _clinic_builder().build(path, 800, 11)
    target = SqliteTarget(str(path))
    return path, learn_model(target, load_mapping(EXAMPLES / "clinic_mapping.toml"), target.schema())


def _canaries(model, count=600, seed=5):
    rng = random.Random(seed)
    allocator = PhoneAllocator(None, set(), random.Random(seed))
    return [patient_like_host(model, rng, today=TODAY, phone_allocator=allocator) for _ in range(count)]


def _email_share(people, born_before=None, born_from=None):
    chosen = [p for p in people if (born_before is None or p["birth_year"] < born_before)
              and (born_from is None or p["birth_year"] >= born_from)]
    return sum(p["email"] is not None for p in chosen) / len(chosen)


def test_fields_are_absent_together_as_the_hosts_are_per_band_of_birth_years(clinic):
    """The clinic's elderly give an email far less often than its young: a canary's email follows its birth
    year (drawn field by field at the overall rate, old canaries had emails the host's elderly lack)."""
    path, model = clinic
    conn = sqlite3.connect(path)
    host = [{"birth_year": int(born[:4]), "email": mail}
            for born, mail in conn.execute("SELECT naissance, courriel FROM individu")]
    conn.close()
    canaries = _canaries(model)
    for person in canaries:
        person["birth_year"] = int(person["birth_date"][:4])
    assert all(p["phone"] or p["email"] for p in canaries)          # every canary stays reachable
    host_gap = _email_share(host, born_from=1975) - _email_share(host, born_before=1950)
    canary_gap = _email_share(canaries, born_from=1975) - _email_share(canaries, born_before=1950)
    assert host_gap > 0.25
    assert canary_gap > host_gap - 0.15


def test_files_are_learnt_in_key_order(clinic):
    """The clinic files a patient's samples in date order; a sample of rows comes in no order, and learnt in
    that order the host looked orderless, so canaries' samples were not in date order (a rule with precision 1)."""
    _, model = clinic
    assert model["blocks"]["prelevement"]["sorted_share"] == 1.0


def test_samples_days_later_come_near_the_patients_hour(clinic):
    """The clinic's patients come back near the hour they first came: so do a canary's later samples."""
    _, model = clinic
    block = model["blocks"]["prelevement"]
    assert block.get("day_shift_quantiles")
    rng = random.Random(3)
    parent = dt.datetime(2012, 5, 3, 16, 40)
    shifts = []
    for _ in range(400):
        moment = _offset_moment(parent, block, rng)
        if moment - parent >= dt.timedelta(days=1):
            shifts.append(abs((moment.hour * 60 + moment.minute - (16 * 60 + 40) + 720) % 1440 - 720))
    assert len(shifts) > 100
    assert statistics.median(shifts) < 120        # at the host's usual times whatever the hour: about 3 h


def test_pool_domains_are_used_as_often_as_the_hosts_patients_use_them(clinic):
    """Mailboxes at the providers the host's patients use, taken as often as they use them, and the operator's
    own small domains for the host's long tail (chosen evenly, gmail got one canary in fifteen)."""
    _, model = clinic
    providers = ["gmail.example", "orange.example", "yahoo.example"]
    own = [f"tail{n}.example" for n in range(12)]
    rng = random.Random(1)
    drawn = [pool_domain(model, providers + own, rng) for _ in range(3000)]
    known = dict(model["email"]["domains"]["values"])
    assert drawn.count("gmail.example") / drawn.count("yahoo.example") == pytest.approx(
        known["gmail.example"] / known["yahoo.example"], rel=0.3)
    tail = sum(size * n for size, n in model["email"]["domain_sharing"] if size < model["k"])
    in_pool = known["gmail.example"] + known["orange.example"] + known["yahoo.example"] + tail
    assert sum(d in own for d in drawn) / len(drawn) == pytest.approx(tail / in_pool, abs=0.04)


def test_local_parts_carry_digits_with_the_patterns_that_have_them(clinic):
    """The clinic's 'firstlast' addresses end with the birth year and its 'first.last' ones never with two
    digits; drawn apart, pattern and digits made addresses none of its patients has."""
    _, model = clinic
    rng = random.Random(2)
    pairs = []
    for person in _canaries(model, 200, seed=8):
        local = local_part(model, person, rng)
        pattern, digits = classify_local_part(local, person["first_name"], person["last_name"])
        pairs.append((pattern, digits, local[-2:] == person["birth_date"][2:4]))
    host = {(p, d) for p, d, _ in model["email"]["pattern_digits"]}
    assert all((p, d) in host for p, d, _ in pairs if p != "other")
    two = [year for _, digits, year in pairs if digits == 2]
    assert two and sum(two) / len(two) > 0.8


def test_a_canarys_samples_in_key_order_are_in_date_order_as_the_hosts_are(deployment, tmp_path):
    """Planted into holes of the clinic (its patients' samples always in date order, read in key order): a
    canary's samples too (learnt in the order a sample of rows comes in, the host looked orderless)."""
    from canary.planting.plant import plant_into_target
    from canary.planting.registration import add_target
    path = tmp_path / "clinic.db"
    builder = _clinic_builder()
    builder.build(path, 500, 11)
    builder.erase(path, 0.08, 11)
    deployment.store.add_site("Clinic")
    add_target(deployment, "clinic", "Clinic", kind="sqlite", location=str(path),
               mapping=str(EXAMPLES / "clinic_mapping.toml"))
    result = plant_into_target(deployment, "clinic", 12, rng=random.Random(6))
    conn = sqlite3.connect(path)
    several = 0
    for planted in result.canaries:
        key = planted.rows[0]["key"]["num_dossier"]
        moments = [row[0] for row in conn.execute("SELECT preleve_le FROM prelevement WHERE num_dossier = ? "
                                                  "ORDER BY id", (key,))]
        several += len(moments) > 1
        assert moments == sorted(moments), key
    conn.close()
    assert several >= 3


def test_a_registration_between_an_evening_and_a_morning_is_at_one_of_the_hosts_hours(clinic):
    """Neighbours registered at 17:55 and at 7:10 the next morning: the canary between them is registered at
    the desk's hours too (at random between them, it was mostly registered in the night)."""
    from canary.planting.backfill import Backfill

    class Host:
        model = clinic[1]
    backfill = Backfill(Host(), schema=None)
    before, after = dt.datetime(2012, 6, 4, 17, 55), dt.datetime(2012, 6, 5, 7, 10)
    rng = random.Random(5)
    for _ in range(50):
        moment = backfill._between(before, after, rng)
        assert before <= moment <= after and moment.hour in (17, 7), moment


def test_landlines_follow_the_decade_of_birth_whatever_the_year_of_the_copy(clinic):
    """Ages are counted from a date: a copy of 2012 planted decades later would give its young canaries the
    landlines of the host's middle-aged. By decade of birth, they have the host's young people's."""
    from canary.planting.blend import _landline_share
    path, model = clinic
    conn = sqlite3.connect(path)
    host = [tel for born, tel in conn.execute("SELECT naissance, tel FROM individu")
            if tel and "1990" <= born < "2000"]
    conn.close()
    host_share = sum(tel.startswith("+33 4") for tel in host) / len(host)
    # Born in 1995, 48 years old in 2043: the share of the host's patients born in the 1990s.
    assert _landline_share(model, 48, dt.date(1995, 6, 1)) == pytest.approx(host_share, abs=0.02)
