"""Scanning on every core: small files whole in worker processes, big files streamed block by
block through the same workers, results merged in the order of the files and their blocks so
that any number of jobs gives what one job gives.

Blocks are cut at record boundaries by the reader (file_formats.py), so no record is split
between workers. A plain file's blocks are spans of it, read by the worker that scans them
and their lines numbered here as they are merged; other blocks (decompressed, transcoded)
are sent. At most a few blocks per worker are in flight: memory stays bounded whatever the
file size. Workers are forked: they inherit the compiled index.
"""
from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import functools
import gc
import json
import multiprocessing
import os
import time
from typing import Callable

from .allocator import reuse_block_memory
from .databases import read_database
from .file_formats import READ_ERRORS, Member, Span, read_member
from .errors import ScanInputError, TruncatedInput
from .layers import FileDigest, open_leak, peel
from .limits import ScanLimits
from .matcher import IdentifierIndex

WHOLE_FILE_BYTES = 32 << 20    # smaller files are one task each; bigger ones are streamed in blocks
PARALLEL_MIN_BYTES = 8 << 20   # below this in all, forking workers costs more than it saves
_IN_FLIGHT_PER_JOB = 3


@dataclasses.dataclass
class ScanProgress:
    """Where a scan is: what a progress bar shows."""
    bytes_total: int
    files_total: int
    bytes_done: int = 0
    files_done: int = 0
    matches: int = 0
    started: float = dataclasses.field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        """Bytes per second so far."""
        return self.bytes_done / max(time.monotonic() - self.started, 1e-6)


@dataclasses.dataclass
class FileScan:
    """One file scanned: its description (a function of it for a streamed file, whose records are counted
    as its blocks are merged), what was found, warnings (--allow-truncated)."""
    file: dict | Callable[[], dict]
    found: object
    warnings: list[str]


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def scan_paths(index: IdentifierIndex, paths: list[str], found, *, allow_truncated: bool = False,
               jobs: int = 1, progress: Callable[[ScanProgress], None] | None = None,
               limits: ScanLimits = ScanLimits()):
    """Scan every path into `found` (in path order); returns (file descriptions, warnings, errors)."""
    reuse_block_memory()
    sizes = [_size(path) for path in paths]
    state = ScanProgress(sum(sizes), len(paths))
    report = (lambda: progress(state)) if progress else (lambda: None)
    jobs = max(1, jobs)
    if jobs == 1 or (state.bytes_total < PARALLEL_MIN_BYTES and "-" not in paths):
        pool: _Pool = _Inline(index)
    else:
        pool = _Workers(index, jobs)
    files, warnings, errors = [], [], []
    pending: collections.deque = collections.deque()

    def settle(limit: int) -> None:
        """Merge finished work, oldest first, until at most `limit` tasks are pending."""
        while len(pending) > limit:
            kind, payload, future = pending.popleft()
            try:
                result = future.result()
            except ScanInputError as error:
                errors.append(str(error))
                state.files_done += 1
                report()
                continue
            if kind == "block":
                found.add(result)
                state.bytes_done += payload
            elif kind == "span":   # lines numbered now, in file order
                read, lines, span = payload
                lines.number(result, span.continues)
                found.add(result)
                state.bytes_done += read
            elif kind == "file":
                files.append(result.file)
                warnings.extend(result.warnings)
                found.merge(result.found)
                state.bytes_done += payload
                state.files_done += 1
            else:   # the end of a streamed file: its description, once its blocks are merged (and counted)
                files.append(result.file())
                warnings.extend(result.warnings)
                state.bytes_done += payload
                state.files_done += 1
            state.matches = len(found.hits)
            report()

    try:
        for path, size in zip(paths, sizes):
            if pool.parallel and path != "-" and size < WHOLE_FILE_BYTES:
                pending.append(("file", size, pool.submit(_scan_whole, path, type(found), allow_truncated, limits)))
                settle(pool.in_flight)
                continue
            try:
                for task in _stream(pool, path, allow_truncated, limits):
                    pending.append(task)
                    settle(pool.in_flight)
            except ScanInputError as error:
                errors.append(str(error))
                state.files_done += 1
        settle(0)
    finally:
        pool.close()
    report()
    return files, warnings, errors


def _stream(pool, path, allow_truncated, limits: ScanLimits):
    """Read one file in this process, handing each block to the pool: tasks (kind, payload, future)."""
    name = "<stdin>" if path == "-" else path
    budget = limits.budget(name)
    with open_leak(path, budget) as stream, FileDigest(name, stream) as digest:
        size = digest.size
        if size == 0:
            raise ScanInputError(f"{name}: empty file (0 bytes)")
        members: list[Member] = []
        warnings: list[str] = []
        position = 0
        with _reading_errors(name, allow_truncated, warnings):
            for layer in peel(name, stream, budget=budget):
                member, blocks = read_database(layer) or read_member(layer)
                members.append(member)
                free_text = member.format == "text"
                lines = _Lines(member)
                for label, numbers, data in blocks:
                    now = min(stream.tell(), size)
                    if isinstance(data, Span):
                        yield "span", (now - position, lines, data), _submit_span(pool, path, stream, label, data,
                                                                                   free_text)
                    else:
                        yield "block", now - position, pool.submit(_scan_block, label, numbers, data, free_text)
                    position = now
        # Described once merged: the records of its spans are counted as they are.
        describe = functools.partial(_description, name, digest.hexdigest(), digest.hashed, members)
        yield "end", size - position, _done(FileScan(describe, None, warnings))


def _submit_span(pool, path: str, stream, label: str, span: Span, free_text: bool) -> concurrent.futures.Future:
    """A plain file's block is read by whoever scans it: a worker opens the file (pickling 4 MB and copying
    it through a pipe cost more than the scan of it), one job reads it from the open file. Standard input's
    spool has no name a worker could open: its blocks are read here and sent."""
    if not pool.parallel:
        return pool.submit(_scan_span, stream.fileno(), span, label, free_text)
    if path != "-":
        return pool.submit(_scan_span, path, span, label, free_text)
    return pool.submit(_scan_block, label, None, _read_span(stream.fileno(), span, label), free_text)


class _Lines:
    """The numbers of a member's lines, given to its spans' hits as they are merged in file order."""

    def __init__(self, member: Member):
        self.member = member
        self.next = 1   # the line a span starting a new line starts with

    def number(self, result, continues: bool) -> None:
        first = self.next - 1 if continues else self.next
        result.renumber(first)
        self.next = first + result.records
        self.member.records += result.records


def _scan_whole(index: IdentifierIndex, path: str, found_type, allow_truncated: bool,
                limits: ScanLimits) -> FileScan:
    """A whole file in one worker: what it found stays there until merged, in order."""
    found = found_type()
    files, warnings, errors = scan_paths(index, [path], found, allow_truncated=allow_truncated, limits=limits)
    if errors:
        raise ScanInputError("; ".join(errors))
    return FileScan(files[0], found, warnings)


def _scan_block(index: IdentifierIndex, label, numbers, data, free_text):
    return index.scan_block(label, numbers, data, free_text=free_text)


def _scan_span(index: IdentifierIndex, source: str | int, span: Span, label, free_text):
    """A block the reader cut, read here from the file (`source`: its path, or its open descriptor)."""
    if isinstance(source, int):
        data = _read_span(source, span, label)
    else:
        descriptor = os.open(source, os.O_RDONLY)
        try:
            data = _read_span(descriptor, span, label)
        finally:
            os.close(descriptor)
    return index.scan_block(label, None, data, free_text=free_text)


def _read_span(descriptor: int, span: Span, label: str) -> bytes:
    data = os.pread(descriptor, span.length, span.start)
    if len(data) != span.length:
        raise ScanInputError(f"{label}: the file changed while it was scanned")
    return data


class _reading_errors:
    """A truncated archive is refused, or with --allow-truncated scanned as far as it goes."""

    def __init__(self, name: str, allowed: bool, warnings: list[str]):
        self.name, self.allowed, self.warnings = name, allowed, warnings

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None:
            return False
        name = self.name
        if isinstance(error, READ_ERRORS):
            error = TruncatedInput(f"{name}: truncated or damaged archive ({error})")
        elif isinstance(error, TruncatedInput):
            error = error if str(error).startswith(name) else TruncatedInput(f"{name}: {error}")
        elif isinstance(error, ScanInputError):
            return False
        elif isinstance(error, (json.JSONDecodeError, UnicodeError)):
            raise ScanInputError(f"{name}: {error.__class__.__name__}: {error}") from None
        elif isinstance(error, ValueError):
            raise ScanInputError(f"{name}: {error}") from None
        elif isinstance(error, RecursionError):
            raise ScanInputError(f"{name}: data nested too deeply to read (hundreds of levels)") from None
        elif isinstance(error, MemoryError):
            raise ScanInputError(f"{name}: reading it needs more memory than this machine has") from None
        else:
            return False
        if not self.allowed:
            raise ScanInputError(f"{error}; use --allow-truncated to scan what it holds") from None
        self.warnings.append(f"{error}; the records read before that were scanned")
        return True


def _description(name: str, sha256: str, size: int, members: list[Member]) -> dict:
    return {"path": name, "sha256": sha256, "size": size,
            "members": [dict(dataclasses.asdict(m), description=m.describe()) for m in members]}


def _size(path: str) -> int:
    try:
        return 0 if path == "-" else os.path.getsize(path)
    except OSError:
        return 0   # reported when opened


# -- pools ---------------------------------------------------------------------------------------
_worker_index: IdentifierIndex | None = None


def _done(value) -> concurrent.futures.Future:
    future: concurrent.futures.Future = concurrent.futures.Future()
    future.set_result(value)
    return future


class _Pool:
    parallel = False
    in_flight = 0

    def submit(self, function, *args) -> concurrent.futures.Future:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _Inline(_Pool):
    """One job: every task runs at once in this process."""

    def __init__(self, index: IdentifierIndex):
        self.index = index

    def submit(self, function, *args) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(function(self.index, *args))
        except ScanInputError as error:
            future.set_exception(error)
        return future


class _Workers(_Pool):
    """`jobs` forked processes; a few tasks each in flight."""
    parallel = True

    def __init__(self, index: IdentifierIndex, jobs: int):
        global _worker_index
        _worker_index = index   # inherited by the forked workers, not pickled
        self.in_flight = jobs * _IN_FLIGHT_PER_JOB
        # The index's objects out of the collector's sight: a worker's collections would otherwise walk
        # them all and touch every page they sit on, copying the parent's memory (copy-on-write).
        gc.freeze()
        self.executor = concurrent.futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"))

    def submit(self, function, *args) -> concurrent.futures.Future:
        return self.executor.submit(_in_worker, function, *args)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()


def _in_worker(function, *args):
    return function(_worker_index, *args)
