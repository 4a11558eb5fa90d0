"""Connection caps of a TCP listener: at most `total` connections, at most `per_source` from
one address, so one source (1,000 idle SMTP sessions, all 256 DNS TCP slots) cannot starve
the others, nor run the process out of file descriptors."""
from __future__ import annotations

import collections
import threading


class ConnectionCaps:
    def __init__(self, total: int, per_source: int):
        self.total, self.per_source = total, per_source
        self._lock = threading.Lock()
        self._open = 0
        self._by_source: collections.Counter = collections.Counter()
        self.refused = 0

    def admit(self, source: str) -> bool:
        """Take a slot for a new connection from `source`, or False (then close it at once)."""
        with self._lock:
            if self._open >= self.total or self._by_source[source] >= self.per_source:
                self.refused += 1
                return False
            self._open += 1
            self._by_source[source] += 1
            return True

    def release(self, source: str) -> None:
        with self._lock:
            self._open -= 1
            self._by_source[source] -= 1
            if self._by_source[source] <= 0:
                del self._by_source[source]

    @property
    def open(self) -> int:
        return self._open
