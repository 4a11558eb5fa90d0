"""Reading a decompressed member: detect encoding and format, yield blocks of records.

A block is (label, numbers, data): `data` holds records separated by b"\\n" (none contains
one) and `numbers[i]` is where record i sits in the file (line, record or row). Text
formats are matched as raw bytes: every identifier is ASCII, so UTF-8, cp1252 and
Latin-1 need no decoding on the hot path and any CSV delimiter or quoting just works.
Formats that escape or encode their values (JSON, SQL, .xlsx, UTF-16) are turned into
plain records first. Memory stays bounded: blocks are a few MB whatever the file size.
"""
from __future__ import annotations

import codecs
import csv
import dataclasses
import json
import lzma
import os
import re
import zipfile
import zlib
from typing import Iterable, Iterator

from .documents import flatten_values, json_records, record_bytes, xlsx_records
from .errors import ScanInputError, TruncatedInput
from .layers import Layer
from .limits import ScanBudget, ScanLimits

SAMPLE_BYTES = 1 << 16
BLOCK_BYTES = 4 << 20
_WINDOW_BYTES = 1 << 16   # read back from a plain file's chunk end to find its last line end
_SEPARATORS = (b"\t", b";", b",", b"|", b" ", b")")
_SQL = re.compile(r"^\s*(INSERT\s+INTO\s|COPY\s+\S+.*\sFROM\s+stdin)", re.IGNORECASE | re.MULTILINE)
_INSERT_TUPLE = re.compile(rb"\((?:'(?:[^'\\]|\\.|'')*'|[^()'])*\)", re.DOTALL)
READ_ERRORS = (EOFError, OSError, lzma.LZMAError, zlib.error, zipfile.BadZipFile)



@dataclasses.dataclass(frozen=True)
class Span:
    """A block of a plain file given by where it lies in the file, not by its bytes: whoever scans it
    reads it (os.pread), so the reader neither copies nor counts it. Its lines are numbered when the
    results are merged, in file order, from the count of records of each block before it."""
    start: int
    length: int
    continues: bool = False   # its first line is the rest of the previous block's last (an endless line cut)


# (label, numbers, data): numbers[i] is where record i of data sits; None with a Span (numbered when merged).
Block = tuple[str, "range | list[int] | None", "bytes | Span"]


@dataclasses.dataclass
class Member:
    """What was read: name, layers, detected encoding and format, record counts."""
    name: str
    compression: list[str]
    encoding: str = ""
    format: str = ""
    unit: str = "line"
    records: int = 0
    bytes: int = 0

    def describe(self) -> str:
        layers = " in ".join(reversed(self.compression)) if self.compression else "uncompressed"
        return f"{self.format}, {self.encoding or 'binary'}, {layers}"


def read_member(layer: Layer) -> tuple[Member, Iterator[Block]]:
    """Detect what `layer` holds and return its description and its blocks."""
    member = Member(layer.name, layer.compression)
    budget = layer.budget = layer.budget or ScanLimits().budget(layer.name)
    if layer.zip_file is not None:
        member.format, member.encoding, member.unit = "xlsx", "utf-8", "row"
        return member, _counted(member, _batch(xlsx_records(layer)), budget)
    origin = None if layer.compression else layer.stream.tell()   # where the chunks start in the file
    chunks = _chunks(layer)
    sample = next(chunks, b"")
    if not sample:
        raise ScanInputError(f"{layer.name}: empty file (0 bytes of data)")
    try:
        member.encoding = detect_encoding(sample[:SAMPLE_BYTES])
    except ValueError as error:
        raise ScanInputError(f"{layer.name}: {error}: not UTF-8/16/32, cp1252 or Latin-1 text, JSON, SQL, .xlsx "
                             "or a gzip/bzip2/xz/zip archive (encrypted? EBCDIC?)") from None
    stream: Iterable[bytes] = _prepend(sample, chunks)
    codec = {"cp1252": "cp1252", "latin-1": "cp1252", "ascii": "utf-8"}.get(member.encoding, member.encoding)
    text = sample[:SAMPLE_BYTES].decode(codec, "replace")
    if member.encoding.startswith(("utf-16", "utf-32")):
        stream, codec = _transcode(stream, member.encoding), "utf-8"
    member.format = detect_format(text)
    if member.format == "json":
        member.unit = "record"
        records = json_records(stream, codec, budget)
        return member, _counted(member, _batch(((layer.name, number, data) for number, data in records)), budget)
    if "\r" in text and "\n" not in text:
        # Classic Mac line ends (Excel's "CSV (Macintosh)"): without this the whole file would be one record.
        stream = (chunk.replace(b"\r", b"\n") for chunk in stream)
    # Lines as the file holds them: the blocks are spans of the file, read by whoever scans them.
    verbatim = origin is not None and member.format not in ("jsonl", "sql") and not member.encoding.startswith(
        ("utf-16", "utf-32")) and not ("\r" in text and "\n" not in text)
    if verbatim:   # the rest of the file is not read here: only where its chunks' last line ends are
        stream = _prepend(sample, _file_chunks(layer.name, layer.stream, origin + len(sample)))
    blocks = _line_blocks(layer.name, stream, budget.limits.max_record_bytes, origin if verbatim else None)
    if member.format == "jsonl":
        blocks = _unescape_json_lines(blocks)
    elif member.format == "sql":
        blocks = _split_sql_inserts(blocks)
    return member, _counted(member, blocks, budget)


def detect_encoding(sample: bytes) -> str:
    """utf-8 / ascii / cp1252 / latin-1 / utf-16 from the first bytes; binary data is an error."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    even, odd = sample[0::2], sample[1::2]
    if len(sample) >= 4 and odd.count(0) > 0.4 * len(odd) and not even.count(0):
        return "utf-16-le"
    if len(sample) >= 4 and even.count(0) > 0.4 * len(even) and not odd.count(0):
        return "utf-16-be"
    controls = sum(sample.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
    if b"\x00" in sample or controls > len(sample) // 20:
        raise ValueError("binary data")
    if sample.isascii():
        return "ascii"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        if error.start >= len(sample) - 3:   # a character cut by the sample's end
            return "utf-8"
    if sum(byte >= 0x80 for byte in sample) > len(sample) * 0.3:
        # Latin-1 French has an accent every few words, not every third byte: EBCDIC, encrypted...
        raise ValueError("not text in a known encoding")
    if any(0x80 <= byte <= 0x9F for byte in sample):
        return "cp1252"
    return "latin-1"


def detect_format(text: str) -> str:
    """json, jsonl, sql, csv (delimiter x), tsv or text, from a decoded sample."""
    text = text.lstrip("\ufeff \t\r\n")
    if not text:
        return "text"
    if text[0] in "[{":
        try:
            first = json.loads(text.split("\n", 1)[0])
        except (ValueError, RecursionError):   # RecursionError: nested deeper than Python can decode
            return "json"
        # A whole (small, minified) document on one line is a document, not one record.
        return "json" if _holds_records(first) else "jsonl"
    if _SQL.search(text):
        return "sql"
    lines = text.splitlines()[:20]
    if len(lines) > 1:
        try:
            dialect = csv.Sniffer().sniff("\n".join(lines[:-1] or lines), delimiters=",;\t|")
        except csv.Error:
            return "text"
        return "tsv" if dialect.delimiter == "\t" else f"csv (delimiter {dialect.delimiter!r})"
    return "text"


def _holds_records(value) -> bool:
    """A list, or an object with a list of objects or lists inside: a document of records."""
    if isinstance(value, list):
        return True
    return isinstance(value, dict) and any(
        isinstance(item, list) and any(isinstance(x, (dict, list)) for x in item) for item in value.values())


def decode_record(data: bytes) -> str:
    """One record as text: UTF-8 when it is, else cp1252 (a superset of Latin-1's letters)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


# -- raw input -------------------------------------------------------------------------------
def _chunks(layer: Layer) -> Iterator[bytes]:
    """The layer's bytes in blocks; a truncated or damaged archive becomes a ScanInputError."""
    read = 0
    while True:
        try:
            chunk = layer.stream.read(BLOCK_BYTES)
        except READ_ERRORS as error:
            what = "/".join(layer.compression) or "file"
            raise TruncatedInput(f"{layer.name}: truncated or damaged {what} data after {read:,} bytes "
                                 f"({error})") from None
        if not chunk:
            return
        read += len(chunk)
        yield chunk


class _FileChunk:
    """A chunk of a plain file, read only as far as _line_blocks asks when its blocks are spans: from its
    end back to its last line end, and what follows it (the start of the next block). Only a chunk
    without a line end (a line longer than a chunk) is read whole."""

    def __init__(self, name: str, descriptor: int, start: int, length: int):
        self.name, self.descriptor, self.start, self.length = name, descriptor, start, length

    def __len__(self) -> int:
        return self.length

    def rfind(self, line_end: bytes) -> int:
        end = self.length
        while end > 0:
            begin = max(0, end - _WINDOW_BYTES)
            at = self._read(begin, end).rfind(line_end)
            if at >= 0:
                return begin + at
            end = begin
        return -1

    def __getitem__(self, part: slice) -> bytes:
        begin, end, _ = part.indices(self.length)
        return self._read(begin, end)

    def __bytes__(self) -> bytes:
        return self._read(0, self.length)

    def _read(self, begin: int, end: int) -> bytes:
        data = os.pread(self.descriptor, end - begin, self.start + begin)
        if len(data) != end - begin:
            raise ScanInputError(f"{self.name}: the file changed while it was scanned")
        return data


def _file_chunks(name: str, stream, start: int) -> Iterator[_FileChunk]:
    """The file from `start` in chunks of BLOCK_BYTES, as _chunks cuts it, without reading them; the stream's
    position follows (it is the scan's progress)."""
    size = os.fstat(stream.fileno()).st_size
    while start < size:
        length = min(BLOCK_BYTES, size - start)
        stream.seek(start + length)
        yield _FileChunk(name, stream.fileno(), start, length)
        start += length


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _transcode(chunks: Iterable[bytes], encoding: str) -> Iterator[bytes]:
    for text in codecs.iterdecode(chunks, encoding, errors="replace"):
        yield text.lstrip("\ufeff").encode("utf-8")


def _counted(member: Member, blocks: Iterator[Block], budget: ScanBudget) -> Iterator[Block]:
    """Blocks counted into `member` (a Span's records when merged); the file's time limit is checked
    between blocks."""
    for block in blocks:
        budget.check_time()
        data = block[2]
        if isinstance(data, Span):
            member.bytes += data.length
        else:
            member.records += len(block[1])
            member.bytes += len(data)
        yield block


def _line_blocks(label: str, chunks: Iterable[bytes], max_record_bytes: int,
                 origin: int | None = None) -> Iterator[Block]:
    """Lines in blocks of a few MB, numbered from 1; an endless line is cut at a separator.

    With `origin` (where the chunks start in the file), each block is a Span of the file: the
    same cuts, but neither joined nor counted here."""
    carry, number = b"", 1
    position, continues = origin, False   # where carry starts in the file; whether it is a cut line's rest
    for chunk in chunks:
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            if origin is None:
                # The usual case: one copy of the chunk (the block), with the carried start of its first line.
                block = b"".join((carry, memoryview(chunk)[:cut]))
                count = block.count(b"\n") + 1
                yield label, range(number, number + count), block
                number += count
            else:
                yield label, None, Span(position, len(carry) + cut, continues)
                position += len(carry) + cut + 1   # the line end between two blocks is in neither
            carry, continues = chunk[cut + 1:], False
            continue
        data = carry + bytes(chunk) if carry else bytes(chunk)   # bytes(): a _FileChunk read whole
        if len(data) <= max_record_bytes:
            carry = data
            continue
        cut = max(data.rfind(sep, 0, len(data) - 256) for sep in _SEPARATORS)
        cut = cut if cut > 0 else len(data) - 256
        if origin is None:
            yield label, [number], data[:cut]
        else:
            yield label, None, Span(position, cut, continues)
            position += cut
        carry, continues = data[cut:], True
    if carry:
        yield (label, range(number, number + 1), carry) if origin is None else (
            label, None, Span(position, len(carry), continues))


def _batch(records: Iterator[tuple[str, int, bytes]]) -> Iterator[Block]:
    """Records (label, number, data) in blocks of a few MB, a new block when the label changes."""
    label, numbers, parts, size = None, [], [], 0
    try:
        for record_label, number, data in records:
            if parts and (size >= BLOCK_BYTES or record_label != label):
                yield label, numbers, b"\n".join(parts)
                numbers, parts, size = [], [], 0
            label = record_label
            numbers.append(number)
            parts.append(data)
            size += len(data) + 1   # + 1: a flood of empty records fills blocks too
    except TruncatedInput:
        if parts:   # the records before the cut are scanned (--allow-truncated) before it is reported
            yield label, numbers, b"\n".join(parts)
        raise
    if parts:
        yield label, numbers, b"\n".join(parts)


# -- formats that need decoding -------------------------------------------------------------------
def _unescape_json_lines(blocks: Iterator[Block]) -> Iterator[Block]:
    """JSON lines: raw bytes unless a line escapes something (\\u00e9, \\/), then its decoded values."""
    for label, numbers, data in blocks:
        if b"\\" in data:
            lines = data.split(b"\n")
            for index, line in enumerate(lines):
                if b"\\" in line:
                    try:
                        lines[index] = record_bytes(flatten_values(json.loads(line)))
                    except (ValueError, RecursionError):
                        pass  # not JSON after all (or nested too deeply to decode): keep the raw line
            data = b"\n".join(lines)
        yield label, numbers, data


def _split_sql_inserts(blocks: Iterator[Block]) -> Iterator[Block]:
    """SQL dumps: each tuple of a multi-row INSERT is its own record, numbered by its line."""
    for label, numbers, data in blocks:
        if b"insert" not in data.lower():
            yield label, numbers, data
            continue
        out_numbers, out = [], []
        for number, line in zip(numbers, data.split(b"\n")):
            head = line.lstrip()[:6].lower()
            tuples = _INSERT_TUPLE.findall(line) if head == b"insert" else []
            if len(tuples) > 1:
                for values in tuples[1:] if line.lower().split(b"values")[0].count(b"(") else tuples:
                    out_numbers.append(number)
                    out.append(values.replace(b"\\'", b"'").replace(b"''", b"'").replace(b"\n", b" "))
            else:
                out_numbers.append(number)
                out.append(line.replace(b"''", b"'"))
        yield label, out_numbers, b"\n".join(out)


