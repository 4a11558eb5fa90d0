"""Small files made by an attacker for the scan: each reproduces one attack of issue 11."""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pathlib
import shutil
import struct
import zipfile

CSV = b"a,b\n1,2\n"


def padded(folder: pathlib.Path, kind: str, tail: bytes = b"\x00" * 4) -> pathlib.Path:
    """A gzip, bzip2 or xz stream followed by `tail` (zero padding, or garbage)."""
    compress = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}[kind]
    path = folder / f"padded.csv.{kind}"
    path.write_bytes(compress(CSV) + tail)
    return path


def deep_json(folder: pathlib.Path, depth: int = 100_000) -> pathlib.Path:
    path = folder / "deep.json"
    path.write_bytes(b'[{"a": ' + b"[" * depth + b"]" * depth + b"}]")
    return path


def deep_json_line(folder: pathlib.Path, depth: int = 100_000) -> pathlib.Path:
    """JSON lines whose first line nests deeply (read by the format sniffer and the line reader)."""
    path = folder / "deep.jsonl"
    path.write_bytes(b'{"a": "\\u00e9", "b": ' + b"[" * depth + b"]" * depth + b"}\n")
    return path


def huge_string_json_gz(folder: pathlib.Path, size: int) -> pathlib.Path:
    """A .json.gz holding one string of `size` bytes: tiny on disk, huge decoded."""
    path = folder / "huge.json.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b'[{"name": "')
        block = b"x" * (1 << 20)
        for _ in range(size // len(block)):
            out.write(block)
        out.write(b'"}]')
    return path


def zip_version(folder: pathlib.Path, version: tuple[int, int] = (9, 2)) -> pathlib.Path:
    """A zip whose member says it needs a zip version this reader does not know ("version 9.2")."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", CSV)
    data = bytearray(buffer.getvalue())
    needed = version[0] * 10 + version[1]
    # "version needed to extract" in the local header (offset 4) and the central directory (offset 6).
    struct.pack_into("<H", data, 4, needed)
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<H", data, central + 6, needed)
    path = folder / "version.zip"
    path.write_bytes(bytes(data))
    return path


def zip_empty_name(folder: pathlib.Path) -> pathlib.Path:
    path = folder / "empty-name.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo(""), CSV)
    path.write_bytes(buffer.getvalue())
    return path


def gzip_of_stored_zip(folder: pathlib.Path, size: int) -> pathlib.Path:
    """A gzip of a zip that stores (does not compress) `size` bytes of zeros: the zip must be spooled."""
    stored = folder / "stored.zip"
    with zipfile.ZipFile(stored, "w", compression=zipfile.ZIP_STORED) as archive:
        with archive.open("zeros.csv", "w", force_zip64=True) as member:
            block = b"\x00" * (1 << 20)
            for _ in range(size // len(block)):
                member.write(block)
    path = folder / "stored.zip.gz"
    with open(stored, "rb") as source, gzip.open(path, "wb", compresslevel=9) as out:
        shutil.copyfileobj(source, out, 1 << 20)
    stored.unlink()
    return path


def _xlsx(path: pathlib.Path, sheet_xml: bytes, shared_strings: bytes | None = None) -> pathlib.Path:
    types = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
             b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
             b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
             b'"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
             b'main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxml'
             b'formats-officedocument.spreadsheetml.worksheet+xml"/>'
             + (b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                b'officedocument.spreadsheetml.sharedStrings+xml"/>' if shared_strings is not None else b"")
             + b'</Types>')
    rels = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    workbook = (b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
                b'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                b'relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
    workbook_rels = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.'
                     b'org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.'
                     b'org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                     + (b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                        b'relationships/sharedStrings" Target="sharedStrings.xml"/>' if shared_strings is not None
                        else b"")
                     + b'</Relationships>')
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", rels)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if shared_strings is not None:
            archive.writestr("xl/sharedStrings.xml", shared_strings)
    return path


def xlsx_unknown_compression(folder: pathlib.Path) -> pathlib.Path:
    """A workbook whose [Content_Types].xml says it is compressed with a method zipfile cannot read
    (1, "shrunk"): found by the fuzzer, it raised NotImplementedError through the part-size check."""
    path = _xlsx(folder / "shrunk.xlsx", _SHEET + b"<sheetData/></worksheet>")
    data = bytearray(path.read_bytes())
    # "compression method" in the first local header (offset 8) and its central directory entry (offset 10).
    struct.pack_into("<H", data, 8, 1)
    struct.pack_into("<H", data, data.index(b"PK\x01\x02") + 10, 1)
    path.write_bytes(bytes(data))
    return path


def xlsx_part_named_with_a_newline(folder: pathlib.Path) -> pathlib.Path:
    """A workbook with a part too large to read whole whose name holds a newline and a terminal
    escape: found by the fuzzer, the error naming the part spanned two lines."""
    path = _xlsx(folder / "named.xlsx", _SHEET + b"<sheetData/></worksheet>")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/evil\n\x1b[2Jpart.xml", b" " * (300 << 10))
    return path


_SHEET = b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def xlsx_giant_range(folder: pathlib.Path) -> pathlib.Path:
    """1.5 KB of workbook declaring A1:XFD1048576, with two real cells rows apart: openpyxl fills
    every row it skips with the declared width (16,384 empty cells each, minutes for this file)."""
    sheet = (_SHEET + b'<dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>a'
             b'</t></is></c></row><row r="300000"><c r="A300000" t="inlineStr"><is><t>b</t></is></c></row>'
             b'</sheetData></worksheet>')
    return _xlsx(folder / "range.xlsx", sheet)


def xlsx_shared_strings(folder: pathlib.Path, count: int) -> pathlib.Path:
    """A workbook with `count` shared strings (openpyxl keeps them all in memory)."""
    strings = b"".join(b"<si><t>%d</t></si>" % i for i in range(count))
    shared = (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
              b'2006/main" count="%d" uniqueCount="%d">' % (count, count) + strings + b"</sst>")
    sheet = (_SHEET + b'<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>')
    return _xlsx(folder / "strings.xlsx", sheet, shared)


def digits_line(folder: pathlib.Path, size: int) -> pathlib.Path:
    path = folder / "digits.txt"
    path.write_bytes(b"0123456789" * (size // 10) + b"\n")
    return path
