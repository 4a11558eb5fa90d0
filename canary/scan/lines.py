"""Where the records the engine hit lie in a block, without cutting the block into records.

A block holds about 20,000 records; the engine hits a few hundred. Splitting it into one bytes
object per record cost more than a pass of the engine (and fresh memory for each block), so
only the hit records are located, from where they start in the translated block the digits
are matched in (`digits`: the block with separators deleted, the same line breaks).
"""
from __future__ import annotations

import bisect


class BlockLines:
    """Record starts in `data`, found in record order from the records' starts in `digits`."""

    def __init__(self, data: bytes, digits: bytes):
        self.data, self.digits = data, digits
        self._index, self._start, self._digits_start = 0, 0, 0   # the last record located, in both
        self._starts, self._indexes = [0], [0]   # records located so far, in order

    def start(self, index: int, digits_start: int) -> int:
        """Where record `index` starts in data, given where it starts in digits; `index` never decreases.

        Deleting separators only shortens records, so the record starts no earlier than the
        previous one located plus the distance between the two in digits: the line breaks are
        counted up to there, then the few left are found one by one."""
        if index == self._index:
            return self._start
        data, wanted = self.data, index - self._index
        floor = self._start + (digits_start - self._digits_start)
        seen = data.count(b"\n", self._start, floor)
        if seen == wanted:
            start = data.rfind(b"\n", self._start, floor) + 1
        else:
            start = floor
            for _ in range(wanted - seen):
                start = data.index(b"\n", start) + 1
        self._index, self._start, self._digits_start = index, start, digits_start
        self._starts.append(start)
        self._indexes.append(index)
        return start

    def index(self, position: int) -> tuple[int, int]:
        """(record index, record start) of the record holding data[position], counted from the nearest
        record located before it (call once every record the digits hit is located; a file may name one
        address a million times, so each record located here is a starting point for the next)."""
        start = self.data.rfind(b"\n", 0, position) + 1
        nearest = bisect.bisect_right(self._starts, start) - 1
        index = self._indexes[nearest] + self.data.count(b"\n", self._starts[nearest], start)
        if self._starts[nearest] != start:
            self._starts.insert(nearest + 1, start)
            self._indexes.insert(nearest + 1, index)
        return index, start


def record_at(data: bytes, start: int) -> bytes:
    """The record starting at `start`: up to its line break, or the block's end."""
    end = data.find(b"\n", start)
    return data[start:] if end < 0 else data[start:end]
