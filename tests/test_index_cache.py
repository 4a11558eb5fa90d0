"""The compiled engine cached in the deployment: reused while the identifiers stay the same,
compiled anew when they change, ignored when damaged."""
from __future__ import annotations

import random

import pytest

from canary.deployment import Deployment, init_deployment
from canary.generation.issuing import Issuer
from canary.generation.patients import generate_patients
from canary.scan import engine as engine_module, index_cache, scan_files
from canary.scan.leakgen import leak_row, write_leak
from canary.scan.scan import build_index


@pytest.fixture
def deployment(tmp_path, store_url):
    init_deployment(tmp_path / "deployment", ["canary.test"], store=store_url).close()
    opened = Deployment.open(tmp_path / "deployment")
    yield opened
    opened.close()


@pytest.fixture
def compilations(monkeypatch):
    """Counts the engine compilations."""
    counted = []
    original = engine_module.Engine.__init__

    def counting(self, *args):
        counted.append(1)
        original(self, *args)
    monkeypatch.setattr(engine_module.Engine, "__init__", counting)
    return counted


def new_canary(deployment, seed: int) -> dict:
    site = deployment.store.add_site(f"Lab {seed}")
    target = deployment.store.add_target(f"prod-{seed}", site["name"])
    patient = generate_patients(1, seed)[0]
    return Issuer(deployment.store, deployment.settings, random.Random(seed)).register_canary(patient, target["id"])


def test_compiled_once_then_read_back_until_the_identifiers_change(deployment, compilations, tmp_path):
    first = new_canary(deployment, 1)
    build_index(deployment)
    assert (deployment.settings.home / index_cache.CACHE_FILE).exists() and len(compilations) == 1
    leak = write_leak([leak_row(first["patient"])], tmp_path / "first.csv")
    assert {m.owner.canary_id for m in scan_files(deployment, [str(leak)], record=False).matches} == {first["id"]}
    assert len(compilations) == 1   # read back, not compiled
    second = new_canary(deployment, 2)
    leak = write_leak([leak_row(first["patient"]), leak_row(second["patient"])], tmp_path / "leak.csv")
    result = scan_files(deployment, [str(leak)], record=False)
    assert len(compilations) == 2   # a new canary: new patterns, compiled anew
    assert {m.owner.canary_id for m in result.matches} == {first["id"], second["id"]}


def test_a_damaged_cache_file_is_compiled_anew(deployment, compilations, tmp_path):
    canary = new_canary(deployment, 3)
    build_index(deployment)
    path = deployment.settings.home / index_cache.CACHE_FILE
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2] + b"\x00" * 64)
    leak = write_leak([leak_row(canary["patient"])], tmp_path / "leak.csv")
    assert {m.owner.canary_id for m in scan_files(deployment, [str(leak)], record=False).matches} == {canary["id"]}
    assert len(compilations) == 2 and path.read_bytes() == data
