"""A retire is two commits, the target's then the store's; a process killed between them leaves the
evidence log saying why the rows are gone, and running `canary retire` again finishes the job.

The real CLI plants into a copy of the 5,000-patient lab; `canary retire` then runs in a process
whose SQLite target kills it (os._exit, as a SIGKILL would) right after the target commits, before
the store does. Before, nothing in the log told a deleted canary from a stolen one: the plantings
were still "planted", their rows gone, `canary check` reported them missing with no more said, and
one `planting.retired` event per planting followed only when the store committed.
"""
import json
import pathlib
import sqlite3
import subprocess
import sys

from labdb import MAPPING

from canary.deployment import Deployment

CANARY = pathlib.Path(sys.executable).with_name("canary")

# `canary retire` with the target's commit followed at once by the death of the process.
KILLED_AFTER_THE_TARGET_COMMITS = """
import contextlib, os, sys
from canary.planting.sqlite import SqliteTarget
committing = SqliteTarget.transaction

@contextlib.contextmanager
def transaction_then_death(self, *args, **kwargs):
    with committing(self, *args, **kwargs):
        yield self
    os._exit(9)

SqliteTarget.transaction = transaction_then_death
from canary.cli import main
sys.argv = ["canary", *sys.argv[1:]]
main()
"""


def canary(home, *args, driver=None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", driver, *args] if driver else [str(CANARY), *args]
    return subprocess.run(command + ["--home", str(home)], capture_output=True, text=True, timeout=300)


def planted_patients(lab: pathlib.Path, patient_ids: list[int]) -> int:
    with sqlite3.connect(lab) as conn:
        return conn.execute(f"SELECT count(*) FROM patient WHERE id IN ({', '.join('?' * len(patient_ids))})",
                            patient_ids).fetchone()[0]


def test_a_retire_killed_between_the_two_commits_is_explained_by_the_log_and_finished_by_a_rerun(home, lab_db):
    for command in (["site", "add", "Labo"],
                    ["target", "add", "lims", "--site", "Labo", "--kind", "sqlite", "--location", str(lab_db),
                     "--mapping", str(MAPPING)],
                    ["plant", "lims", "--count", "5", "--seed", "3"]):
        done = canary(home, *command)
        assert done.returncode == 0, done.stderr
    deployment = Deployment.open(home)
    try:
        plantings = deployment.store.plantings(states=("planted",))
        patients = [planting["rows"][0]["key"]["id"] for planting in plantings]
    finally:
        deployment.close()
    assert len(plantings) == 5 and planted_patients(lab_db, patients) == 5

    killed = canary(home, "retire", "lims", "--all", driver=KILLED_AFTER_THE_TARGET_COMMITS)
    assert killed.returncode == 9, killed.stderr
    assert planted_patients(lab_db, patients) == 0          # the target committed
    deployment = Deployment.open(home)
    try:
        store = deployment.store
        assert {p["state"] for p in store.plantings()} == {"planted"}     # the store did not
        intents = store.events("planting.retiring")
        assert [sorted(e["payload"]["planting_ids"]) for e in intents] == [sorted(p["id"] for p in plantings)]
        assert store.events("planting.retired") == []
    finally:
        deployment.close()
    verified = canary(home, "evidence", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    checked = canary(home, "check", "lims")       # missing, and the log says why
    assert checked.returncode == 2 and checked.stdout.count("did not finish") == 5, checked.stdout

    finished = canary(home, "retire", "lims", "--all", "--json")
    assert finished.returncode == 0, finished.stderr
    assert sorted(json.loads(finished.stdout)["retired"]) == sorted(p["canary_id"] for p in plantings)
    deployment = Deployment.open(home)
    try:
        store = deployment.store
        assert {p["state"] for p in store.plantings()} == {"retired"}
        retired = store.events("planting.retired")       # one event for the whole retire
        assert len(retired) == 1 and sorted(retired[0]["payload"]["planting_ids"]) == sorted(p["id"] for p in plantings)
    finally:
        deployment.close()
    verified = canary(home, "evidence", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
