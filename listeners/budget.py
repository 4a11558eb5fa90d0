"""The storage budget: how many contacts (and bytes) each identifier and each source may
store whole in a period. Beyond it a contact is counted in a tally (first and last time,
count, bytes), so the evidence of a flood survives without the flood filling the disk.

Decided when a contact arrives, before it is queued for the writer; the counts live in
memory and start again with each period (and with each start of the listeners).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time


def source_address(source: str | None) -> str:
    """'192.0.2.1:53' -> '192.0.2.1', '[2001:db8::1]:53' -> '2001:db8::1'; a caller's number stays as is."""
    source = source or "unknown"
    if source.startswith("["):
        return source[1:source.find("]")] if "]" in source else source
    host, sep, port = source.rpartition(":")
    return host if sep and port.isdigit() and ":" not in host else source


@dataclasses.dataclass(frozen=True)
class BudgetLimits:
    period_seconds: int = 3600
    contacts_per_identifier: int = 200
    bytes_per_identifier: int = 8 << 20
    contacts_per_source: int = 1000
    bytes_per_source: int = 32 << 20
    contacts_per_period: int = 100_000

    @classmethod
    def from_settings(cls, settings) -> "BudgetLimits":
        values = settings["budget"]
        return cls(**{field.name: int(values[field.name]) for field in dataclasses.fields(cls)})


class ContactBudget:
    """Thread-safe: listeners on several threads ask `spend` for each contact they are about to store."""

    def __init__(self, limits: BudgetLimits = BudgetLimits(), now=time.time):
        self.limits = limits
        self.now = now
        self._lock = threading.Lock()
        self._period = -1
        self._identifiers: dict[int, list[int]] = {}
        self._sources: dict[str, list[int]] = {}
        self._total = 0

    def spend(self, identifier_id: int, source: str | None, size: int) -> dict | None:
        """None: store this contact whole. Else its tally: {"period", "source", "reason", "bytes"}."""
        limits = self.limits
        address = source_address(source)
        with self._lock:
            period = int(self.now() // limits.period_seconds)
            if period != self._period:
                self._period, self._total = period, 0
                self._identifiers, self._sources = {}, {}
            reason = None
            if self._total >= limits.contacts_per_period:
                reason, address = "global", "*"   # '*': the tally table too stays bounded
            else:
                spent = self._identifiers.get(identifier_id, (0, 0))
                from_source = self._sources.get(address, (0, 0))
                if spent[0] >= limits.contacts_per_identifier or spent[1] + size > limits.bytes_per_identifier:
                    reason = "identifier"
                elif (from_source[0] >= limits.contacts_per_source
                      or from_source[1] + size > limits.bytes_per_source):
                    reason = "source"
            if reason is None:
                self._total += 1
                self._identifiers[identifier_id] = [spent[0] + 1, spent[1] + size]
                self._sources[address] = [from_source[0] + 1, from_source[1] + size]
                return None
        return self._tally(period, address, reason, size)

    def tally(self, source: str | None, reason: str, size: int) -> dict:
        """The tally of a contact the caller already knows is beyond a bound of its own (reason)."""
        period = int(self.now() // self.limits.period_seconds)
        return self._tally(period, source_address(source), reason, size)

    def _tally(self, period: int, address: str, reason: str, size: int) -> dict:
        start = dt.datetime.fromtimestamp(period * self.limits.period_seconds, dt.timezone.utc)
        return {"period": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "source": address, "reason": reason, "bytes": size}
