"""`canary target set` and `canary target remove`: checked like `target add`, and recorded in the evidence log."""
from __future__ import annotations

import shutil

from labdb import MAPPING


def _lims(invoke, lab_db):
    invoke("site", "add", "Lab")
    invoke("target", "add", "lims", "--site", "Lab", "--kind", "sqlite", "--location", str(lab_db),
           "--mapping", str(MAPPING))


def test_set_moves_a_target_to_a_copy_and_the_log_keeps_where_it_was(invoke, deployment, lab_db, tmp_path):
    _lims(invoke, lab_db)
    invoke("plant", "lims", "--count", "2", "--seed", "1")
    moved = tmp_path / "moved.db"
    shutil.copy(lab_db, moved)
    result = invoke("target", "set", "lims", "--location", str(moved), "--region", "Bretagne")
    assert "changed location, region" in result.output and "mapping checked" in result.output
    assert "2 present" in invoke("check", "lims").output
    event = deployment.store.events("target.changed")[-1]["payload"]
    assert event["changes"]["location"] == {"from": str(lab_db), "to": str(moved)}
    bad = invoke("target", "set", "lims", "--location", str(tmp_path / "nowhere.db"), expect_exit=1)
    assert "no such file" in bad.output
    assert "unknown region 'Atlantide'" in invoke("target", "set", "lims", "--region", "Atlantide",
                                                  expect_exit=1).output
    assert deployment.store.get_target("lims")["location"] == str(moved)


def test_remove_refuses_a_target_holding_canaries_then_retires_them_and_keeps_their_registration(
        invoke, deployment, lab_db):
    _lims(invoke, lab_db)
    invoke("plant", "lims", "--count", "3", "--seed", "2")
    refused = invoke("target", "remove", "lims", expect_exit=1)
    assert "still holds 3 canaries" in refused.output and "--retire" in refused.output
    done = invoke("target", "remove", "lims", "--retire")
    assert "3 canaries stay registered for attribution, 3 retired from it now" in done.output
    assert "lims" not in invoke("target", "list").output
    assert len(deployment.store.canaries(target="lims")) == 3
    event = deployment.store.events("target.removed")[-1]["payload"]
    assert (event["canaries_registered"], event["canaries_retired_now"]) == (3, 3)
    assert "was removed" in invoke("plant", "lims", expect_exit=1).output
    assert "lims" not in invoke("rotate").output
