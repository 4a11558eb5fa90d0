"""Turns at an SQLite store's write lock, so that a long job cannot starve the listeners.

SQLite has no queue of writers: one that finds the file locked sleeps in its busy handler
(1, 2, 5 ... then 100 ms at a time) and tries again. A job committing chunk after chunk
(a plant of 1,000 canaries: 50 transactions back to back) takes the lock again within
microseconds of releasing it, so the listeners' contact writer, asleep in its handler,
missed every gap: 2.1 s for a DNS contact to be stored during `plant --count 1000`
(issue 11, defect 6).

Here a writer that wants the lock announces it (a shared flock on a file beside the store,
held until its BEGIN succeeds) and tries every millisecond; a long job, between two of its
transactions, waits until nobody is announced (an exclusive flock), so a waiting writer
gets the next turn and waits one chunk of the job at most.
"""
from __future__ import annotations

import fcntl
import os
import pathlib
import sqlite3
import time

POLL_SECONDS = 0.001        # a waiting writer tries BEGIN again this often
BUSY_TIMEOUT_MS = 30000     # the connection's busy_timeout, for every statement but BEGIN
HANDOFF_SECONDS = 2.0       # a long job waits at most this long for the writers before it


class WriteTurns:
    """The announcements of writers waiting for one store file's write lock."""

    def __init__(self, store_path: pathlib.Path):
        self.path = pathlib.Path(f"{store_path}.writers")
        self._fd: int | None = None

    def _handle(self) -> int | None:
        if self._fd is None:
            try:   # an empty file, 0600 like the store beside it (whoever can open the store can open it)
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                return None   # a read-only directory: no announcements (BEGIN is still retried every ms)
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def begin(self, conn: sqlite3.Connection, timeout: float = BUSY_TIMEOUT_MS / 1000) -> None:
        """BEGIN IMMEDIATE, announced while it waits, tried every POLL_SECONDS until `timeout`."""
        fd = self._handle()
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_SH)
        deadline = time.monotonic() + timeout
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as error:
                    if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                        raise
                time.sleep(POLL_SECONDS)
        finally:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def let_waiting_in(self, timeout: float = HANDOFF_SECONDS) -> None:
        """Between two transactions of a long job: return once no writer is waiting for the lock
        (each waiting one has had its turn), or after `timeout`."""
        fd = self._handle()
        if fd is None:
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return
                time.sleep(POLL_SECONDS)
        fcntl.flock(fd, fcntl.LOCK_UN)
