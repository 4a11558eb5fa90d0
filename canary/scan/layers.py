"""Opening a leaked file: hash it, peel compression (gzip, bzip2, xz, zip) by magic bytes.

A leak is rarely named honestly, so the bytes decide: `patients.txt` may be a gzip of a
zip of a CSV. Each readable member comes out as one `Layer` with a binary stream.
"""
from __future__ import annotations

import bz2
import contextlib
import dataclasses
import hashlib
import io
import lzma
import shutil
import sys
import tempfile
import zipfile
import zlib
from typing import BinaryIO, Iterator

MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty archive
)
_DECOMPRESSORS = {"gzip": lambda: zlib.decompressobj(wbits=47), "bzip2": bz2.BZ2Decompressor,
                  "xz": lzma.LZMADecompressor}
_MAX_OUTPUT = 1 << 20  # bytes of decompressed output per step
_MAX_DEPTH = 3  # a .csv.gz inside a .zip inside a .gz, and no zip bombs of zips


class ScanInputError(ValueError):
    """A file the scan cannot read: says which file and why, in one line."""


class TruncatedInput(ScanInputError):
    """Data that ends early: what came before the cut can still be scanned (--allow-truncated)."""


@dataclasses.dataclass
class Layer:
    name: str             # what a match says in `file`: path, or archive.zip!member.csv
    stream: BinaryIO      # decompressed bytes
    compression: list[str]
    zip_file: zipfile.ZipFile | None = None   # set when the layer is an .xlsx workbook


def sniff_compression(head: bytes) -> str | None:
    return next((kind for magic, kind in MAGIC if head.startswith(magic)), None)


def file_digest(stream: BinaryIO) -> tuple[str, int]:
    """sha256 and size of a seekable stream, read in blocks; leaves it at the start."""
    digest, size = hashlib.sha256(), 0
    stream.seek(0)
    while block := stream.read(1 << 20):
        digest.update(block)
        size += len(block)
    stream.seek(0)
    return digest.hexdigest(), size


@contextlib.contextmanager
def open_leak(path: str):
    """The file as a seekable binary stream; `-` spools stdin to a temporary file first."""
    if path == "-":
        with tempfile.TemporaryFile() as spool:
            shutil.copyfileobj(sys.stdin.buffer, spool, 1 << 20)
            spool.seek(0)
            yield spool
        return
    try:
        handle = open(path, "rb")
    except IsADirectoryError:
        raise ScanInputError(f"{path}: is a directory; give the files inside it") from None
    except OSError as error:
        raise ScanInputError(f"{path}: cannot open ({error.strerror or error})") from None
    with handle:
        yield handle


def peel(name: str, stream: BinaryIO, compression: list[str] | None = None, depth: int = 0) -> Iterator[Layer]:
    """Every readable member of `stream`, decompressed, with its name and the layers peeled."""
    compression = list(compression or [])
    head = _peek(stream, 8)
    kind = sniff_compression(head)
    if kind is None or depth >= _MAX_DEPTH:
        yield Layer(name, stream, compression)
        return
    if kind == "zip":
        yield from _peel_zip(name, stream, compression, depth)
        return
    yield from peel(name, Decompressed(stream, kind), compression + [kind], depth + 1)


class Decompressed:
    """A decompressing reader that hands over every byte it could decompress before it
    reports a truncated stream (the stdlib's GzipFile drops the last block on EOFError).
    Output is produced at most 1 MB at a time, so a decompression bomb cannot fill memory;
    concatenated members (`cat a.gz b.gz`) are read one after the other."""

    def __init__(self, raw: BinaryIO, kind: str):
        self.raw, self.kind = raw, kind
        self.decompressor = _DECOMPRESSORS[kind]()
        self.pending = bytearray()
        self.error: Exception | None = None
        self.finished = False

    def _feed(self, data: bytes) -> None:
        self.pending += self.decompressor.decompress(data, _MAX_OUTPUT)

    def _step(self) -> None:
        decompressor = self.decompressor
        if decompressor.eof:
            tail = decompressor.unused_data or self.raw.read(1 << 16)
            if not tail:
                self.finished = True
            elif tail.strip(b"\x00"):   # another member (zero bytes are padding)
                self.decompressor = _DECOMPRESSORS[self.kind]()
                self._feed(tail)
            return
        if self.kind == "gzip" and decompressor.unconsumed_tail:
            self._feed(decompressor.unconsumed_tail)
        elif self.kind != "gzip" and not decompressor.needs_input:
            self._feed(b"")
        elif chunk := self.raw.read(1 << 16):
            self._feed(chunk)
        else:
            if self.kind == "gzip":
                self.pending += decompressor.flush()
            self.finished = True
            self.error = EOFError(f"{self.kind} data ends before its end-of-stream marker")

    def _fill(self, size: int) -> None:
        while len(self.pending) < size and not self.finished:
            self._step()

    def read(self, size: int = -1) -> bytes:
        self._fill(size if size >= 0 else 1 << 62)
        if not self.pending and self.error is not None:
            error, self.error = self.error, None
            raise error
        size = len(self.pending) if size < 0 else size
        data = bytes(self.pending[:size])
        del self.pending[:size]
        return data

    def peek(self, size: int = 1) -> bytes:
        self._fill(size)
        return bytes(self.pending[:size])

    def seekable(self) -> bool:
        return False


def _peel_zip(name, stream, compression, depth):
    seekable = stream if stream.seekable() else _spool(stream)
    try:
        archive = zipfile.ZipFile(seekable)
    except (zipfile.BadZipFile, EOFError) as error:
        # The member list is at the end of a zip: cut or damaged there, no member can be found.
        raise ScanInputError(f"{name}: damaged or truncated zip archive ({error}): its list of members, "
                             "at the end of the file, is missing, so nothing in it can be read") from None
    names = archive.namelist()
    if "xl/workbook.xml" in names:
        yield Layer(name, seekable, compression + ["xlsx"], zip_file=archive)
        return
    for member in archive.infolist():
        if member.is_dir():
            continue
        try:
            opened = archive.open(member)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as error:
            raise ScanInputError(f"{name}!{member.filename}: cannot open zip member ({error})") from None
        with opened:
            # Member names are the leaker's: no terminal escapes or newlines in our output.
            member_name = "".join(c if c.isprintable() else "?" for c in member.filename)
            yield from peel(f"{name}!{member_name}", io.BufferedReader(opened, 1 << 20),
                            compression + ["zip"], depth + 1)


def _peek(stream: BinaryIO, size: int) -> bytes:
    if hasattr(stream, "peek"):
        return stream.peek(size)[:size]
    position = stream.tell()
    head = stream.read(size)
    stream.seek(position)
    return head


def _spool(stream: BinaryIO) -> BinaryIO:
    spool = tempfile.TemporaryFile()
    shutil.copyfileobj(stream, spool, 1 << 20)
    spool.seek(0)
    return spool
