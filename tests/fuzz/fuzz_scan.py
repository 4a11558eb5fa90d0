"""Fuzz target (atheris): the scan of one file, as `canary scan` reads it (gzip/bzip2/xz/zip
peeling, encoding and format detection, CSV/JSON/SQL/xlsx records, matching) on arbitrary bytes.

A ScanInputError (one clear line) is the only allowed failure; anything else is a finding.
Limits are small so that each input stays cheap. Run by `make fuzz` and tests/test_fuzz.py:
    python tests/fuzz/fuzz_scan.py CORPUS_DIR -runs=5000
"""
import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    from canary.scan import scan as scanning
    from canary.scan.errors import ScanInputError
    from canary.scan.limits import ScanLimits
    from canary.scan.matcher import IdentifierIndex
    from canary.scan.runner import scan_paths

LIMITS = ScanLimits(max_seconds=5, max_temp_bytes=8 << 20, max_record_bytes=1 << 20, max_xlsx_part_bytes=1 << 20)
INDEX = IdentifierIndex([{"identifier_id": 1, "token_id": 1, "kind": "email", "value": "jean@abc123.canary.test", "canary_id": None,
                          "token": "abc123", "site": None, "target": None}])
FOLDER = tempfile.mkdtemp(prefix="canary-fuzz-")
PATH = os.path.join(FOLDER, "leak")


def test_one_input(data: bytes) -> None:
    if data.startswith(b"PGDMP"):
        # pg_dump custom-format files are read by a pg_restore child process: forking under
        # libFuzzer hangs or "exits" the target, and pg_restore is not ours to fuzz in-process.
        return
    with open(PATH, "wb") as handle:
        handle.write(data)
    try:
        _, _, errors = scan_paths(INDEX, [PATH], scanning._Found(), allow_truncated=True, limits=LIMITS)
    except ScanInputError as error:
        errors = [str(error)]
    for error in errors:
        assert "\n" not in error, error


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
