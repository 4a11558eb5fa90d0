"""The demo deployment behind `make run`: seeded once through the real pipeline, then reused."""
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from canary import accounts
from canary.demo.home import LAB_FOLDER, open_demo
from canary.evidence.verification import verify_store

DEMO_PATIENTS = 300   # the same pipeline as `make run`'s 2,000-patient lab, quicker


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    """A demo home created by its first run; the tests below run it again."""
    home = tmp_path_factory.mktemp("demo") / "demo"
    deployment, password = open_demo(home, patients=DEMO_PATIENTS)
    deployment.close()
    return home, password


def lab_state(home) -> dict:
    """What a re-seed would change: the store's rows and the lab files."""
    from canary.deployment import Deployment
    deployment = Deployment.open(home)
    try:
        store = deployment.store
        counts = {table: store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for table in ("sites", "targets", "canaries", "plantings", "checks", "contacts", "tokens", "evidence")}
    finally:
        deployment.close()
    files = {path.name: (path.stat().st_mtime_ns, path.stat().st_size) for path in sorted((home / LAB_FOLDER).iterdir())}
    return {"counts": counts, "files": files}


def _written(canary: dict, nir_style: str) -> str:
    """How a file shows the canary: its email, else its NIR, else its phone (each as often as the host's)."""
    from canary.generation.phones import format_national
    from canary.planting.value_formats import format_nir
    identifiers = canary["identifiers"]
    if identifiers.get("email"):
        return identifiers["email"][0]
    if identifiers.get("nir"):
        return format_nir(identifiers["nir"][0], nir_style)
    return format_national(identifiers["phone"][0])


def test_first_run_seeds_real_canaries_in_real_lab_copies(demo_home):
    from canary.deployment import Deployment
    home, password = demo_home
    deployment = Deployment.open(home)
    try:
        store = deployment.store
        assert accounts.authenticate(store, "admin", password)
        assert deployment.settings["alerts"]["jsonl_path"] == "alerts.jsonl"
        targets = {t["name"]: t for t in store.targets()}
        assert {name: t["kind"] for name, t in targets.items()} == {
            "lims-prod": "sqlite", "nightly-backup": "sqlite", "vendor-extract": "csv"}
        canaries = store.canaries()
        assert len(canaries) >= 15
        for canary in canaries:
            for kind, values in canary["identifiers"].items():
                for value in values:
                    found = store.resolve(value)
                    assert found["canary_id"] == canary["id"] and found["target"] == canary["target"], (kind, value)
            assert len(canary["label"]) == 11 and canary["identifiers"]["hostname"][0].startswith(canary["label"] + ".")
        # Each canary is a row of the lab copy it was planted into, and only there.
        for name in ("lims-prod", "nightly-backup"):
            lab = sqlite3.connect(targets[name]["location"])
            try:
                nirs = {row[0] for row in lab.execute("SELECT nir FROM patient WHERE nir IS NOT NULL")}
            finally:
                lab.close()
            for canary in canaries:
                # A canary has a NIR as often as the lab's patients do.
                if canary["removed_at"] is None and canary["patient"]["nir"]:
                    assert (canary["patient"]["nir"] in nirs) == (canary["target"] == name)
        # The stolen backup copy holds the canaries planted before it was taken, not those planted after.
        stolen = (home / LAB_FOLDER / "stolen-backup-extract.csv").read_text("utf-8")
        backup = store.canaries(target="nightly-backup")
        taken = [c for c in backup if any(_written(c, form) in stolen for form in ("compact", "spaced"))]
        assert 0 < len(taken) < len(backup)
        assert max(c["planted_at"] for c in taken) < min(c["planted_at"] for c in backup if c not in taken)
        assert {c["canary_id"] for c in store.contacts() if c["canary_id"]} <= {c["id"] for c in taken}
        extract = (home / LAB_FOLDER / "patients.csv").read_bytes().decode("cp1252")
        assert all(any(_written(c, form) in extract for form in ("compact", "spaced"))
                   for c in store.canaries(target="vendor-extract"))
        # Planted over weeks (rotation), checked, one retired, one altered at the lab; contacts on real identifiers.
        assert len({c["planted_at"][:10] for c in canaries}) >= 8
        states = store.canary_states()
        assert sorted(states.values()).count("retired") == 1 and sorted(states.values()).count("missing") == 1
        assert all(store.checks(t["id"]) for t in targets.values())
        assert [t["kind"] for t in store.tokens()] == ["dns"]
        contacts = store.contacts()
        assert {c["channel"] for c in contacts} == {"dns", "smtp", "http", "sms"} and len(contacts) >= 20
        assert all(store.resolve(c["identifier"])["identifier_id"] == c["identifier_id"] for c in contacts)
        first, last = contacts[0]["time"], contacts[-1]["time"]
        assert (time.mktime(time.strptime(last[:10], "%Y-%m-%d")) - time.mktime(time.strptime(first[:10], "%Y-%m-%d"))
                >= 14 * 86400)
        assert verify_store(store).ok
        assert store.alert_cursor() == store.last_contact_id()  # the seeded past raises no alerts
    finally:
        deployment.close()


def test_a_second_run_reuses_the_deployment_without_seeding_again(demo_home):
    home, password = demo_home
    before = lab_state(home)
    deployment, same = open_demo(home, patients=DEMO_PATIENTS)
    deployment.close()
    assert same == password
    assert lab_state(home) == before


def test_demo_refuses_a_real_deployment(home):
    with pytest.raises(ValueError, match="not a demo"):
        open_demo(home)


def test_a_failed_first_run_leaves_nothing_behind(tmp_path, monkeypatch):
    from canary.demo import seeding

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(seeding, "seed_demo_lab", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        open_demo(tmp_path / "demo")
    assert not (tmp_path / "demo").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(RuntimeError, match="disk full"):
        open_demo(tmp_path / "mine")
    assert [path.name for path in (tmp_path / "mine").iterdir()] == ["notes.txt"]


def test_a_first_run_killed_while_seeding_is_seeded_again(tmp_path):
    from canary.demo.home import SEEDING_MARK
    from canary.deployment import init_deployment
    home = tmp_path / "demo"
    init_deployment(home, ["canary.test"]).close()   # as far as a run killed with SIGTERM while seeding got
    (home / SEEDING_MARK).touch()
    deployment, password = open_demo(home, patients=DEMO_PATIENTS)
    try:
        assert deployment.store.canaries() and accounts.authenticate(deployment.store, "admin", password)
        assert not (home / SEEDING_MARK).exists()
    finally:
        deployment.close()


def test_canary_demo_turns_a_dns_query_into_a_contact_and_an_alert_and_stops_on_sigterm(demo_home):
    import dns.message
    import dns.query
    import requests
    home, password = demo_home
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CANARY_DNS_LISTEN": "127.0.0.1:0",
           "CANARY_SMTP_LISTEN": "off", "CANARY_HTTP_LISTEN": "off", "CANARY_ALERTS_POLL_SECONDS": "0.1"}
    process = subprocess.Popen([sys.executable, "-c", "from canary.cli import main; main()", "demo", "--home", str(home),
                                "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env)
    lines: queue.Queue = queue.Queue()
    seen: list[str] = []
    reader = threading.Thread(target=lambda: [lines.put(line.rstrip("\n")) for line in process.stdout], daemon=True)
    reader.start()

    def wait_for(predicate, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"not seen; output so far: {seen}")

    try:
        wait_for(lambda line: line.startswith("ready"))
        dashboard = next(line for line in seen if line.startswith("Dashboard:"))
        assert dashboard.endswith(f"login: admin / {password}")
        assert requests.get(dashboard.split()[1] + "login", timeout=5).status_code == 200
        hint = next(line for line in seen if line.startswith("Touch a canary: dig"))
        hostname = hint.split()[-1]
        dns_port = int(next(line for line in seen if line.startswith("dns listening")).split(":")[1].split()[0])
        answer = dns.query.udp(dns.message.make_query(hostname, "A"), "127.0.0.1", port=dns_port, timeout=5)
        assert answer.answer
        contact_line = wait_for(lambda line: " dns " in line and hostname in line)
        assert "nightly-backup" in contact_line
        alerts = home / "alerts.jsonl"
        deadline = time.monotonic() + 15
        while not (alerts.exists() and hostname in alerts.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hostname in alerts.read_text()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        wait_for(lambda line: line == "stopped", timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(5)
        process.stdout.close()
    from canary.deployment import Deployment
    deployment = Deployment.open(home)
    try:
        stored = deployment.store.contacts(channel="dns")[-1]
        assert stored["identifier"] == hostname and stored["source"].startswith("127.0.0.1:")
    finally:
        deployment.close()
