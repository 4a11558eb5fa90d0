"""The multi-pattern engine: every written form of every identifier found in one pass per byte.

Two Hyperscan databases, compiled once per identifier set (and cached: see index_cache):
- `names`, over the raw bytes, case folded: the zone suffixes of hostnames, URLs and emails
  (the token around each hit is then looked up);
- `digits`, over the bytes with separators deleted and everything but digits and line
  breaks turned to spaces (one `bytes.translate`): every digit form of every phone number,
  NIR and birth date, as literals. A Corsican NIR's 2A or 2B is a space there ("285032
  12345678"): the matcher checks the letter in the record. Their cost per byte does not
  grow with their number.
Hyperscan reports every occurrence, overlapping ones included; which ones count (whole runs
of digits, numbers written side by side) is decided by the matcher around each hit.
"""
from __future__ import annotations

import re

import hyperscan

_MODE = hyperscan.HS_MODE_BLOCK


class Engine:
    """Compiled databases and what their pattern ids stand for."""

    def __init__(self, digit_keys: list[bytes], suffixes: list[bytes]):
        self.digit_keys = digit_keys
        self.suffixes = suffixes
        self.digits = _compile([re.escape(key) for key in digit_keys], 0) if digit_keys else None
        self.names = _compile([re.escape(suffix) for suffix in suffixes], hyperscan.HS_FLAG_CASELESS) if suffixes else None

    def digit_ends(self, digits: bytes) -> list[tuple[int, int]]:
        """(end offset, key number) of every digit key in the translated block."""
        return _scan(self.digits, digits)

    def name_ends(self, data: bytes) -> list[tuple[int, int]]:
        """(end offset, suffix number) of every zone suffix."""
        return _scan(self.names, data)

    # Hyperscan databases are C objects: they cross processes and the cache file serialised.
    def __getstate__(self) -> dict:
        return {"digit_keys": self.digit_keys, "suffixes": self.suffixes,
                "digits": None if self.digits is None else hyperscan.dumpb(self.digits),
                "names": None if self.names is None else hyperscan.dumpb(self.names)}

    def __setstate__(self, state: dict) -> None:
        self.digit_keys, self.suffixes = state["digit_keys"], state["suffixes"]
        self.digits = None if state["digits"] is None else _load(state["digits"])
        self.names = None if state["names"] is None else _load(state["names"])


def _compile(patterns: list[bytes], flags: int):
    database = hyperscan.Database(mode=_MODE)
    database.compile(expressions=patterns, ids=list(range(len(patterns))), elements=len(patterns),
                     flags=[flags] * len(patterns))
    return database


def _load(serialised: bytes):
    database = hyperscan.loadb(serialised, _MODE)
    database.scratch = hyperscan.Scratch(database)   # loadb gives none: a scan would fail
    return database


def _scan(database, data: bytes) -> list[tuple[int, int]]:
    if database is None or not data:
        return []
    ends: list[tuple[int, int]] = []
    append = ends.append

    def on_match(pattern: int, start: int, end: int, flags: int, context) -> None:
        append((end, pattern))

    database.scan(data, match_event_handler=on_match)
    ends.sort()
    return ends
