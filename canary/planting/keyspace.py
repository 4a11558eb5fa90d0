"""Where a canary's row takes its key: a hole the host left in its own key sequence.

A key one above the host's highest marks a row as the newest, and canaries planted into an
old database would all be the newest: a thief keeps the patients registered before some
date and drops every canary. Every real database has holes below its highest key: patients
merged into another file or erased on request, inserts rolled back, sequence caches lost at
a restart. A canary that takes one of those keys sits among the host's rows of that period,
and nothing in a copy tells a filled hole from a key that was never missing.

Only short runs of missing keys count as holes (what deletions and rollbacks leave); a long
run is a renumbering, and a lone key in its middle would stand out.
"""
from __future__ import annotations

import bisect
import random
from dataclasses import dataclass

MAX_HOLE = 8


@dataclass
class Hole:
    after: int          # index in KeySpace.ordinals of the host key just below the hole
    low: int            # first missing ordinal
    high: int           # last missing ordinal


class KeySpace:
    """The host's keys of one column as ordinals (the number a key counts by), and the holes between them."""

    def __init__(self, ordinals: dict[int, object]):
        # ordinal -> the key as the host stores it (to read that row back)
        self.values = ordinals
        self.ordinals = sorted(ordinals)
        self.holes: list[Hole] = []
        for index, (below, above) in enumerate(zip(self.ordinals, self.ordinals[1:])):
            if 1 < above - below <= MAX_HOLE + 1:
                self.holes.append(Hole(index, below + 1, above - 1))
        self._positions = [hole.after for hole in self.holes]

    def __len__(self) -> int:
        return len(self.holes)

    def position(self, sits_before) -> int:
        """How many host keys sit before the point where `sits_before(ordinal)` turns false (binary search)."""
        low, high = 0, len(self.ordinals)
        while low < high:
            middle = (low + high) // 2
            if sits_before(self.ordinals[middle]):
                low = middle + 1
            else:
                high = middle
        return low

    def random_hole(self, rng: random.Random, accept=lambda hole: True, tries: int = 30) -> Hole | None:
        """A hole anywhere (uniform over holes, so canaries spread as the holes do over the host's history)."""
        for _ in range(min(tries, len(self.holes))):
            hole = rng.choice(self.holes)
            if accept(hole):
                return hole
        return None

    def nearest_hole(self, position: int) -> Hole | None:
        """The hole closest to `position` (an index among the host's keys)."""
        if not self.holes:
            return None
        at = bisect.bisect_left(self._positions, position)
        candidates = [self.holes[i] for i in (at - 1, at) if 0 <= i < len(self.holes)]
        return min(candidates, key=lambda hole: abs(hole.after + 0.5 - position))

    def take(self, hole: Hole, whole: bool) -> int:
        """The lowest free ordinal of `hole`; `whole`: nothing else goes there (two canaries side by side
        would be a run of new keys), otherwise the next sibling row may follow it."""
        ordinal = hole.low
        hole.low += 1
        if whole or hole.low > hole.high:
            index = self.holes.index(hole)
            del self.holes[index], self._positions[index]
        return ordinal

    def next_above(self, ordinal: int) -> float:
        """The host's first key above `ordinal` (infinity past the last)."""
        at = bisect.bisect_right(self.ordinals, ordinal)
        return self.ordinals[at] if at < len(self.ordinals) else float("inf")
