"""Scanning leaks: every format, transformation and compression; attribution and windows."""
from __future__ import annotations

import random

import pytest

from canary.scan import scan_files
from canary.scan.leakgen import PHONE_STYLES, leak_row, population, shout, write_leak, write_nir, write_phone

from investigation_world import CONTACT_TIME, PLANTED, build_world, mix

EXPECTED = {"lims-prod": (3, 3), "backup-nightly": (5, 5), "vendor-export": (3, 4)}


@pytest.fixture(scope="module")
def world(tmp_path_factory, module_store_url):
    built = build_world(tmp_path_factory.mktemp("scan") / "deployment", module_store_url)
    yield built
    built.deployment.close()


@pytest.fixture(scope="module")
def small_population():
    return list(population(3000, seed=11, base=1000))


def found_targets(result) -> dict[str, tuple[int, int]]:
    return {t.target: (t.canaries_found, t.canaries_expected) for t in result.targets}


def scan(world, *paths, **options):
    return scan_files(world.deployment, [str(p) for p in paths], record=False, **options)


def test_100000_patients_attributed_to_exactly_three_targets_with_their_windows(world, tmp_path):
    rows = mix(list(population(100_000, seed=5)), world.leaked_rows())
    path = write_leak(rows, tmp_path / "forum-dump.csv.gz", "csv", compression="gzip")
    result = scan(world, path)
    assert found_targets(result) == EXPECTED
    by_target = {t.target: t for t in result.targets}
    rennes = by_target["lims-prod"]        # complete: after March's canary, before April's
    assert (rennes.taken_after, rennes.taken_before, rennes.complete) == (PLANTED[2], PLANTED[3], True)
    assert rennes.probability == pytest.approx(1 - 0.01 ** 3)
    nantes = by_target["backup-nightly"]   # complete, nothing planted later: the June contact bounds it
    assert (nantes.taken_after, nantes.taken_before) == (PLANTED[4], CONTACT_TIME)
    brest = by_target["vendor-export"]     # partial: lacks March's canary, so April's absence is no bound
    assert (brest.taken_after, brest.taken_before_source, brest.complete) == (PLANTED[3], "sighting", False)
    assert brest.bounds["chance_later_missed_by_sampling"] == pytest.approx(0.25)
    assert "partial copy" in brest.notes[0]
    lines = {m.line for m in result.matches}
    assert all(rows[line - 2]["nir"] in {c["patient"]["nir"] for c in world.leaked_canaries()} for line in lines)


def test_a_file_without_canaries_reports_none(world, tmp_path, small_population):
    result = scan(world, write_leak(small_population, tmp_path / "clean.csv"))
    assert result.targets == [] and result.matches == [] and result.corroborations == []


@pytest.mark.parametrize("fmt,compression", [("csv", None), ("tsv", "gzip"), ("json", "bzip2"), ("jsonl", "xz"),
                                             ("sql", "zip"), ("copy", "gzip"), ("xlsx", None), ("text", "zip")])
def test_every_format_and_compression(world, tmp_path, small_population, fmt, compression):
    rows = mix(small_population[:800], world.leaked_rows())
    result = scan(world, write_leak(rows, tmp_path / f"leak.{fmt}", fmt, compression=compression))
    assert found_targets(result) == EXPECTED
    assert {m.owner.kind for m in result.matches} >= {"email", "nir", "phone"}


def _phones_in_every_form(rows):
    return [dict(row, phone=write_phone(row["phone"], PHONE_STYLES[i % len(PHONE_STYLES)]))
            for i, row in enumerate(rows)]


TRANSFORMATIONS = {
    "upper case, accents stripped": lambda rows: [shout(row) for row in rows],
    "phones rewritten": _phones_in_every_form,
    "NIR spaced or without key": lambda rows: [dict(row, nir=write_nir(row["nir"], ("spaced", "no-key")[i % 2]))
                                               for i, row in enumerate(rows)],
}


@pytest.mark.parametrize("name", sorted(TRANSFORMATIONS))
def test_transformed_identifiers_still_match(world, tmp_path, small_population, name):
    transform = TRANSFORMATIONS[name]
    rows = mix(transform(small_population), transform(world.leaked_rows()))
    result = scan(world, write_leak(rows, tmp_path / "leak.csv", "csv", compression="gzip"))
    assert found_targets(result) == EXPECTED


def test_each_phone_writing_matches_on_its_own(world, tmp_path, small_population):
    for style in PHONE_STYLES:
        hidden = [dict(row, phone=write_phone(row["phone"], style)) for row in world.leaked_rows()]
        path = write_leak(mix(small_population[:300], hidden), tmp_path / f"{style}.txt", "text",
                          columns=("last_name", "first_name", "birth_date", "phone"))
        result = scan(world, path)
        assert found_targets(result) == EXPECTED, style
        assert {m.corroborated_by for m in result.matches} == {"last_name+first_name+birth_date"}


def test_columns_reordered_and_dropped_rows_shuffled_and_sampled(world, tmp_path, small_population):
    rng = random.Random(3)
    sampled = rng.sample(small_population, 1000)
    rows = mix(sampled, world.leaked_rows(), seed=9)
    rng.shuffle(rows)
    columns = ["phone", "comment", "birth_date", "first_name", "last_name", "postal_code"]  # no email, no NIR
    result = scan(world, write_leak(rows, tmp_path / "leak.tsv", "tsv", columns=columns))
    assert found_targets(result) == EXPECTED
    assert {m.owner.kind for m in result.matches} == {"phone"}


def test_a_phone_number_alone_never_counts(world, tmp_path, small_population):
    """Fiction-range numbers are everybody's: without the canary's name or birth date, not evidence."""
    strangers = [dict(small_population[i], phone=row["phone"]) for i, row in enumerate(world.leaked_rows())]
    result = scan(world, write_leak(mix(small_population[100:400], strangers), tmp_path / "leak.csv"))
    assert result.targets == [] and result.matches == []
    assert sum(result.uncorroborated.values()) == len(strangers)


def test_name_and_birth_date_alone_are_corroboration_not_proof(world, tmp_path, small_population):
    columns = ("last_name", "first_name", "birth_date", "commune")
    result = scan(world, write_leak(mix(small_population[:500], world.leaked_rows()), tmp_path / "names.csv",
                                    columns=columns))
    assert result.targets == []
    assert {c.canary_id for c in result.corroborations} == {c["id"] for c in world.leaked_canaries()}


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-16", "utf-32"])
def test_other_encodings(world, tmp_path, small_population, encoding):
    rows = mix(small_population[:500], world.leaked_rows())
    result = scan(world, write_leak(rows, tmp_path / "leak.csv", encoding=encoding))
    assert found_targets(result) == EXPECTED
    # Without œ or ’ (bytes 0x80-0x9F) cp1252 and Latin-1 are the same bytes: either name is right.
    same = {"cp1252": {"cp1252", "latin-1"}, "latin-1": {"cp1252", "latin-1"}, "utf-16": {"utf-16"}, "utf-32": {"utf-32"}}
    assert result.files[0]["members"][0]["encoding"] in same[encoding]
    accented = next(c for c in result.corroborations if not c.found.isascii())  # names decoded right
    assert "\ufffd" not in accented.found


def test_hostnames_urls_and_tokens_in_free_text(world, tmp_path):
    canary = world.canaries["lims-prod"][0]
    token = world.deployment.store.add_token("tok1", "dns", "tok1.canary.test", "runbook",
                                             [("hostname", "tok1.canary.test")])
    host = canary["identifiers"]["hostname"][0]
    url = canary["identifiers"]["url"][0]
    text = (f'{{"note": "see {url.replace("/", chr(92) + "/")}"}}\n'   # JSON-escaped slashes
            f"ping WWW.{host.upper()} and tok1.canary.test.\n"
            f"not ours: x{host}.evil.example and tok1.canary.testing\n")
    path = tmp_path / "notes.txt"
    path.write_text(text)
    result = scan(world, path)
    found = {(m.owner.kind, m.line) for m in result.matches}
    assert found == {("url", 1), ("hostname", 2)}  # line 3: look-alike names are not ours
    assert {m.owner.token for m in result.matches} == {None, token["token"]}
    assert found_targets(result) == {"lims-prod": (1, 1)}


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl", "sql", "text"])
def test_records_cut_across_small_reads_are_put_back_together(world, tmp_path, small_population, fmt, monkeypatch):
    """Blocks of 4 KB instead of 4 MB: every record and JSON element straddles a read."""
    from canary.scan import file_formats
    monkeypatch.setattr(file_formats, "BLOCK_BYTES", 4096)
    rows = mix(small_population[:400], world.leaked_rows())
    result = scan(world, write_leak(rows, tmp_path / f"leak.{fmt}", fmt, compression="gzip"))
    assert found_targets(result) == EXPECTED


@pytest.mark.parametrize("size", [10, 200])   # within the 64 KB sample, and beyond it
def test_a_minified_json_document_with_several_arrays(world, tmp_path, small_population, size):
    import json
    rows = mix(small_population[:size], world.leaked_rows())
    document = {"exported": "2021-02-01", "labs": [{"name": "x"}], "patients": rows, "count": len(rows)}
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(document, separators=(",", ":")))
    result = scan(world, path)
    assert found_targets(result) == EXPECTED
    assert result.files[0]["members"][0]["unit"] == "record"
    assert {m.line for m in result.matches} <= set(range(3, len(rows) + 3))   # elements 3.. are patients


def test_a_file_with_mac_line_endings_is_read_line_by_line(world, tmp_path, small_population):
    """Excel's "CSV (Macintosh)" ends lines with CR alone: read as one record, a stranger's
    fiction-range number would be "corroborated" by a name and a birth date anywhere in the file."""
    unleaked = [leak_row(c["patient"]) for c in world.canaries["csv-extract"]]
    strangers = [dict(small_population[i], phone=row["phone"]) for i, row in enumerate(unleaked)]
    namesakes = [dict(small_population[100 + i], **{k: row[k] for k in ("last_name", "first_name", "birth_date")})
                 for i, row in enumerate(unleaked)]
    rows = mix(small_population[200:1200], world.leaked_rows() + strangers + namesakes)
    path = write_leak(rows, tmp_path / "mac.csv", "tsv")
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\r"))
    result = scan(world, path)
    assert found_targets(result) == EXPECTED
    leaked_nirs = {c["patient"]["nir"] for c in world.leaked_canaries()}
    assert all(rows[m.line - 2]["nir"] in leaked_nirs for m in result.matches)


def test_an_identifier_repeated_a_million_times_keeps_memory_bounded(world, tmp_path):
    """A mailing list or a phishing log names one address over and over: the first occurrences
    are listed and recorded, the rest counted, so memory does not grow with the repeats."""
    import json
    import subprocess
    import sys
    email = world.canaries["lims-prod"][0]["identifiers"]["email"][0]
    path = tmp_path / "campaign.log"
    path.write_bytes(f"to={email.upper()} status=sent\n".encode() * 1_000_000)
    # The peak from /proc (VmHWM), not ru_maxrss, which keeps the forking pytest's peak across exec.
    code = ("import json, re, sys; from canary.deployment import Deployment; from canary.scan import scan_files;"
            "r = scan_files(Deployment.open(sys.argv[1]), [sys.argv[2]], record=False);"
            "peak = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1));"
            "print(json.dumps([len(r.matches), r.further_occurrences, peak]))")
    import json
    done = subprocess.run([sys.executable, "-c", code, str(world.deployment.settings.home), str(path)],
                          capture_output=True, text=True, check=True)
    listed, further, peak_kb = json.loads(done.stdout)
    assert listed == 100
    assert further == [{"kind": "email", "value": email, "file": str(path), "canary_id": world.canaries["lims-prod"][0]["id"],
                        "token": None, "occurrences": 1_000_000, "listed": 100}]
    assert peak_kb < 250_000, peak_kb   # 340 MB when every occurrence was kept


def test_a_json_document_with_its_records_nested_in_an_object(world, tmp_path, small_population):
    """{"export": {"patients": [...]}} used to be one record: memory nine times the file
    (2.5 GB for 288 MB) and every match at record 2."""
    import json
    from canary.scan import documents
    rows = mix(small_population[:300], world.leaked_rows())
    path = tmp_path / "nested.json"
    path.write_text(json.dumps({"meta": {"lab": "x"}, "export": {"date": "2021-02-01", "patients": rows}}, indent=1))
    result = scan(world, path)
    assert found_targets(result) == EXPECTED
    nirs = {c["patient"]["nir"] for c in world.leaked_canaries()}
    assert all(rows[m.line - 3]["nir"] in nirs for m in result.matches)   # records 1, 2: lab and date
    by_id = {"patients": {f"id{i}": row for i, row in enumerate(rows)}}   # an object of records, keyed by id
    path.write_text(json.dumps(by_id))
    records = [data for _, data in documents.json_records([path.read_bytes()], "utf-8")]
    assert len(records) == len(rows) and b"\t" in records[0]
    assert found_targets(scan(world, path)) == EXPECTED
