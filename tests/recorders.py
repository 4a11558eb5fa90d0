"""Recorder test doubles: resolve from a dict, keep contacts in a list (as aiosmtpd's tests keep envelopes)."""
from __future__ import annotations

import collections
import concurrent.futures
from typing import Iterable


class MemoryRecorder:
    """A recorder for unit tests: resolves from a dict, keeps contacts in a list."""

    def __init__(self, known: dict[str, dict] | Iterable[dict] = ()):
        rows = known.values() if isinstance(known, dict) else known
        self.known = {row["value"]: row for row in rows}
        self.contacts: list[dict] = []
        self.tallied: list[dict] = []
        self.unknown: collections.Counter = collections.Counter()

    def resolve(self, values: list[str]) -> dict | None:
        return next((self.known[v] for v in values if v in self.known), None)

    def record(self, contact: dict, timeout: float | None = None) -> int:
        self.contacts.append(contact)
        return len(self.contacts)

    async def arecord(self, contact: dict, over_budget: str | None = None) -> int:
        if over_budget is not None:
            self.tallied.append(contact)
            return 0
        return self.record(contact)

    def notify(self, contact: dict, loop, callback) -> None:
        self.record(contact)
        callback(None)

    def submit(self, contact: dict) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        future.set_result(self.record(contact))
        return future

    def count_unknown(self, channel: str, kind: str, count: int = 1) -> None:
        self.unknown[(channel, kind)] += count

    async def atally(self, channel: str, kind: str) -> None:
        self.count_unknown(channel, kind)
