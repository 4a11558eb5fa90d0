"""Corroboration by kind: a NIR or a phone number a stranger may hold never names a canary alone."""
from __future__ import annotations

import pytest

from canary.scan import scan_files
from canary.scan.leakgen import leak_row, population, write_leak, write_strangers_csv

from investigation_world import build_world, mix

LEAK_SIZE_2021 = 491_840


@pytest.fixture(scope="module")
def world(tmp_path_factory, module_store_url):
    built = build_world(tmp_path_factory.mktemp("corroboration") / "deployment", module_store_url)
    yield built
    built.deployment.close()


def every_canary(world) -> list[dict]:
    return [canary for canaries in world.canaries.values() for canary in canaries]


def scan(world, path):
    return scan_files(world.deployment, [str(path)], record=False)


def test_a_file_the_size_of_2021s_whose_strangers_carry_canaries_nirs_and_phones_names_no_target(world, tmp_path):
    """Every 200th of 491,840 strangers holds a NIR and a phone number of one of the 20 canaries
    (spaced, keyless, rewritten): thousands of collisions, built on purpose, and no canary counts."""
    patients = [canary["patient"] for canary in every_canary(world)]
    path = tmp_path / "strangers.csv"
    written = write_strangers_csv(path, LEAK_SIZE_2021, seed=2021, carrying=patients, every=200)
    assert written["carriers"] > 2000
    try:
        result = scan(world, path)
    finally:
        path.unlink()                                   # 97 MB: not kept among pytest's last runs
    assert result.targets == [] and result.matches == []
    by_kind = {"nir": 0, "phone": 0}
    for (kind, _), records in result.uncorroborated.items():
        by_kind[kind] += records
    assert by_kind["nir"] == written["carriers"]        # every colliding NIR was seen, and set aside
    assert by_kind["phone"] >= written["carriers"]


def test_a_stranger_with_a_canarys_phone_and_nir_but_another_name_is_not_counted(world, tmp_path):
    canary = world.canaries["lims-prod"][0]
    strangers = list(population(200, seed=3, base=200))
    impostor = dict(strangers[0], nir=canary["patient"]["nir"], phone=canary["patient"]["phone"],
                    email="someone@example.com")
    assert impostor["last_name"] != canary["patient"]["last_name"]
    result = scan(world, write_leak(mix(strangers[1:], [impostor]), tmp_path / "impostor.csv"))
    assert result.targets == [] and result.matches == []
    assert result.uncorroborated == {("nir", canary["id"]): 1, ("phone", canary["id"]): 1}


def test_the_json_says_per_canary_which_identifiers_and_which_corroboration_made_it_count(world, tmp_path):
    with_email, without_email = world.canaries["lims-prod"][:2]
    rows = [leak_row(with_email["patient"]), dict(leak_row(without_email["patient"]), email="")]
    result = scan(world, write_leak(mix(list(population(100, seed=4, base=100)), rows), tmp_path / "leak.csv"))
    (target,) = result.as_dict()["targets"]
    evidence = {entry["canary_id"]: {i["kind"]: i for i in entry["identifiers"]} for entry in target["evidence"]}
    assert set(evidence) == {with_email["id"], without_email["id"]}
    assert evidence[with_email["id"]]["email"]["corroborated_by"] is None
    assert "counts alone" in evidence[with_email["id"]]["email"]["why"]
    assert set(evidence[without_email["id"]]) == {"nir", "phone"}
    assert evidence[without_email["id"]]["nir"]["corroborated_by"] == "last_name+first_name"
    assert evidence[without_email["id"]]["phone"]["corroborated_by"] == "last_name+first_name+birth_date"
    assert evidence[without_email["id"]]["nir"]["first_line"] > 1
