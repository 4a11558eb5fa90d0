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
import os
import sys
import threading
import zipfile
import zlib
from typing import BinaryIO, Iterator

from .errors import ScanInputError, shown_name
from .limits import ScanBudget, ScanLimits

MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty archive
)
_DECOMPRESSORS = {"gzip": lambda: zlib.decompressobj(wbits=47), "bzip2": bz2.BZ2Decompressor,
                  "xz": lzma.LZMADecompressor}
_MAGIC_OF = {kind: magic for magic, kind in MAGIC}
_MAX_OUTPUT = 1 << 20  # bytes of decompressed output per step
_MAX_DEPTH = 3  # a .csv.gz inside a .zip inside a .gz, and no zip bombs of zips


@dataclasses.dataclass
class Layer:
    name: str             # what a match says in `file`: path, or archive.zip!member.csv
    stream: BinaryIO      # decompressed bytes
    compression: list[str]
    zip_file: zipfile.ZipFile | None = None   # set when the layer is an .xlsx workbook
    budget: ScanBudget | None = None          # the bounds of the file it comes from


def sniff_compression(head: bytes) -> str | None:
    return next((kind for magic, kind in MAGIC if head.startswith(magic)), None)


class FileDigest:
    """The SHA-256 and size of a leaked file, computed in a thread while the file is scanned.

    The thread reads with its own offsets (os.preadv: the scan's position in the file is untouched);
    hashing and reading release the GIL, so where a core is free the hash costs the scan no time
    (it used to be a first pass over the whole file before any scanning). A context manager: leaving it
    stops the thread."""

    def __init__(self, name: str, stream: BinaryIO):
        self.name = name
        self._descriptor = stream.fileno()
        self.size = os.fstat(self._descriptor).st_size   # what is there now; `hashed` is what was read
        self.hashed = 0
        self._digest = hashlib.sha256()
        self._error: OSError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._hash, name="canary-sha256", daemon=True)
        self._thread.start()

    def _hash(self) -> None:
        buffer = bytearray(1 << 20)
        view = memoryview(buffer)
        try:
            while not self._stop.is_set():
                read = os.preadv(self._descriptor, [buffer], self.hashed)
                if not read:
                    return
                self._digest.update(view[:read])
                self.hashed += read
        except OSError as error:
            self._error = error

    def hexdigest(self) -> str:
        """Once the whole file is hashed."""
        self._thread.join()
        if self._error is not None:
            raise ScanInputError(f"{self.name}: cannot read it to hash it ({self._error.strerror or self._error})")
        return self._digest.hexdigest()

    def __enter__(self) -> "FileDigest":
        return self

    def __exit__(self, *exception) -> None:
        self._stop.set()
        self._thread.join()


@contextlib.contextmanager
def open_leak(path: str, budget: ScanBudget | None = None):
    """The file as a seekable binary stream; `-` spools stdin to a temporary file first (up to scan.max_temp_bytes)."""
    if path == "-":
        budget = budget or ScanLimits().budget("<stdin>")
        with budget.spool(sys.stdin.buffer, "standard input") as spool:
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


def peel(name: str, stream: BinaryIO, compression: list[str] | None = None, depth: int = 0,
         budget: ScanBudget | None = None) -> Iterator[Layer]:
    """Every readable member of `stream`, decompressed, with its name and the layers peeled."""
    budget = budget or ScanLimits().budget(name)
    compression = list(compression or [])
    head = _peek(stream, 8)
    kind = sniff_compression(head)
    if kind is None or depth >= _MAX_DEPTH:
        yield Layer(name, stream, compression, budget=budget)
        return
    if kind == "zip":
        yield from _peel_zip(name, stream, compression, depth, budget)
        return
    yield from peel(name, Decompressed(stream, kind), compression + [kind], depth + 1, budget)


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
            self._next_member(decompressor.unused_data)
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

    def _next_member(self, tail: bytes) -> None:
        """After one member's end: another member (`cat a.gz b.gz`), zero padding, or trailing
        bytes, read as the standard tools do: gzip -d and bzip2 -d ignore what follows that is
        not a member, xz -d accepts zero padding only and fails on anything else."""
        magic = _MAGIC_OF[self.kind]
        while True:
            tail = tail.lstrip(b"\x00")    # consumed: a run of padding can never loop
            if len(tail) >= len(magic):
                break
            more = self.raw.read(1 << 16)
            if not more:
                break
            tail += more
        if not tail:
            self.finished = True
        elif tail.startswith(magic):
            self.decompressor = _DECOMPRESSORS[self.kind]()
            self._feed(tail)
        elif self.kind == "xz":
            self.finished = True
            self.error = lzma.LZMAError("bytes that are neither padding nor an xz stream after the end of the stream")
        else:
            self.finished = True   # trailing garbage: ignored, as gzip -dc and bzip2 -dc do

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


def _peel_zip(name, stream, compression, depth, budget: ScanBudget):
    # A zip inside a gzip must be spooled to disk to be read (its member list is at its end).
    seekable = stream if stream.seekable() else budget.spool(stream, f"the zip inside {' in '.join(compression)}")
    try:
        archive = zipfile.ZipFile(seekable)
    except (zipfile.BadZipFile, EOFError) as error:
        # The member list is at the end of a zip: cut or damaged there, no member can be found.
        raise ScanInputError(f"{name}: damaged or truncated zip archive ({error}): its list of members, "
                             "at the end of the file, is missing, so nothing in it can be read") from None
    except NotImplementedError as error:   # "zip file version 9.2", an unknown compression method
        raise ScanInputError(f"{name}: zip archive this reader cannot open ({error})") from None
    except Exception as error:  # zipfile raises ValueError, struct.error, ... on a forged member list
        raise ScanInputError(f"{name}: damaged zip archive ({error.__class__.__name__}: {error})") from None
    names = archive.namelist()
    if "xl/workbook.xml" in names:
        yield Layer(name, seekable, compression + ["xlsx"], zip_file=archive, budget=budget)
        return
    for member in archive.infolist():
        member_name = shown_name(member.filename)
        if member.filename.endswith("/"):   # a folder (ZipInfo.is_dir fails on an empty name)
            continue
        try:
            opened = archive.open(member)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError) as error:
            raise ScanInputError(f"{name}!{member_name}: cannot open zip member ({error})") from None
        with opened:
            yield from peel(f"{name}!{member_name}", io.BufferedReader(opened, 1 << 20),
                            compression + ["zip"], depth + 1, budget)


def _peek(stream: BinaryIO, size: int) -> bytes:
    if hasattr(stream, "peek"):
        return stream.peek(size)[:size]
    position = stream.tell()
    head = stream.read(size)
    stream.seek(position)
    return head
