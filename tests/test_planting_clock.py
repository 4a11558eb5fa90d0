"""The end of a canary's history: the host's latest activity, never the real clock in silence; and how
a script writes lookups and sequence keys."""
from __future__ import annotations

import random
import sqlite3

import pytest
from labdb import MAPPING

from canary.planting.base import Find, NextValue, PlantingError
from canary.planting.plant import plant_into_target
from canary.planting.sqlscript import expression
from canary.planting.registration import add_target


def _lims(deployment, lab_db, tmp_path, clock_line: str):
    text = MAPPING.read_text().replace('clock = "host"', clock_line)
    path = tmp_path / "mapping.toml"
    path.write_text(text)
    deployment.store.add_site("Lab")
    add_target(deployment, "lims", "Lab", kind="sqlite", location=str(lab_db), mapping=str(path))


def _undated(lab_db):
    """A host whose rows the mapping cannot date (its registration stamps were blanked)."""
    conn = sqlite3.connect(lab_db)
    conn.execute("UPDATE patient SET cree_le = 'inconnu'")
    conn.execute("UPDATE dossier SET date_prelevement = 'inconnu'")
    conn.execute("UPDATE resultat SET valide_le = NULL")
    conn.commit()
    conn.close()


def test_an_explicit_host_clock_that_cannot_be_learnt_is_refused(deployment, lab_db, tmp_path):
    _undated(lab_db)
    _lims(deployment, lab_db, tmp_path, 'clock = "host"')
    with pytest.raises(PlantingError, match=r'clock = "host" but no column the mapping fills with `moment` has '
                                            r'dated host rows: write clock = "now"'):
        plant_into_target(deployment, "lims", 1, rng=random.Random(1))


def test_without_a_clock_key_the_fallback_to_now_is_said(deployment, lab_db, tmp_path):
    _undated(lab_db)
    _lims(deployment, lab_db, tmp_path, "")
    result = plant_into_target(deployment, "lims", 1, rng=random.Random(1))
    assert result.notes and "history ends now" in result.notes[0]


def test_a_frozen_date_ends_the_history_there(deployment, lab_db, tmp_path):
    _lims(deployment, lab_db, tmp_path, 'clock = "2019-03-31"')
    result = plant_into_target(deployment, "lims", 3, rng=random.Random(2))
    stamps = [values["cree_le"] for p in result.canaries for values in p.fingerprint if "cree_le" in values]
    assert stamps and all(stamp <= "2019-03-31 23:59:59" for stamp in stamps) and result.notes == []


@pytest.mark.parametrize("value, dialect, text", [
    (Find("identity_type", "id", (("code", "NIR"),)), "postgresql",
     """(SELECT "id" FROM "identity_type" WHERE "code" = 'NIR')"""),
    (Find("address_part", "id", (("part_name", "commune"),)), "mysql",
     "(SELECT `id` FROM `address_part` WHERE `part_name` = 'commune')"),
    (NextValue("patient_seq"), "postgresql", "nextval('patient_seq')"),
    (NextValue("patient_seq"), "mysql", "NEXTVAL(`patient_seq`)"),
])
def test_a_script_finds_lookup_rows_and_takes_sequence_keys_when_applied(value, dialect, text):
    assert expression(value, dialect) == text
