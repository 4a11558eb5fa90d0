"""Seed inputs for fuzz_scan.py: one small file of every format and compression the scan reads,
and the attacks of issue 11 at small sizes. Usage: python tests/fuzz/make_corpus.py DIR"""
import bz2
import gzip
import io
import lzma
import pathlib
import sys
import zipfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import hostile_files  # noqa: E402

CSV = b"nom;prenom;email;tel\nDupont;Jean;jean@abc123.canary.test;0639981234\nMartin;Anne;a@example.org;\n"
SAMPLES = {
    "plain.csv": CSV,
    "records.json": b'[{"nom": "Dupont", "email": "jean@abc123.canary.test"}, {"nom": "Martin", "tel": 639981234}]',
    "records.jsonl": b'{"nom": "Dupont", "email": "jean\\u0040abc123.canary.test"}\n{"nom": "Martin"}\n',
    "dump.sql": b"INSERT INTO p VALUES (1,'Dupont','jean@abc123.canary.test'),(2,'O''Neil','x');\n",
    "utf16.txt": "nom\tcourriel\nDupont\tjean@abc123.canary.test\n".encode("utf-16"),
    "mac.csv": CSV.replace(b"\n", b"\r"),
}


def write(folder: pathlib.Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in SAMPLES.items():
        (folder / name).write_bytes(data)
    (folder / "plain.csv.gz").write_bytes(gzip.compress(CSV))
    (folder / "plain.csv.bz2").write_bytes(bz2.compress(CSV))
    (folder / "plain.csv.xz").write_bytes(lzma.compress(CSV))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.csv", CSV)
        archive.writestr("b.json", SAMPLES["records.json"])
    (folder / "two.zip").write_bytes(buffer.getvalue())
    (folder / "two.zip.gz").write_bytes(gzip.compress(buffer.getvalue()))
    for kind in ("gz", "bz2", "xz"):
        hostile_files.padded(folder, kind)
    hostile_files.deep_json(folder, depth=2000)
    hostile_files.zip_version(folder)
    hostile_files.zip_empty_name(folder)
    hostile_files.xlsx_giant_range(folder)
    hostile_files.xlsx_shared_strings(folder, 50)


if __name__ == "__main__":
    write(pathlib.Path(sys.argv[1]))
