"""Failed-login limits per client address, per account and for the whole dashboard.

An attempt takes its place in every window BEFORE the password is checked, under one
lock, so 60 parallel guesses from one address get `per_address` checks, not 26; a
success gives the address's place back. The table cannot be emptied by flooding it:
every entry is a failure in the window, and the global limit bounds how many there are.
"""
from __future__ import annotations

import collections
import dataclasses
import threading
import time


@dataclasses.dataclass(frozen=True)
class LoginLimits:
    per_address: int = 10
    per_account: int = 30
    global_: int = 100
    window_seconds: float = 900


class LoginLimiter:
    def __init__(self, now=time.monotonic):
        self.now = now
        self._lock = threading.Lock()
        self._all: collections.deque = collections.deque()          # times of every failure in the window
        self._by_key: dict[tuple[str, str], collections.deque] = {}  # ("address"|"account", value) -> times

    def begin(self, address: str, account: str, limits: LoginLimits) -> object | None:
        """A ticket to check one password, or None when a limit is reached (answer 429)."""
        keys = (("address", address), ("account", account.strip().lower()[:64]))
        with self._lock:
            self._expire(limits.window_seconds)
            if len(self._all) >= limits.global_:
                return None
            allowed = {"address": limits.per_address, "account": limits.per_account}
            if any(len(self._by_key.get(key, ())) >= allowed[key[0]] for key in keys):
                return None
            stamp = self.now()
            self._all.append(stamp)
            for key in keys:
                self._by_key.setdefault(key, collections.deque()).append(stamp)
            return (keys, stamp)

    def succeeded(self, ticket) -> None:
        """The password was right: this attempt was no failure, and the address starts afresh."""
        keys, stamp = ticket
        with self._lock:
            try:
                self._all.remove(stamp)
            except ValueError:
                pass
            self._by_key.pop(keys[0], None)
            account = self._by_key.get(keys[1])
            if account is not None and stamp in account:
                account.remove(stamp)

    def _expire(self, window: float) -> None:
        oldest = self.now() - window
        while self._all and self._all[0] < oldest:
            self._all.popleft()
        for key in [key for key, times in self._by_key.items() if not times or times[-1] < oldest]:
            del self._by_key[key]
        for times in self._by_key.values():
            while times and times[0] < oldest:
                times.popleft()
