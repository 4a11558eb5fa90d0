"""The investigation commands end to end: scan, evidence verify, report and --check."""
from __future__ import annotations

import gzip
import json

import pytest
from click.testing import CliRunner

from canary.cli import main
from canary.scan.leakgen import population, write_leak

from investigation_world import LABS, build_world, mix
from storemode import tampering  # noqa: E402


@pytest.fixture(scope="module")
def world(tmp_path_factory, module_store_url):
    built = build_world(tmp_path_factory.mktemp("cli") / "deployment", module_store_url)
    yield built
    built.deployment.close()


@pytest.fixture(scope="module")
def leak(world, tmp_path_factory):
    rows = mix(list(population(2000, seed=3, base=500)), world.leaked_rows())
    return write_leak(rows, tmp_path_factory.mktemp("leak") / "dump.sql.xz", "sql", compression="xz")


@pytest.fixture
def canary(world):
    """Run `canary ARGS --home HOME`; returns (exit code, stdout, stderr)."""
    def run(*args, input=None):
        result = CliRunner().invoke(main, [*args, "--home", str(world.deployment.settings.home)],
                                                   input=input)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result.exit_code, result.stdout, result.stderr
    return run


def scan_count(world) -> int:
    return len(world.deployment.store.scans())


def test_scan_json_has_matches_and_targets(world, leak, canary):
    code, out, _ = canary("scan", str(leak), "--json")
    assert code == 0
    result = json.loads(out)
    assert {t["target"] for t in result["targets"]} == {target for _, target, picked in LABS if picked}
    assert set(result["targets"][0]) >= {"site", "target", "canaries_found", "canaries_expected", "probability",
                                         "taken_after", "taken_before"}
    assert set(result["matches"][0]) >= {"canary_id", "kind", "value", "file", "line"}
    assert result["files"][0]["members"][0]["format"] == "sql"
    assert result["files"][0]["sha256"] == __import__("hashlib").sha256(leak.read_bytes()).hexdigest()


def test_scan_reads_standard_input(world, leak, canary):
    code, out, _ = canary("scan", "-", input=leak.read_bytes())
    assert code == 0 and "lims-prod" in out and "<stdin>" in out


def test_scan_text_output_names_targets_and_records_the_scan(world, leak, canary):
    before = scan_count(world)
    code, out, _ = canary("scan", str(leak))
    assert code == 0
    assert "backup-nightly" in out and "Recorded as scan" in out and "csv-extract" not in out
    assert scan_count(world) == before + 1


@pytest.mark.parametrize("name,content,message", [
    ("garbage.bin", bytes(range(256)) * 40, "binary data"),
    ("cut.csv.gz", None, "truncated"),
    ("empty.csv", b"", "empty file"),
    ("fake.zip", b"PK\x03\x04" + b"\x00" * 100, "zip archive"),
    ("ebcdic.csv", "nom;prénom;téléphone\nDupont;Jean;06 39 98 12 34\n".encode("cp500") * 50, "known encoding"),
])
def test_unreadable_files_are_one_clear_line_and_nothing_recorded(world, tmp_path, canary, name, content, message):
    path = tmp_path / name
    if content is None:
        whole = gzip.compress(write_leak(population(3000, seed=2, base=300), tmp_path / "whole.csv").read_bytes())
        content = whole[:len(whole) // 2]
    path.write_bytes(content)
    before = scan_count(world)
    code, out, err = canary("scan", str(path))
    assert code == 1 and "Traceback" not in err
    assert err.startswith("Error: ") and str(path) in err and message in err and err.count("\n") == 1
    assert scan_count(world) == before


def test_missing_file_and_directory(world, tmp_path, canary):
    for path, message in ((tmp_path / "nope.csv", "cannot open"), (tmp_path, "is a directory")):
        code, _, err = canary("scan", str(path))
        assert code == 1 and message in err and "Traceback" not in err


def test_truncated_archive_can_be_scanned_as_far_as_it_goes(world, tmp_path, canary):
    rows = world.leaked_rows() + list(population(4000, seed=1, base=500))
    data = gzip.compress(write_leak(rows, tmp_path / "full.csv").read_bytes())
    (tmp_path / "cut.csv.gz").write_bytes(data[:len(data) * 2 // 3])
    code, out, err = canary("scan", str(tmp_path / "cut.csv.gz"), "--allow-truncated")
    assert code == 0 and "warning:" in err and "truncated" in err
    assert "lims-prod" in out


def test_evidence_verify_finds_the_tampered_event(world, leak, canary, tmp_path):
    canary("scan", str(leak))
    code, out, _ = canary("evidence", "verify")
    assert code == 0 and "intact" in out
    store = world.deployment.store
    with tampering(store) as raw:
        seq = raw.execute("SELECT max(seq) FROM evidence WHERE kind = 'sighting'").fetchone()[0]
        raw.execute("UPDATE evidence SET payload = replace(payload, 'lims-prod', 'lims-test') WHERE seq = ?", (seq,))
    code, out, _ = canary("evidence", "verify", "--json")
    assert code == 1
    verdict = json.loads(out)
    assert verdict["broken_at"] == seq and "altered" in verdict["reason"]
    # Put it back, then edit a table row instead: the chain is fine, the cross-check is not.
    with tampering(store) as raw:
        raw.execute("UPDATE evidence SET payload = replace(payload, 'lims-test', 'lims-prod') WHERE seq = ?", (seq,))
        sighting, line = raw.execute("SELECT id, line FROM sightings ORDER BY id DESC LIMIT 1").fetchone()
        raw.execute("UPDATE sightings SET line = 999999 WHERE id = ?", (sighting,))
        contact = raw.execute("SELECT id, evidence_seq FROM contacts").fetchone()
        raw.execute("UPDATE contacts SET source = '203.0.113.66:53' WHERE id = ?", (contact[0],))
    code, out, _ = canary("evidence", "verify")
    assert code == 1
    assert f"sighting {sighting} (evidence event {seq}): line is 999999 in the table" in out
    assert f"contact {contact[0]} (evidence event {contact[1]}): source is '203.0.113.66:53'" in out
    with tampering(store) as raw:   # leave the store as the other tests expect it
        raw.execute("UPDATE contacts SET source = '192.0.2.53:5300' WHERE id = ?", (contact[0],))
        raw.execute("UPDATE sightings SET line = ? WHERE id = ?", (line, sighting))


def test_evidence_verify_names_an_edited_planting(world, canary):
    store = world.deployment.store
    planting = store.planting_history()[0]
    with tampering(store) as raw:
        raw.execute("UPDATE plantings SET planted_at = '2025-12-01T00:00:00.000000Z' WHERE id = ?", (planting["id"],))
    try:
        code, out, _ = canary("evidence", "verify")
        assert code == 1
        assert f"planting {planting['id']} (evidence event" in out and "planted_at is '2025-12-01" in out
    finally:
        with tampering(store) as raw:
            raw.execute("UPDATE plantings SET planted_at = ? WHERE id = ?", (planting["planted_at"], planting["id"]))
    assert canary("evidence", "verify")[0] == 0


def test_a_decompression_bomb_is_read_in_bounded_steps(world, tmp_path, canary):
    import bz2
    import tracemalloc
    from canary.scan.layers import Decompressed
    bomb = bz2.compress(b"x" * (200 << 20))   # 200 MB of one line in ~150 bytes
    stream = Decompressed(__import__("io").BytesIO(bomb), "bzip2")
    tracemalloc.start()
    total = 0
    while chunk := stream.read(4 << 20):
        total += len(chunk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert total == 200 << 20 and peak < 32 << 20   # a few blocks, not the 200 MB


def test_zip_member_names_cannot_inject_into_the_output(world, tmp_path, canary):
    import zipfile
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("\x1b[2Jreport\n.csv", "nom;prenom\nDupont;Jean\n")
    code, out, _ = canary("scan", str(path))
    assert code == 0 and "\x1b" not in out and "evil.zip!?[2Jreport?.csv" in out


def test_a_bad_attribution_p_is_one_line(world, tmp_path, canary, monkeypatch, leak):
    monkeypatch.setenv("CANARY_ATTRIBUTION_P", "2")
    code, _, err = canary("scan", str(leak))
    assert code == 1 and "attribution.p must be a probability" in err


def test_a_zip_cut_before_its_member_list_is_refused_even_with_allow_truncated(world, tmp_path, canary):
    """Its central directory is at the end: nothing in it can be read, so "no canary found"
    would be a false all-clear."""
    rows = world.leaked_rows() + list(population(2000, seed=1, base=500))
    write_leak(rows, tmp_path / "full.csv", compression="zip")
    data = (tmp_path / "full.csv").read_bytes()
    (tmp_path / "cut.zip").write_bytes(data[:len(data) // 2])
    before = scan_count(world)
    for options in ((), ("--allow-truncated",)):
        code, out, err = canary("scan", str(tmp_path / "cut.zip"), *options)
        assert code == 1 and "Traceback" not in err and err.count("\n") == 1
        assert "nothing in it can be read" in err and "--allow-truncated" not in err
        assert "No canary found" not in out
    assert scan_count(world) == before


def test_a_json_document_cut_short_can_be_scanned_as_far_as_it_goes(world, tmp_path, canary):
    """A download that stopped early: refused by default, like a truncated archive, not a syntax error."""
    rows = world.leaked_rows() + list(population(2000, seed=1, base=500))
    data = write_leak(rows, tmp_path / "full.json", "json").read_bytes()
    (tmp_path / "cut.json").write_bytes(data[:len(data) * 2 // 3])
    code, _, err = canary("scan", str(tmp_path / "cut.json"))
    assert code == 1 and "truncated" in err and "--allow-truncated" in err and err.count("\n") == 1
    code, out, err = canary("scan", str(tmp_path / "cut.json"), "--allow-truncated")
    assert code == 0 and "warning:" in err and "cut.json" in err
    assert "lims-prod" in out


def test_evidence_verify_with_many_problems_shows_the_first_and_counts_the_rest(world, leak, canary):
    """A deleted sighting event leaves one problem per sighting: hundreds of lines would bury the first."""
    canary("scan", str(leak))
    store = world.deployment.store
    with tampering(store) as raw:
        event = dict(raw.execute("SELECT * FROM evidence ORDER BY seq DESC LIMIT 1").fetchone())
        raw.execute("DELETE FROM evidence WHERE seq = ?", (event["seq"],))
    try:
        sightings = len(json.loads(event["payload"])["sightings"])
        assert sightings > 25
        code, out, _ = canary("evidence", "verify")
        lines = out.strip().splitlines()
        assert code == 1 and len(lines) == 21
        assert lines[0].startswith("table disagrees with the evidence log: sighting ")
        assert f"and {sightings - 20} more problems (--json lists them all)" in lines[-1]
        code, out, _ = canary("evidence", "verify", "--json")
        assert len(json.loads(out)["table_problems"]) == sightings
    finally:
        with tampering(store) as raw:
            raw.execute(f"INSERT INTO evidence ({', '.join(event)}) VALUES ({', '.join('?' for _ in event)})",
                        list(event.values()))
    assert canary("evidence", "verify")[0] == 0
