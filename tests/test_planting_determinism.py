"""The same seed plants the same canaries in another process too: nothing the generator draws may
depend on Python's per-process string hashing (the order of a set of names, streets, domains).

Within one process the hash seed is fixed, so tests/test_realism.py's same-seed test cannot see
this; here each plant runs in a process of its own, under a different PYTHONHASHSEED.
"""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Builds the host from its seed, plants 6 canaries with a fixed rng, prints them as JSON.
PLANT_ONCE = r"""
import importlib.util, json, pathlib, random, sys
from canary.deployment import init_deployment
from canary.planting.plant import plant_into_target
from canary.planting.registration import add_target

host, folder = sys.argv[1], pathlib.Path(sys.argv[2])
root = pathlib.Path(sys.argv[3])
if host == "lab":
    from canary.demo import labdb as builder
    mapping = builder.DATA / "lab_mapping.toml"
else:
    spec = importlib.util.spec_from_file_location("make_clinic_db", root / "examples" / "make_clinic_db.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    mapping = root / "examples" / "clinic_mapping.toml"
database = folder / "host.db"
builder.build(database, 700, 3)
deployment = init_deployment(folder / "deployment", ["canary.test"], ["example.com", "example.net"],
                             mail_mode="pool")
deployment.store.add_site("Lab")
add_target(deployment, "host", "Lab", kind="sqlite", location=str(database), mapping=str(mapping))
result = plant_into_target(deployment, "host", 6, rng=random.Random(42))
print(json.dumps([[p.canary["patient"], p.rows] for p in result.canaries], sort_keys=True, default=str))
"""


def _plant_in_a_process(host: str, folder: pathlib.Path, hash_seed: str) -> list:
    folder.mkdir()
    environment = {**os.environ, "PYTHONHASHSEED": hash_seed}
    environment.pop("CANARY_TEST_STORE", None)     # the store plays no part in what is drawn
    done = subprocess.run([sys.executable, "-c", PLANT_ONCE, host, str(folder), str(ROOT)], env=environment,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("host", ["lab", "clinic"])
def test_the_same_seed_plants_the_same_canaries_whatever_the_hash_seed(host, tmp_path):
    first = _plant_in_a_process(host, tmp_path / "a", "1")
    second = _plant_in_a_process(host, tmp_path / "b", "2")
    assert len(first) == 6
    assert first == second
