"""The contact log: one line per stored contact, written by a thread of its own.

The lines used to be printed by the contact writer itself, after each group commit: when
nobody read `canary serve`'s output fast enough (a full pipe, a stalled terminal or journal),
the writer blocked in print() and no listener could store, so answer, anything more (the
hostile bench froze all three for 45 s once 64 KB of lines sat unread; issue 11). Now the
writer only queues the contacts; when the output falls MAX_PENDING lines behind, further
lines are counted instead of queued, and one line says how many were not printed. The
contacts themselves are in the store either way: the log is a view, not evidence.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

log = logging.getLogger("canary.listeners")

MAX_PENDING = 10_000
_STOP = object()


class ContactLog:
    """`on_recorded` for the recorder: formats and writes each contact's line off its thread."""

    def __init__(self, format_line: Callable[[dict], str], write: Callable[[str], None],
                 max_pending: int = MAX_PENDING):
        self.format_line, self.write = format_line, write
        self._queue: queue.Queue = queue.Queue(max_pending)
        self._skipped = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> "ContactLog":
        self._thread = threading.Thread(target=self._run, name="contact-log", daemon=True)
        self._thread.start()
        return self

    def __call__(self, contacts: list[dict]) -> None:
        """Called by the contact writer: never waits for the output."""
        for contact in contacts:
            try:
                self._queue.put_nowait(contact)
            except queue.Full:
                with self._lock:
                    self._skipped += 1

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is queued; give up after `timeout` if the output does not take it."""
        if self._thread is None:
            return
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            pass
        self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        while True:
            contact = self._queue.get()
            try:
                if contact is not _STOP:
                    self.write(self.format_line(contact))
                with self._lock:
                    skipped, self._skipped = self._skipped, 0
                if skipped:
                    self.write(f"{skipped} contact lines not printed (the output was not read fast enough); "
                               "the contacts are in the store (canary hits)")
            except Exception:  # a closed output must not end the thread silently mid-run
                log.exception("could not write a contact line")
            if contact is _STOP:
                return
