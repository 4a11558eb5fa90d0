"""Scanning on every core: the same result whatever the number of jobs; a progress bar on a
terminal and nothing in a pipe."""
from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

import pytest

from canary.scan import file_formats as formats, runner, scan_files
from canary.scan.leakgen import population, shout, write_leak, write_nir

from investigation_world import build_world, mix

EXPECTED = {"lims-prod": (3, 3), "backup-nightly": (5, 5), "vendor-export": (3, 4)}


@pytest.fixture(scope="module")
def world(tmp_path_factory, module_store_url):
    built = build_world(tmp_path_factory.mktemp("runner") / "deployment", module_store_url)
    yield built
    built.deployment.close()


@pytest.fixture(scope="module")
def leaks(world, tmp_path_factory):
    """A big CSV (streamed block by block) beside small files of other formats (each one task)."""
    folder = tmp_path_factory.mktemp("leaks")
    hidden = world.leaked_rows()
    rows = [dict(row, nir=write_nir(row["nir"], "spaced")) if i % 2 else shout(row) for i, row in enumerate(hidden)]
    big = write_leak(mix(list(population(6000, seed=21, base=500)), rows), folder / "big.csv", "csv")
    small = [write_leak(mix(list(population(300, seed=seed, base=200)), hidden[:4]), folder / f"part{seed}.{fmt}",
                        fmt, compression=compression)
             for seed, fmt, compression in ((1, "jsonl", "gzip"), (2, "sql", "zip"), (3, "text", None))]
    return big, small


def found_targets(result) -> dict[str, tuple[int, int]]:
    return {t.target: (t.canaries_found, t.canaries_expected) for t in result.targets}


def comparable(result) -> dict:
    """All a scan found and read, without the attribution (its window ends at the time of the scan)."""
    return {key: value for key, value in result.as_dict().items() if key != "targets"}


def first_canary_offset(path, world) -> int:
    """Where the first canary's record starts in the file."""
    data = path.read_bytes()
    last_names = [row["last_name"].encode() for row in world.leaked_rows()]
    return min(data.find(b'"' + name) for name in last_names if data.find(b'"' + name) > 0)


def test_every_number_of_jobs_finds_what_one_job_finds_with_records_across_blocks(world, leaks, monkeypatch):
    big, small = leaks
    paths = [str(big), *map(str, small)]
    whole = scan_files(world.deployment, paths, record=False, jobs=1).as_dict()   # the big file in one block
    # Reads end 10 bytes into a canary's record, and every 4 KB after: records straddle blocks.
    monkeypatch.setattr(formats, "BLOCK_BYTES", first_canary_offset(big, world) + 10)
    monkeypatch.setattr(runner, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(runner, "WHOLE_FILE_BYTES", 200_000)   # big.csv streamed, the others whole per worker
    results = {jobs: scan_files(world.deployment, paths, record=False, jobs=jobs) for jobs in (1, 2, 3)}
    assert big.stat().st_size > 4 * formats.BLOCK_BYTES
    assert comparable(results[1]) == comparable(results[2]) == comparable(results[3])
    assert found_targets(results[1]) == found_targets(results[2]) == found_targets(results[3]) == EXPECTED
    assert [m for m in results[2].as_dict()["matches"]] == whole["matches"]
    assert [f["path"] for f in results[3].files] == paths


def test_a_file_cut_in_many_blocks_reports_progress_up_to_its_size(world, leaks, monkeypatch):
    big, _ = leaks
    monkeypatch.setattr(formats, "BLOCK_BYTES", 64 << 10)
    monkeypatch.setattr(runner, "WHOLE_FILE_BYTES", 0)
    monkeypatch.setattr(runner, "PARALLEL_MIN_BYTES", 0)
    seen = []
    scan_files(world.deployment, [str(big)], record=False, jobs=2,
               progress=lambda p: seen.append((p.bytes_done, p.files_done, p.matches)))
    done = [b for b, _, _ in seen]
    assert len(seen) > 5 and done == sorted(done) and done[-1] == big.stat().st_size
    assert seen[-1][1] == 1 and seen[-1][2] > 0 and seen[0][2] <= seen[-1][2]


def test_workers_fork_with_the_index_frozen_and_the_scan_leaves_the_collector_as_it_was(world, leaks, monkeypatch):
    """Frozen objects are skipped by the workers' garbage collections (which would otherwise copy every
    page of the inherited index); once the scan is over, a long-lived caller's collector is unchanged."""
    import gc
    big, _ = leaks
    monkeypatch.setattr(formats, "BLOCK_BYTES", 64 << 10)
    monkeypatch.setattr(runner, "WHOLE_FILE_BYTES", 0)
    monkeypatch.setattr(runner, "PARALLEL_MIN_BYTES", 0)
    frozen = []
    scan_files(world.deployment, [str(big)], record=False, jobs=2,
               progress=lambda p: frozen.append(gc.get_freeze_count()))
    assert frozen[0] > 0   # while blocks were being scanned
    assert gc.get_freeze_count() == 0


def test_workers_read_a_plain_files_blocks_from_the_file_and_others_get_them_sent(world, leaks, tmp_path, monkeypatch):
    """Sending 4 MB through a pipe costs more than scanning it: a plain file's blocks are read by the
    workers themselves; a compressed file's blocks (or a Mac file's, rewritten) are still sent."""
    import gzip
    big, _ = leaks
    monkeypatch.setattr(formats, "BLOCK_BYTES", 64 << 10)
    monkeypatch.setattr(runner, "WHOLE_FILE_BYTES", 0)
    monkeypatch.setattr(runner, "PARALLEL_MIN_BYTES", 0)
    one = scan_files(world.deployment, [str(big)], record=False, jobs=1)
    tasks = []
    submit = runner._Workers.submit
    monkeypatch.setattr(runner._Workers, "submit", lambda pool, function, *args: tasks.append(function.__name__)
                        or submit(pool, function, *args))
    two = scan_files(world.deployment, [str(big)], record=False, jobs=2)
    assert len(tasks) > 5 and set(tasks) == {"_scan_span"}
    assert comparable(two) == comparable(one)
    packed = tmp_path / "big.csv.gz"
    packed.write_bytes(gzip.compress(big.read_bytes()))
    tasks.clear()
    assert found_targets(scan_files(world.deployment, [str(packed)], record=False, jobs=2)) == found_targets(one)
    assert len(tasks) > 5 and set(tasks) == {"_scan_block"}


def run_scan(world, path, terminal: bool, *flags) -> tuple[str, str]:
    """`canary scan` as a person runs it (stdout and stderr on a terminal of 100x30) or in a pipe."""
    command = [sys.executable, "-c", "from canary.cli import main; main()", "scan", str(path),
               "--home", str(world.deployment.settings.home), *flags]
    if not terminal:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout, done.stderr
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    process = subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower, close_fds=True)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 1 << 16)
        except OSError:   # the terminal closes when the command exits
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert process.wait(timeout=120) == 0, output
    return output.decode("utf-8", "replace"), ""


def test_progress_bar_on_a_terminal_and_nothing_in_a_pipe(world, leaks):
    big, _ = leaks
    shown, _ = run_scan(world, big, True, "--jobs", "2")
    bar = [line for line in shown.split("\r") if line.startswith("scan:")]
    assert bar and "1/1 files" in bar[-1] and "matches" in bar[-1] and "B/s" in bar[-1], shown[:500]
    assert "lims-prod" in shown
    out, err = run_scan(world, big, False, "--jobs", "2")
    assert err == "" and "scan:" not in out and "lims-prod" in out
    quiet, _ = run_scan(world, big, True, "--quiet")
    assert "scan:" not in quiet and "lims-prod" in quiet


def test_a_plain_files_lines_are_numbered_as_its_decompressed_copys_are(world, leaks, tmp_path, monkeypatch):
    """A plain file's blocks are spans of the file, their lines numbered when merged (from the records each
    block held); a line too long for one record is cut in pieces that keep its number. The gzip of the same
    bytes, read and numbered block by block by the reader, is the reference."""
    import gzip
    from canary.scan import scan as scanning
    from canary.scan.limits import ScanLimits
    big, _ = leaks
    rows = big.read_bytes().split(b"\n")
    endless = b";".join([b"x" * 99] * 3000)   # 300 KB without a line break, in the middle of the file
    data = b"\n".join(rows[:len(rows) // 2] + [endless] + rows[len(rows) // 2:])
    plain, packed = tmp_path / "endless.csv", tmp_path / "endless.csv.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    monkeypatch.setattr(formats, "BLOCK_BYTES", 64 << 10)
    monkeypatch.setattr(runner, "WHOLE_FILE_BYTES", 0)
    monkeypatch.setattr(runner, "PARALLEL_MIN_BYTES", 0)
    index = scanning.build_index(world.deployment)

    def scanned(path, jobs):
        found = scanning._Found()
        files, _, errors = runner.scan_paths(index, [str(path)], found, jobs=jobs,
                                             limits=ScanLimits(max_record_bytes=100 << 10))
        assert not errors
        hits = [(hit.owner.identifier_id, hit.line, hit.found) for hit in found.hits]
        return hits, [(c.canary_id, c.line) for c in found.corroborations], files[0]["members"][0]["records"]

    reference = scanned(packed, 1)
    assert scanned(plain, 1) == scanned(plain, 2) == reference
    hits, corroborations, records = reference
    lines = data.split(b"\n")
    assert len(hits) > 5 and corroborations and records > len(lines)   # the endless line counted in pieces
    assert max(line for _, line, _ in hits) > len(rows) // 2 + 1   # hits after the endless line
    assert all(found.encode("latin-1").lower() in lines[line - 1].lower() for _, line, found in hits)
