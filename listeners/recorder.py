"""The recorder the listeners share: resolves names to identifiers and stores contacts durably.

Durable before answering, at thousands of contacts a second: handlers hand their contact
to one writer thread and wait; the writer commits whatever has queued up in ONE
transaction (one fsync for the whole group) and then wakes every waiter of that group.
Unknown names are only counted, in memory, and flushed as per-day tallies.
"""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import dataclasses
import json
import logging
import queue
import threading
import time
from typing import Callable

from canary.store import Store

from .budget import ContactBudget

log = logging.getLogger("canary.listeners")

_STOP = object()


class Recorder:
    """Resolves identifiers and records contacts through the store, committing in groups."""

    def __init__(self, store: Store, *, max_batch: int = 1000, unknown_flush_seconds: float = 5.0,
                 on_recorded: Callable[[list[dict]], None] | None = None, budget: ContactBudget | None = None,
                 host: str | None = None):
        self.store = store  # reads: resolution happens on the callers' threads
        self.host = host  # this listener host's name, on every contact it records
        # None: every contact stored whole (tests of the recorder itself); listeners pass one.
        self.budget = budget
        self.max_batch = max_batch
        self.unknown_flush_seconds = unknown_flush_seconds
        self.on_recorded = on_recorded
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._unknown: collections.Counter = collections.Counter()
        self._unknown_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.recorded = 0
        self.tallied = 0

    # -- what the listeners call --------------------------------------------------------
    def resolve(self, values: list[str]) -> dict | None:
        """The first candidate value that is a known identifier, resolved to its owner."""
        return self.store.resolve_any(values)

    def submit(self, contact: dict, over_budget: str | None = None) -> concurrent.futures.Future:
        """Queue a contact; the future completes (with its id, None if tallied) once it is committed."""
        if self._thread is None:
            raise RuntimeError("recorder not started")
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put((self._budgeted(contact, over_budget), future))
        return future

    def notify(self, contact: dict, loop: asyncio.AbstractEventLoop, callback: Callable,
               over_budget: str | None = None) -> None:
        """Queue a contact; once committed, `callback(error_or_None)` runs on `loop`.

        The writer wakes each event loop once per group commit, not once per contact.
        """
        if self._thread is None:
            raise RuntimeError("recorder not started")
        item = contact if isinstance(contact, _Tally) else self._budgeted(contact, over_budget)
        self._queue.put((item, (loop, callback)))

    def record(self, contact: dict, timeout: float | None = 30) -> int | None:
        """Store a contact and return once it is on disk (threads: HTTP handlers)."""
        return self.submit(contact).result(timeout)

    async def arecord(self, contact: dict, over_budget: str | None = None) -> None:
        """Store a contact and return once it is on disk (coroutines: DNS, SMTP).

        `over_budget` names a bound the caller already knows is spent (e.g. "recipients"):
        the contact is tallied, not stored whole."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def settle(error):
            if not future.done():
                future.set_exception(error) if error else future.set_result(None)
        self.notify(contact, loop, settle, over_budget)
        await future

    async def atally(self, channel: str, kind: str) -> None:
        """Count a contact with a name we do not know through the writer, like a contact.

        For a listener whose answer time must not tell a known name from an unknown one
        (SMTP RCPT): both wait for the same group commit, the tally committed in it.
        """
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def settle(error):
            if not future.done():
                future.set_result(None)     # a tally that could not be written is kept in memory
        self.notify(_Tally(channel, kind), loop, settle)
        await future

    def _budgeted(self, contact: dict, over_budget: str | None) -> dict:
        """The contact, marked with its tally when its identifier's or source's budget is spent."""
        if self.budget is None and over_budget is None:
            return contact
        budget = self.budget or ContactBudget()
        size = len(json.dumps(contact.get("details") or {}, ensure_ascii=False))
        if over_budget is not None:
            tally = budget.tally(contact.get("source"), over_budget, size)
        else:
            tally = budget.spend(contact["identifier_id"], contact.get("source"), size)
        if tally is not None:
            contact["tally"] = tally
        return contact

    def count_unknown(self, channel: str, kind: str, count: int = 1) -> None:
        """Count a contact with a name we do not know; never stored one by one."""
        with self._unknown_lock:
            self._unknown[(channel, kind)] += count

    # -- the writer -----------------------------------------------------------------------
    def start(self) -> "Recorder":
        # The writer has its own connection, so committing (fsync) never blocks the
        # readers resolving names on the listeners' threads.
        writer_store = Store(self.store.location)
        self._thread = threading.Thread(target=self._write_loop, args=(writer_store,),
                                        name="contact-writer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Commit everything queued, flush the unknown tallies, stop the writer."""
        if self._thread is None:
            return
        self._queue.put((_STOP, None))
        self._thread.join()
        self._thread = None

    def _write_loop(self, writer_store: Store) -> None:
        next_flush = time.monotonic() + self.unknown_flush_seconds
        stopping = False
        try:
            while not stopping:
                try:
                    batch = [self._queue.get(timeout=max(0.05, next_flush - time.monotonic()))]
                except queue.Empty:
                    batch = []
                while batch and len(batch) < self.max_batch:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                stopping = any(contact is _STOP for contact, _ in batch)
                self._commit(writer_store, [item for item in batch if item[0] is not _STOP])
                if stopping or time.monotonic() >= next_flush:
                    self._flush_unknown(writer_store)
                    next_flush = time.monotonic() + self.unknown_flush_seconds
        finally:
            writer_store.close()

    def _commit(self, writer_store: Store, batch: list) -> None:
        if not batch:
            return
        tallies = [(item, waiter) for item, waiter in batch if isinstance(item, _Tally)]
        if tallies:
            batch = [entry for entry in batch if not isinstance(entry[0], _Tally)]
            self._commit_tallies(writer_store, [item for item, _ in tallies])
            if not batch:
                self._wake(tallies, [None] * len(tallies))
                return
        if self.host is not None:
            for contact, _ in batch:
                contact.setdefault("host", self.host)
        whole = [contact for contact, _ in batch if "tally" not in contact]
        tallied = [contact for contact, _ in batch if "tally" in contact]
        try:
            stored = iter(writer_store.record_contacts(whole, tallied))
            ids = [None if "tally" in contact else next(stored) for contact, _ in batch]
        except Exception:  # one bad contact must not cost the others theirs: retry one by one
            log.exception("group commit of %d contacts failed; retrying one by one", len(batch))
            ids = []
            for contact, future in batch:
                try:
                    if "tally" in contact:
                        writer_store.record_contacts([], [contact])
                        ids.append(None)
                    else:
                        ids.append(writer_store.record_contacts([contact])[0])
                except Exception as error:
                    ids.append(error)
        done = []
        for (contact, _), contact_id in zip(batch, ids):
            if contact_id is not None and not isinstance(contact_id, Exception):
                contact["id"] = contact_id
                done.append(contact)
        # Tallies of the same group are answered with its contacts, at the same moment.
        self._wake(batch + tallies, ids + [None] * len(tallies))
        self.recorded += len(done)
        self.tallied += len(tallied)
        if self.on_recorded and done:
            try:
                self.on_recorded(done)
            except Exception:
                log.exception("on_recorded callback failed")

    def _wake(self, batch: list, results: list) -> None:
        wake: dict = {}
        for (_, waiter), result in zip(batch, results):
            error = result if isinstance(result, Exception) else None
            if isinstance(waiter, tuple):
                loop, callback = waiter
                wake.setdefault(loop, []).append((callback, error))
            elif error is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(result)
        for loop, callbacks in wake.items():
            try:
                loop.call_soon_threadsafe(_run_callbacks, callbacks)
            except RuntimeError:  # that loop is closed: its listener stopped without waiting
                pass

    def _commit_tallies(self, writer_store: Store, tallies: list["_Tally"]) -> None:
        self._store_unknown(writer_store, collections.Counter((tally.channel, tally.kind) for tally in tallies))

    def _flush_unknown(self, writer_store: Store) -> None:
        with self._unknown_lock:
            counts, self._unknown = self._unknown, collections.Counter()
        if counts:
            self._store_unknown(writer_store, counts)

    def _store_unknown(self, writer_store: Store, counts: collections.Counter) -> None:
        """Store unknown-name counts; on failure keep them in memory for the next flush."""
        try:
            writer_store.count_unknown(dict(counts))
        except Exception:
            log.exception("could not store unknown-name tallies")
            with self._unknown_lock:
                self._unknown.update(counts)


def _run_callbacks(callbacks: list) -> None:
    for callback, error in callbacks:
        try:
            callback(error)
        except Exception:
            log.exception("contact callback failed")


@dataclasses.dataclass(frozen=True)
class _Tally:
    """An unknown-name count sent through the writer (Recorder.atally)."""

    channel: str
    kind: str
