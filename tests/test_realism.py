"""Canaries drawn from a model of their host: k-anonymous learning, same seed same canaries,
consistency, the mail pool, scans of the copy, and the attacker's figures on a small host."""
from __future__ import annotations

import collections
import datetime as dt
import importlib.util
import json
import pathlib
import random
import shutil
import sqlite3
import sys

import pytest
from labdb import MAPPING, load_example

from canary.deployment import Deployment, init_deployment
from canary.generation.nir import is_valid_nir, parse_nir
from canary.planting.mapping import load_mapping
from canary.planting.model import fold, learn_model, model_path
from canary.planting.plant import plant_into_target
from canary.planting.sqlite import SqliteTarget
from canary.planting.tail import LongTail
from canary.generation.refdata.communes import COMMUNES
from canary.scan import scan_files
from canary.planting.registration import add_target

ROOT = pathlib.Path(__file__).resolve().parent.parent
POOL = ["example.com", "example.net", "example.org"]
RARE = "ZYGOMALAKOWSKI"


@pytest.fixture(scope="module")
def small_lab(tmp_path_factory):
    """A 600-patient example lab, one of whose patients has a surname nobody else has."""
    path = tmp_path_factory.mktemp("small-lab") / "lab.db"
    load_example("make_lab_db").build(path, 600, 3)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE patient SET nom_usage = ? WHERE id = 17", (RARE,))
        conn.execute("UPDATE adresse SET ligne1 = '3 impasse des Zygènes' WHERE patient_id = 17")
    conn.close()
    return path


def _deployment(folder: pathlib.Path, lab: pathlib.Path, store: str | None, mode: str = "pool") -> Deployment:
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "lab.db"
    shutil.copy(lab, database)
    deployment = init_deployment(folder / "deployment", ["canary.test"], POOL if mode == "pool" else None,
                                 mail_mode=mode, store=store)
    deployment.store.add_site("Lab")
    add_target(deployment, "lims", "Lab", kind="sqlite", location=str(database), mapping=str(MAPPING))
    return deployment


def test_the_model_holds_no_value_fewer_than_k_patients_share(small_lab):
    target = SqliteTarget(str(small_lab))
    model = learn_model(target, load_mapping(MAPPING), target.schema(), k=5)
    conn = sqlite3.connect(small_lab)
    patients_with = collections.defaultdict(set)
    for pid, *values in conn.execute(
            "SELECT p.id, p.nom_usage, p.prenom, p.mutuelle, p.commentaire, p.groupe_sanguin, a.commune, "
            "a.code_postal, a.ligne1, a.ligne2, p.nir, (SELECT valeur FROM telecom t WHERE t.patient_id = p.id "
            "AND type = 'EMAIL') FROM patient p JOIN adresse a ON a.patient_id = p.id"):
        last, first, insurer, comment, blood, commune, postcode, line1, line2, nir, email = values
        for value in (last, first, insurer, comment, blood, commune, line2, (commune, postcode)):
            patients_with[value].add(pid)
        patients_with[line1.split(" ", 1)[1]].add(pid)
        if nir:
            patients_with[nir[5:10]].add(pid)
        if email:
            patients_with[email.rpartition("@")[2]].add(pid)

    def shared(value):
        return len(patients_with[tuple(value) if isinstance(value, list) else value])

    learnt = [model["values"][name]["values"] for name in model["values"]]
    learnt += [group["values"] for group in model["person"]["first_names"].values()]
    learnt += [model["address"]["places"]["values"], model["address"]["all_streets"]["values"],
               model["nir"]["birthplaces"]["values"], model["email"]["domains"]["values"]]
    learnt += [group["values"] for group in model["address"]["streets"].values()]
    values = [value for pairs in learnt for value, _ in pairs]
    assert len(values) > 100
    assert all(shared(value) >= 5 for value in values), [v for v in values if shared(v) < 5]
    # The one patient with a surname or a street of their own is nowhere in the model.
    text = json.dumps(model, ensure_ascii=False, default=str)
    assert RARE not in text and "Zygènes" not in text
    assert model["values"]["last_name"]["tail"] >= 1 / 600


def test_canaries_in_the_tail_share_invented_surnames_in_groups_of_the_hosts_sizes(small_lab, tmp_path, fresh_store):
    """A host whose rare surnames are shared by 1, 2 or 3 patients: canaries that fall in that tail share
    invented surnames the same way (not each one its own), and never take a surname any host patient has."""
    lab = tmp_path / "tail-lab.db"
    shutil.copy(small_lab, lab)
    conn = sqlite3.connect(lab)
    with conn:
        # 60 patients alone with their surname, 30 pairs and 20 triples: 180 of 600 in the tail.
        ids = [row[0] for row in conn.execute("SELECT id FROM patient ORDER BY id")][:180]
        names = [f"TAILONE{i}" for i in range(60)] + [f"TAILTWO{i // 2}" for i in range(60)] + \
            [f"TAILTHREE{i // 3}" for i in range(60)]
        conn.executemany("UPDATE patient SET nom_usage = ?, nom_naissance = NULL WHERE id = ?", zip(names, ids))
    host_names = {fold(row[0]) for row in conn.execute("SELECT nom_usage FROM patient")}
    conn.close()
    deployment = _deployment(tmp_path / "tail", lab, fresh_store())
    try:
        planted = []
        for seed in (1, 2):      # two plantings: the second one's canaries join groups of the first's
            result = plant_into_target(deployment, "lims", 30, rng=random.Random(seed))
            planted += [p.canary["patient"]["last_name"] for p in result.canaries]
        model = json.loads(model_path(deployment.settings.home, "lims").read_text())
    finally:
        deployment.close()
    assert dict(map(tuple, model["values"]["last_name"]["sharing"]))[2] > 0
    invented = collections.Counter(fold(name) for name in planted if fold(name) not in host_names)
    assert not any(fold(name).startswith("tail") for name in planted)      # no rare host surname copied
    in_tail = sum(invented.values())
    assert in_tail >= 8
    sizes = collections.Counter(invented.values())
    assert max(sizes) <= 4                                                  # groups stay below k
    shared = sum(n for name, n in invented.items() if n > 1)
    # The host has two thirds of its tail in shared surnames; without groups, canaries would have none.
    assert shared >= in_tail / 3, invented


def test_no_canary_is_alone_with_an_invented_value_where_no_host_patient_is():
    """A host whose rare first names are all shared by 3 or 4 (a small decade): a canary in that tail takes a
    name the host shares rather than start a lone one; where the host has lone values, one of ours."""
    grouped_only = {"values": [["Malo", 9]], "tail": 0.2, "sharing": [[3, 6], [4, 8]]}
    assert LongTail().value("first_name", grouped_only, random.Random(1), lambda: "Paul", "M") is None
    with_lone = {"values": [["Malo", 9]], "tail": 0.2, "sharing": [[1, 4], [2, 4]]}
    tail = LongTail()
    drawn = [tail.value("first_name", with_lone, random.Random(seed), lambda s=seed: f"Own{s}", "M") for seed in range(6)]
    assert drawn[0] == "Own0" and len(set(drawn)) < 6 and None not in drawn   # lone ones, and pairs
    assert collections.Counter(collections.Counter(drawn).values()) == {1: 2, 2: 2}


def test_the_same_seed_gives_the_same_canaries(small_lab, tmp_path, fresh_store):
    drawn = []
    for run in ("a", "b"):
        deployment = _deployment(tmp_path / run, small_lab, fresh_store())
        try:
            result = plant_into_target(deployment, "lims", 6, rng=random.Random(42))
            drawn.append([planted.canary["patient"] for planted in result.canaries])
        finally:
            deployment.close()
    assert drawn[0] == drawn[1]
    other = _deployment(tmp_path / "c", small_lab, fresh_store())
    try:
        result = plant_into_target(other, "lims", 6, rng=random.Random(43))
        assert [p.canary["patient"] for p in result.canaries] != drawn[0]
    finally:
        other.close()


def test_canaries_hold_together_and_look_like_the_host(small_lab, tmp_path, fresh_store):
    deployment = _deployment(tmp_path, small_lab, fresh_store())
    try:
        result = plant_into_target(deployment, "lims", 40, rng=random.Random(5))
        model = json.loads(model_path(deployment.settings.home, "lims").read_text())
    finally:
        deployment.close()
    conn = sqlite3.connect(tmp_path / "lab.db")
    host_nirs = {r[0] for r in conn.execute("SELECT nir FROM patient WHERE id <= 600 AND nir IS NOT NULL")}
    places = {(fold(c), p) for (c, p), _ in model["address"]["places"]["values"]}
    real_places = {(fold(row[1]), code) for row in COMMUNES for code in row[2]}
    patients = [planted.canary["patient"] for planted in result.canaries]
    for patient in patients:
        assert patient["phone"] or patient["email"]            # every canary can be reached one way
        address = patient["address"]
        assert (fold(address["commune"]), address["postal_code"]) in places | real_places
        if patient["nir"] is None:
            continue
        assert is_valid_nir(patient["nir"]) and patient["nir"] not in host_nirs
        fields = parse_nir(patient["nir"])
        birth = dt.date.fromisoformat(patient["birth_date"])
        assert (fields["sex"], fields["year"], fields["month"]) == (patient["sex"], birth.year % 100, birth.month)
        place = patient["birth_place"]["insee"]
        assert fields["insee"] == place or (fields["department"] == "20" and place[:2] in ("2A", "2B"))
    # Presence at the host's rates, not always: some canaries lack a phone, an email or a NIR.
    assert any(p["email"] is None for p in patients) and any(p["email"] for p in patients)
    assert any(p["nir"] is None for p in patients) or model["nir"]["presence"] > 0.97
    # NIR order numbers spread as the host's (1-999), not all 900-999.
    orders = [parse_nir(p["nir"])["order"] for p in patients if p["nir"]]
    assert min(orders) < 500
    # Mail pool: addresses at the operator's pool domains, each shared by several canaries.
    domains = collections.Counter(p["email"].rpartition("@")[2] for p in patients if p["email"])
    assert set(domains) <= set(POOL) and max(domains.values()) >= 3
    # The host validates a whole number of hours after the sample; so do the canaries.
    ids = [planted.rows[0]["key"]["id"] for planted in result.canaries]
    minutes = conn.execute(
        "SELECT count(*), sum(substr(r.valide_le, 15, 2) = substr(d.date_prelevement, 15, 2)) FROM resultat r "
        f"JOIN dossier d ON d.id = r.dossier_id WHERE d.patient_id IN ({','.join(map(str, ids))})").fetchone()
    assert minutes[0] > 40 and minutes[0] == minutes[1]


def test_an_email_less_canary_has_no_email_row_and_no_email_identifier(small_lab, tmp_path, fresh_store):
    deployment = _deployment(tmp_path, small_lab, fresh_store(), mode="per-canary")
    try:
        result = plant_into_target(deployment, "lims", 20, rng=random.Random(9))
        without = [p for p in result.canaries if p.canary["patient"]["email"] is None]
        with_email = [p for p in result.canaries if p.canary["patient"]["email"]]
        assert without and with_email
        for planted in without:
            assert "email" not in planted.canary["identifiers"]
            assert not any(v.get("type") == "EMAIL" for v in planted.fingerprint)
        for planted in with_email:
            # per-canary mode still puts the address under the canary's own DNS label
            assert planted.canary["patient"]["email"].endswith("." + planted.canary["label"] + ".canary.test") or \
                planted.canary["patient"]["email"].rpartition("@")[2] == f"{planted.canary['label']}.canary.test"
    finally:
        deployment.close()


def test_a_copy_of_the_planted_lab_is_attributed_by_a_scan(small_lab, tmp_path, fresh_store):
    deployment = _deployment(tmp_path, small_lab, fresh_store())
    try:
        result = plant_into_target(deployment, "lims", 12, rng=random.Random(8))
        from canary.demo.seeding import _steal
        leak = tmp_path / "leak.csv"
        _steal(tmp_path / "lab.db", leak)
        scanned = scan_files(deployment, [str(leak)], record=False)
        found = {t.target: t.canaries_found for t in scanned.targets}
        # Canaries with an email or a NIR and a name are found; a phone alone never counts.
        countable = [p for p in result.canaries if p.canary["patient"]["email"] or p.canary["patient"]["nir"]]
        assert found.get("lims", 0) >= len(countable) - 1 >= 8
    finally:
        deployment.close()


def _bench():
    spec = importlib.util.spec_from_file_location("bench_realism", ROOT / "bench" / "realism.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module     # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_an_attacker_cannot_tell_canaries_from_a_small_hosts_patients(tmp_path):
    pytest.importorskip("sklearn")
    bench = _bench()
    # A lab that erased or merged 5 % of its patients (the holes canaries are keyed in), growing while
    # the canaries are planted in three rotations.
    copy = bench.planted_copy(bench.LAB, tmp_path, patients=600, canaries=30, batches=3, grown_share=0.5,
                              mail="providers", erased=0.05)
    result = bench.score(copy, folds=4)
    share = result.share
    # Rules flagging few rows are noise at this size (30 canaries): the bench judges those at full size.
    by_rule = {name: precision for name, precision, _, n in result.rules if n >= 100}
    # The tells of the issue are gone: none of its one-line rules strips canaries.
    for rule in ("email domain used by one patient", "a result validated at another minute than its sample",
                 "NIR order number 900-999", "last name seen once", "commune seen once",
                 "insurer spelling seen once", "both phone and email", "has a NIR", "phone number nobody else has"):
        assert by_rule.get(rule, 0.0) <= 2 * share, (rule, by_rule.get(rule))
    features = dict(result.features)
    # Nor do the keys and dates: canaries sit among the host's rows of their time (0.70 at this size,
    # 30 canaries; the bench measures at full size).
    timing = {name: round(features.get(name, 0.5), 3)
              for name in ("key rank", "child key rank", "registration date", "key rank - registration rank",
                           "first sample, days after registration", "samples, mean days after registration")
              if features.get(name, 0.5) > 0.70}
    assert not timing, timing
    assert by_rule.get("among the highest keys (as many as canaries)", 0.0) <= 2 * share
    strong = {name: round(features.get(name, 0.5), 3)
              for name in ("email domain frequency", "NIR order", "last name frequency", "street frequency",
                           "results at another minute than their sample", "has email", "has phone")
              if features.get(name, 0.5) > 0.70}
    if strong:
        # Not met yet at this size (docs/realism.md): k-anonymity leaves a small host's names shared by
        # 2 to k-1 patients out of reach. Reported as an expected failure, not hidden.
        pytest.xfail(f"single features still above 0.70 at this size: {strong}")
