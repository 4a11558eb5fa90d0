"""Leaked files to practise on: a population of fake patients with canaries hidden inside,
written the way leaks are (any format, transformed, compressed). Tests, the benchmark and
the docs all build their files here, so they share one source of sample data.
"""
from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
import pathlib
import random
import zipfile
from typing import Iterable, Iterator

from ..generation.nir import nir_key
from ..generation.patients import generate_patients
from ..generation.phones import FICTION_RANGES, format_national
from .matcher import fold

COLUMNS = ("last_name", "first_name", "birth_date", "sex", "nir", "phone", "email", "address", "postal_code",
           "commune", "blood_group", "physician", "insurer", "comment")
FORMATS = ("csv", "tsv", "json", "jsonl", "sql", "copy", "xlsx", "text")
COMPRESSIONS = ("gzip", "bzip2", "xz", "zip")
PHONE_STYLES = ("spaced", "bare", "international", "double-zero", "dots", "dashes", "e164")


def leak_row(patient: dict) -> dict:
    """A patient as a lab export flattens it."""
    address, physician = patient["address"], patient["physician"]
    return {"last_name": patient["last_name"], "first_name": patient["first_name"],
            "birth_date": patient["birth_date"], "sex": patient["sex"], "nir": patient["nir"],
            "phone": patient["phone"], "email": patient["email"],
            "address": " ".join(filter(None, (address["line1"], address["line2"]))),
            "postal_code": address["postal_code"], "commune": address["commune"],
            "blood_group": patient["blood_group"] or "",
            "physician": f"Dr {physician['first_name']} {physician['last_name']}",
            "insurer": patient["insurer"] or "", "comment": patient["comment"] or ""}


def population(count: int, seed: int, base: int = 4000) -> Iterator[dict]:
    """`count` leak rows recombined from `base` generated patients: big files, quickly.

    Names, addresses and birth dates are mixed across patients; NIRs get fresh order
    numbers and keys; phone numbers are drawn from the fiction ranges, as canaries' are,
    so canaries' numbers do turn up beside other people's names (as in real data).
    """
    rng = random.Random(seed)
    patients = [leak_row(p) for p in generate_patients(min(base, count), seed)]
    size = len(patients)
    blocks = [block.replace(" ", "") for block in FICTION_RANGES]
    for i in range(count):
        row = dict(patients[i % size])
        other = patients[rng.randrange(size)]
        row["first_name"], row["birth_date"], row["sex"] = other["first_name"], other["birth_date"], other["sex"]
        row["address"], row["postal_code"], row["commune"] = (patients[rng.randrange(size)][k] for k in
                                                              ("address", "postal_code", "commune"))
        # Order numbers 001-899: canaries use 900-999 (canary.generation.patients.NIR_ORDER_RANGE), as
        # real people mostly do not, so strangers never carry a canary's NIR.
        head = row["nir"][:10] + f"{rng.randint(1, 899):03d}"
        row["nir"] = f"{head}{nir_key(head):02d}"
        row["phone"] = "+33" + rng.choice(blocks)[1:] + f"{rng.randrange(10000):04d}"
        row["email"] = f"{_slug(row['first_name'])}.{_slug(row['last_name'])}{i}@example.com"
        yield row


def write_strangers_csv(path: str | pathlib.Path, count: int, seed: int, *, carrying: list[dict] = (),
                        every: int = 200, base: int = 500) -> dict:
    """A CSV of `count` strangers (COLUMNS, quoted like write_leak's csv), written fast: 491,840 rows in
    seconds, where population() + write_leak take most of a minute.

    Same recipe as population(): names, birth dates and addresses recombined from `base`
    generated patients, fresh NIR order numbers, fiction-range phones. Then every `every`-th
    stranger carries a NIR and a phone number of one of `carrying` (canaries' patients, in
    turn), written in the styles leaks use: another person holding the same values, as a
    real population can. A stranger is another person: one bearing the canary's last name
    is skipped for the next row. Returns {"rows": count, "carriers": how many carry one}.
    """
    rng = random.Random(seed)
    patients = [leak_row(p) for p in generate_patients(min(base, count), seed)]
    size = len(patients)
    quote = _csv_cell
    lasts = [quote(p["last_name"]) for p in patients]
    last_folded = [fold(p["last_name"]) for p in patients]
    people = [(quote(p["first_name"]), quote(p["birth_date"]), quote(p["sex"]), _slug(p["first_name"]))
              for p in patients]
    slugs = [_slug(p["last_name"]) for p in patients]
    heads = [p["nir"][:10] for p in patients]
    # The key is 97 - (head * 1000 + order) mod 97: the head's share computed once per patient.
    head_mods = [(97 - nir_key(head + "000")) % 97 for head in heads]
    places = [",".join(quote(p[k]) for k in ("address", "postal_code", "commune")) for p in patients]
    tails = [",".join(quote(p[k]) for k in ("blood_group", "physician", "insurer", "comment")) for p in patients]
    blocks = [block.replace(" ", "")[1:] for block in FICTION_RANGES]
    carried = [(c["nir"], c["phone"], {fold(c["last_name"]), fold(c.get("birth_name") or c["last_name"])})
               for c in carrying]
    nir_styles, phone_styles = ("as-stored", "spaced", "no-key"), PHONE_STYLES
    carriers, due = 0, every
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(quote(c) for c in COLUMNS) + "\r\n")
        lines = []
        for i in range(count):
            x = rng.getrandbits(64)
            n = i % size
            first, born, sex, first_slug = people[x % size]
            order = (x >> 16) % 899 + 1
            nir = f"{heads[n]}{order:03d}{97 - (head_mods[n] + order) % 97:02d}"
            phone = "+33" + blocks[(x >> 28) % len(blocks)] + f"{(x >> 36) % 10000:04d}"
            due -= 1
            if carried and due <= 0:
                canary_nir, canary_phone, names = carried[carriers % len(carried)]
                if last_folded[n] not in names:
                    nir = write_nir(canary_nir, nir_styles[carriers % 3])
                    phone = write_phone(canary_phone, phone_styles[carriers % len(phone_styles)])
                    carriers += 1
                    due = every
            lines.append(f"{lasts[n]},{first},{born},{sex},\"{nir}\",\"{phone}\","
                         f"\"{first_slug}.{slugs[n]}{i}@example.com\",{places[(x >> 50) % size]},{tails[n]}\r\n")
            if len(lines) == 20000:
                out.write("".join(lines))
                lines = []
        out.write("".join(lines))
    return {"rows": count, "carriers": carriers}


def _csv_cell(value) -> str:
    return '"' + str(value).replace('"', '""') + '"'


def _slug(text: str) -> str:
    return "".join(c for c in fold(text) if c.isalnum())


# -- transformations a leak goes through -----------------------------------------------------
def write_phone(e164: str, style: str) -> str:
    pairs = format_national(e164)
    national = pairs.replace(" ", "")
    return {"spaced": pairs, "bare": national, "international": "+33 " + pairs[1:],
            "double-zero": "0033" + national[1:], "dots": pairs.replace(" ", "."),
            "dashes": pairs.replace(" ", "-"), "e164": e164}[style]


def write_nir(nir: str, style: str) -> str:
    if style == "spaced":
        return f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"
    if style == "no-key":
        return nir[:13]
    return nir


def shout(row: dict) -> dict:
    """Upper case without accents, as old mainframe exports write everything."""
    return {key: fold(str(value)).upper() for key, value in row.items()}


# -- writers ---------------------------------------------------------------------------------
def write_leak(rows: Iterable[dict], path: str | pathlib.Path, fmt: str = "csv",
               columns: Iterable[str] = COLUMNS, compression: str | None = None,
               encoding: str = "utf-8") -> pathlib.Path:
    """Write rows as a leak: format, columns (order and subset), compression, encoding."""
    path = pathlib.Path(path)
    columns = list(columns)
    rows = ({c: row.get(c, "") for c in columns} for row in rows)
    if fmt == "xlsx":
        data = _xlsx_bytes(rows, columns)
    else:
        text = io.StringIO()
        _WRITERS[fmt](rows, columns, text)
        data = text.getvalue().encode(encoding, errors="replace")
    path.write_bytes(_compress(data, compression, f"{path.stem}.{fmt}"))
    return path


def _csv(rows, columns, out, delimiter=","):
    writer = csv.DictWriter(out, fieldnames=columns, delimiter=delimiter, quoting=csv.QUOTE_ALL
                            if delimiter == "," else csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)


def _jsonl(rows, columns, out):
    for row in rows:
        out.write(json.dumps(row) + "\n")  # ensure_ascii: accents arrive as \u00e9


def _json(rows, columns, out):
    out.write('{"export": "patients", "rows": [\n')
    for index, row in enumerate(rows):
        out.write(("," if index else "") + json.dumps(row, ensure_ascii=False, indent=1) + "\n")
    out.write("]}\n")


def _sql_value(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _sql(rows, columns, out, per_insert=250):
    out.write("-- dump of lims\nCREATE TABLE patients (" + ", ".join(f"{c} text" for c in columns) + ");\n")
    batch = []
    for row in rows:
        batch.append("(" + ",".join(_sql_value(row[c]) for c in columns) + ")")
        if len(batch) == per_insert:
            out.write(f"INSERT INTO patients ({', '.join(columns)}) VALUES " + ",".join(batch) + ";\n")
            batch = []
    if batch:
        out.write(f"INSERT INTO patients ({', '.join(columns)}) VALUES " + ",".join(batch) + ";\n")


def _copy(rows, columns, out):
    out.write("SET client_encoding = 'UTF8';\n")
    out.write(f"COPY public.patients ({', '.join(columns)}) FROM stdin;\n")
    for row in rows:
        out.write("\t".join(str(row[c]).replace("\\", "\\\\").replace("\t", "\\t") or "\\N" for c in columns) + "\n")
    out.write("\\.\n")


def _text(rows, columns, out):
    for row in rows:
        out.write(" ".join(f"{column}: {row[column]}" for column in columns) + "\n")


_WRITERS = {"csv": _csv, "tsv": lambda r, c, o: _csv(r, c, o, "\t"), "json": _json, "jsonl": _jsonl,
            "sql": _sql, "copy": _copy, "text": _text}


def _xlsx_bytes(rows, columns) -> bytes:
    import openpyxl
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("patients")
    sheet.append(columns)
    for row in rows:
        sheet.append([row[c] for c in columns])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _compress(data: bytes, compression: str | None, member: str) -> bytes:
    if compression is None:
        return data
    if compression == "gzip":
        return gzip.compress(data, compresslevel=1)
    if compression == "bzip2":
        return bz2.compress(data, compresslevel=1)
    if compression == "xz":
        return lzma.compress(data, preset=0)
    if compression == "zip":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(member, data)
        return out.getvalue()
    raise ValueError(f"unknown compression {compression!r}")
