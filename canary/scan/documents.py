"""Documents that must be parsed before they can be matched: JSON documents, streamed one
element at a time, and .xlsx workbooks, streamed one row at a time. Each record comes out
as its values joined by tabs (UTF-8, no newline), numbered by element or row.
"""
from __future__ import annotations

import codecs
import datetime as dt
import json
import zipfile
from xml.etree import ElementTree
from typing import Iterable, Iterator

from .errors import ScanInputError, TruncatedInput, shown_name
from .layers import Layer
from .limits import ScanBudget, ScanLimits

_XLSX_ROWS_PER_CHECK = 4096   # rows between two looks at the clock
_CONTENT_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"


def flatten_values(value) -> list[str]:
    """Scalar values of a JSON document, depth first: what a record says, without its keys."""
    if isinstance(value, dict):
        return [text for item in value.values() for text in flatten_values(item)]
    if isinstance(value, list):
        return [text for item in value for text in flatten_values(item)]
    return [] if value is None else [str(value)]


def record_bytes(values: list[str]) -> bytes:
    return "\t".join(values).replace("\n", " ").replace("\r", " ").encode("utf-8")


def json_records(chunks: Iterable[bytes], encoding: str,
                 budget: ScanBudget | None = None) -> Iterator[tuple[int, bytes]]:
    """Stream a JSON document: the elements of its top-level array, or of the arrays its
    top-level object (or an object inside it) holds, one record each, without loading the
    whole document. One element may be at most scan.max_record_bytes long."""
    decoder = json.JSONDecoder()
    text_chunks = codecs.iterdecode(chunks, encoding, errors="replace")
    buffer = _JsonBuffer(text_chunks, budget or ScanLimits().budget("JSON document"))
    index = 0
    opener = buffer.skip_space()
    if opener not in "[{":
        yield from ()
        return
    containers = [opener]
    buffer.pos += 1
    while containers:
        char = buffer.skip_space()
        if char == "":
            raise TruncatedInput(f"truncated JSON document: it ends after {index:,} records, inside its "
                                 f"{'array' if containers[-1] == '[' else 'object'}")
        if char == ",":
            buffer.pos += 1
            continue
        if char in "]}":
            containers.pop()
            buffer.pos += 1
            continue
        if containers[-1] == "{":
            buffer.decode(decoder)          # a key
            buffer.skip_space()
            buffer.pos += 1                 # its ':'
            value = buffer.skip_space()
            # Arrays of records may sit at any depth ({"export": {"patients": [...]}}), so the
            # top-level object's objects are walked into; deeper, an object is one record
            # ({"patients": {"id1": {...}}}). A whole document decoded as one record would
            # take memory in proportion to the file.
            if value == "[" or (value == "{" and len(containers) == 1):
                containers.append(value)
                buffer.pos += 1
                continue
        index += 1
        try:
            values = flatten_values(buffer.decode(decoder))
        except RecursionError:
            raise ScanInputError(f"{buffer.budget.name}: JSON record {index:,} is nested too deeply to read "
                                 f"(hundreds of levels; a real record nests a few)") from None
        yield index, record_bytes(values)


class _JsonBuffer:
    """A sliding window over decoded text: enough to decode the next value, no more."""

    def __init__(self, chunks: Iterator[str], budget: ScanBudget):
        self.chunks, self.text, self.pos = iter(chunks), "", 0
        self.budget = budget

    def _more(self) -> bool:
        chunk = next(self.chunks, None)
        if chunk is None:
            return False
        if len(self.text) - self.pos > self.budget.limits.max_record_bytes:
            # One value this long (a 500 MB string in a 500 KB .json.gz) would be held whole in memory.
            raise self.budget.exceeded("max_record_bytes", "a JSON value is too long to hold in memory")
        self.text = self.text[self.pos:] + chunk
        self.pos = 0
        return True

    def skip_space(self) -> str:
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n\ufeff":
                self.pos += 1
            if self.pos < len(self.text) or not self._more():
                return self.text[self.pos:self.pos + 1]

    def decode(self, decoder: json.JSONDecoder):
        while True:
            try:
                value, end = decoder.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as error:
                if self._more():
                    continue
                if error.msg.startswith("Unterminated string") or error.pos >= len(self.text.rstrip()):
                    raise TruncatedInput(f"truncated JSON document: it ends inside a value ({error.msg})") from None
                raise
            if end == len(self.text) and self._more():
                continue  # a number may go on in the next chunk
            self.pos = end
            return value


def xlsx_records(layer: Layer) -> Iterator[tuple[str, int, bytes]]:
    """(sheet label, row number, record) for every row of every sheet."""
    import openpyxl
    budget = layer.budget or ScanLimits().budget(layer.name)
    _check_xlsx_parts(layer, budget)
    try:
        workbook = openpyxl.load_workbook(layer.stream, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds on a damaged workbook
        raise ScanInputError(f"{layer.name}: damaged .xlsx workbook ({error})") from None
    try:
        for sheet in workbook.worksheets:
            label = f"{layer.name}[{sheet.title}]"
            # The declared dimension is the leaker's ("A1:XFD1048576"): rows are read as they are
            # in the file, never padded out to what it claims.
            sheet.reset_dimensions()
            for number, row in enumerate(sheet.iter_rows(values_only=True), 1):
                if number % _XLSX_ROWS_PER_CHECK == 0:
                    budget.check_time()
                yield label, number, record_bytes([_cell_text(v) for v in row if v is not None])
    finally:
        workbook.close()


def _check_xlsx_parts(layer: Layer, budget: ScanBudget) -> None:
    """openpyxl loads every part but the worksheets whole (5 million shared strings: 883 MB): bound them.

    Worksheets (streamed row by row) are the parts [Content_Types].xml declares as such, wherever they sit.
    """
    archive, limit = layer.zip_file, budget.limits.max_xlsx_part_bytes
    worksheets: set[str] = set()
    try:
        types = archive.getinfo("[Content_Types].xml")
        if types.file_size <= limit:
            for override in ElementTree.fromstring(archive.read(types)).iter(_CONTENT_TYPES + "Override"):
                if override.get("ContentType", "").endswith(".worksheet+xml"):
                    worksheets.add(override.get("PartName", "").lstrip("/"))
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, OSError, ValueError, NotImplementedError,
            RuntimeError):   # an unknown compression method, an encrypted part
        pass  # openpyxl will say what is wrong with the workbook
    for info in archive.infolist():
        if info.filename in worksheets or info.file_size <= limit:
            continue
        raise budget.exceeded("max_xlsx_part_bytes", f"its part {shown_name(info.filename)} is {info.file_size:,} bytes once "
                              "decompressed, too large to read whole")


def _cell_text(value) -> str:
    """A cell as a person would have typed it: 1985-03-12 for a date, 639981234 for a number."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
