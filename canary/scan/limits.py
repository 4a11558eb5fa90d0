"""What one hostile file may cost a scan: time, memory per record, temporary disk.

A leak is made by a criminal: a 2 MB gzip may hold 2 GB, a 1.5 KB workbook may declare
seventeen billion cells. Every reader checks these bounds, and going beyond one is a
one-line `ScanLimitExceeded` naming the setting to raise (`scan.<key>` in canary.toml).
"""
from __future__ import annotations

import dataclasses
import tempfile
import time
from typing import BinaryIO

from .errors import ScanLimitExceeded


@dataclasses.dataclass(frozen=True)
class ScanLimits:
    max_seconds: float = 3600.0                   # per file, all of its members
    max_temp_bytes: int = 1 << 30                 # spooled to disk (stdin, a zip inside a gzip)
    max_record_bytes: int = 16 << 20              # one line, one JSON element, one SQL tuple
    max_xlsx_part_bytes: int = 16 << 20           # a workbook part loaded whole (shared strings, styles)

    @classmethod
    def from_settings(cls, settings) -> "ScanLimits":
        scan = settings["scan"]
        return cls(max_seconds=float(scan["max_seconds"]), max_temp_bytes=int(scan["max_temp_bytes"]),
                   max_record_bytes=int(scan["max_record_bytes"]), max_xlsx_part_bytes=int(scan["max_xlsx_part_bytes"]))

    def budget(self, name: str) -> "ScanBudget":
        return ScanBudget(self, name)


class ScanBudget:
    """The bounds applied to one file: its clock started when the scan of it began."""

    def __init__(self, limits: ScanLimits, name: str):
        self.limits, self.name = limits, name
        self.deadline = time.monotonic() + limits.max_seconds

    def exceeded(self, key: str, what: str) -> ScanLimitExceeded:
        value = getattr(self.limits, key)
        shown = f"{value:,}" if isinstance(value, int) else f"{value:g}"
        return ScanLimitExceeded(f"{self.name}: {what} (limit scan.{key} = {shown}; raise it under [scan] "
                                 f"in canary.toml for a file you trust)")

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise self.exceeded("max_seconds", "reading it takes too long")

    def spool(self, stream: BinaryIO, what: str) -> BinaryIO:
        """`stream` copied to an anonymous temporary file, at most max_temp_bytes of it."""
        spool = tempfile.TemporaryFile()
        written, cap = 0, self.limits.max_temp_bytes
        try:
            while block := stream.read(1 << 20):
                written += len(block)
                if written > cap:
                    raise self.exceeded("max_temp_bytes", f"{what} is too large to spool to temporary disk")
                spool.write(block)
                self.check_time()
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool
