"""The listener host's heartbeat: `canary hosts` shows which hosts sharing the store are alive."""
from __future__ import annotations

import logging
import os
import threading

from canary.store import Store

log = logging.getLogger("canary.listeners")


class Heartbeat:
    """Marks this host started, refreshes its last_seen every `seconds`, and stopped on a clean stop."""

    def __init__(self, location, host: str, listeners: str, seconds: float):
        self.location, self.host, self.listeners, self.seconds = location, host, listeners, seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Heartbeat":
        # A connection of its own: on SQLite a heartbeat waiting for the write lock must not hold
        # up the listeners' reads on theirs.
        self._store = Store(self.location)
        self._store.host_started(self.host, os.getpid(), self.listeners)
        self._thread = threading.Thread(target=self._loop, name="host-heartbeat", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                self._store.host_heartbeat(self.host)
            except Exception:  # noqa: BLE001 - a store hiccup must not stop the listeners; next beat retries
                log.exception("heartbeat failed")

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        try:
            self._store.host_stopped(self.host)
        finally:
            self._store.close()
