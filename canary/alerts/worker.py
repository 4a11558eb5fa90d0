"""AlertWorker: turns new contacts into alerts and delivers them, in a thread of its own.

It only reads contacts, by id, from a cursor kept in the store; the alerts it decides on
go into an outbox table in the same transaction that moves the cursor. A restart therefore
neither repeats nor loses an alert, and a dead channel only grows its own queue.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Callable

from .. import clock
from ..settings import Settings
from ..store import Store
from .channels import AlertChannel, DeliveryError, channels_from_settings
from .message import contact_alert, held_back_summary, subject_of, summary_alert

log = logging.getLogger("canary.alerts")
MAX_HELD_SOURCES = 5
BATCH = 500


def _utc(text: str) -> dt.datetime:
    return clock.parse_time(text)


class AlertWorker:
    """Alerts for new contacts: throttled per canary (or token) and contact channel, retried with backoff."""

    def __init__(self, store: Store, settings: Settings, channels: dict[str, AlertChannel] | None = None,
                 now: Callable[[], dt.datetime] | None = None):
        self.store = store
        self.settings = settings
        self.channels = channels_from_settings(settings) if channels is None else channels
        self.now = now or (lambda: dt.datetime.now(dt.timezone.utc))
        config = settings["alerts"]
        self.throttle = dt.timedelta(seconds=float(config["throttle_seconds"]))
        self.poll_seconds = float(config["poll_seconds"])
        self.retry_base = float(config["retry_base_seconds"])
        self.retry_max = float(config["retry_max_seconds"])
        # How long a delivery being sent is left to this worker; one that crashed mid-send is retried after it.
        self.lease = dt.timedelta(seconds=5 * float(config["timeout_seconds"]) + 10)
        self.deployment = settings["deployment"]["name"]
        self.public_url = settings["dashboard"]["public_url"]
        self._blocked_until: dict[str, dt.datetime] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- deciding -------------------------------------------------------------------------
    def queue_new_contacts(self) -> int:
        """Turn contacts after the cursor into queued alerts (or held-back counts); returns contacts seen."""
        seen = 0
        while True:
            with self.store.transaction():
                cursor = self.store.alert_cursor() or 0
                contacts = self.store.contacts_after(cursor, BATCH)
                for contact in contacts:
                    self._decide(contact)
                if contacts:
                    self.store.set_alert_cursor(contacts[-1]["id"])
            seen += len(contacts)
            if len(contacts) < BATCH:
                return seen

    def _decide(self, contact: dict) -> None:
        subject, channel = subject_of(contact), contact["channel"]
        throttle = self.store.alert_throttle(subject, channel)
        moment = _utc(contact["time"])
        if throttle and moment - _utc(throttle["alerted_at"]) < self.throttle:
            throttle["held"] += 1
            throttle["held_first"] = throttle["held_first"] or contact["time"]
            throttle["held_last"] = contact["time"]
            sources = throttle["held_sources"]
            if contact.get("source") and contact["source"] not in sources and len(sources) < MAX_HELD_SOURCES:
                sources.append(contact["source"])
            self.store.save_alert_throttle(throttle)
            return
        alert = contact_alert(contact, self.deployment, self.public_url, held_back_summary(throttle))
        self._queue(alert, "contact", contact["id"])
        self.store.save_alert_throttle({"subject": subject, "channel": channel, "alerted_at": contact["time"],
                                        "held": 0, "held_first": None, "held_last": None, "held_sources": []})

    def queue_held_summaries(self) -> int:
        """Once a throttle window has closed, report what it held back even if no new contact came."""
        now = self.now()
        flushed = 0
        with self.store.transaction():
            for throttle in self.store.held_alert_throttles(clock.format_time(now - self.throttle)):
                kind, _, subject_id = throttle["subject"].partition(":")
                recent = self._latest_contact(kind, int(subject_id), throttle["channel"])
                self._queue(summary_alert(throttle, self.deployment, self.public_url, recent), "summary", None)
                # The summary opens a new window: at most one message per window, whatever the flood.
                self.store.save_alert_throttle({**throttle, "alerted_at": clock.format_time(now), "held": 0,
                                                "held_first": None, "held_last": None, "held_sources": []})
                flushed += 1
        return flushed

    def _latest_contact(self, kind: str, subject_id: int, channel: str) -> dict | None:
        key = "canary_id" if kind == "canary" else "token_id"
        found = self.store.search_contacts(**{key: subject_id}, channel=channel, limit=1)
        return found[0] if found else None

    def _queue(self, alert: dict, kind: str, contact_id: int | None) -> None:
        due = clock.format_time(self.now())
        for destination in self.channels:
            self.store.enqueue_alert(destination, kind, alert, contact_id, due)

    def queue_test_alert(self) -> None:
        """A test alert on every configured channel: `canary alerts test`."""
        with self.store.transaction():
            self._queue({"type": "test", "deployment": self.deployment, "url": self.public_url,
                         "time": clock.utc_now()}, "test", None)

    # -- delivering -----------------------------------------------------------------------
    def deliver_due(self) -> dict[str, int]:
        """Each channel's due deliveries in order; a failure backs that channel off. {'sent': n, 'failed': n}."""
        result = {"sent": 0, "failed": 0}
        now = self.now()
        # Channel by channel: however long a dead channel's queue grows, it never hides the others' alerts.
        for destination, channel in self.channels.items():
            if self._blocked_until.get(destination, now) > now:
                continue  # backing off: its queue waits
            for delivery in self.store.due_alert_deliveries(clock.format_time(now), destination, limit=BATCH):
                if not self.store.claim_alert_delivery(delivery, clock.format_time(now + self.lease)):
                    continue  # another worker (`canary alerts run` beside `canary serve`) is sending it
                try:
                    channel.send(delivery["alert"])
                except Exception as error:  # noqa: BLE001 - whatever a channel raises, only its own queue waits
                    self._back_off(delivery, error, now)
                    result["failed"] += 1
                    break
                self._blocked_until.pop(destination, None)
                self.store.mark_alert_sent(delivery["id"])
                result["sent"] += 1
        return result

    def _back_off(self, delivery: dict, error: Exception, now: dt.datetime) -> None:
        if not isinstance(error, DeliveryError):
            error = DeliveryError(f"{type(error).__name__}: {error}")
        delay = min(self.retry_base * 2 ** delivery["attempts"], self.retry_max)
        retry_at = now + dt.timedelta(seconds=delay)
        self._blocked_until[delivery["destination"]] = retry_at
        self.store.mark_alert_failed(delivery["id"], str(error), clock.format_time(retry_at))
        log.warning("alert %s to %s failed (attempt %d), retry in %.1fs: %s", delivery["id"], delivery["destination"],
                    delivery["attempts"] + 1, delay, error)

    def run_once(self) -> dict[str, int]:
        """One round: queue alerts for new contacts and closed windows, then deliver what is due."""
        self.queue_new_contacts()
        self.queue_held_summaries()
        return self.deliver_due()

    # -- background thread ------------------------------------------------------------------
    def start(self) -> None:
        if not self.channels:
            log.info("no alert channel configured in [alerts]: alerts are off")
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="canary-alerts", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        leading = False
        while not self._stop.is_set():
            try:
                # Several hosts may run a worker on one store: the leader alone decides and sends,
                # so each alert goes out once. Taking over from a dead leader frees what it had
                # claimed (a send it never finished) at once.
                if self.store.try_alert_leadership():
                    if not leading:
                        leading = True
                        freed = self.store.free_alert_claims()
                        log.info("leading the alerts%s", f"; {freed} unfinished deliveries retried" if freed else "")
                    self.run_once()
            except Exception:  # noqa: BLE001 - the worker must outlive a locked database or a bad channel
                log.exception("alert round failed; retrying at the next poll")
            self._stop.wait(self._next_wait())

    def _next_wait(self) -> float:
        # Wake early for a channel whose backoff ends before the next poll.
        now = self.now()
        waits = [self.poll_seconds] + [max((until - now).total_seconds(), 0.01)
                                       for until in self._blocked_until.values()]
        return min(waits)
