"""Alert bookkeeping: the cursor over contacts, throttle windows and the delivery outbox.

Alerts only read contacts; everything they write lives in their own tables, so a failing
channel can never hold up or roll back the recording of a contact.
"""
from __future__ import annotations

import json

from .. import clock
from .part import StorePart

_CURSOR = "cursor"


class AlertStore(StorePart):
    def alert_cursor(self) -> int | None:
        """Id of the last contact already turned into alerts; None before the first run."""
        row = self._row("SELECT value FROM alert_state WHERE name = ?", (_CURSOR,))
        return None if row is None else int(row["value"])

    def set_alert_cursor(self, contact_id: int) -> None:
        with self.transaction():
            self.conn.execute("INSERT INTO alert_state (name, value) VALUES (?, ?) "
                              "ON CONFLICT (name) DO UPDATE SET value = excluded.value", (_CURSOR, str(contact_id)))

    def alert_throttle(self, subject: str, channel: str) -> dict | None:
        row = self._row("SELECT * FROM alert_throttle WHERE subject = ? AND channel = ?", (subject, channel))
        if row:
            row["held_sources"] = json.loads(row["held_sources"])
        return row

    def save_alert_throttle(self, row: dict) -> None:
        values = {**row, "held_sources": json.dumps(row.get("held_sources") or [])}
        with self.transaction():
            self.conn.execute(
                "INSERT INTO alert_throttle (subject, channel, alerted_at, held, held_first, held_last, held_sources) "
                "VALUES (:subject, :channel, :alerted_at, :held, :held_first, :held_last, :held_sources) "
                "ON CONFLICT (subject, channel) DO UPDATE SET alerted_at = excluded.alerted_at, "
                "held = excluded.held, held_first = excluded.held_first, held_last = excluded.held_last, "
                "held_sources = excluded.held_sources", values)

    def held_alert_throttles(self, alerted_before: str) -> list[dict]:
        """Throttle windows that ended before `alerted_before` with contacts still held back."""
        rows = self._rows("SELECT * FROM alert_throttle WHERE held > 0 AND alerted_at < ? ORDER BY alerted_at",
                          (alerted_before,))
        for row in rows:
            row["held_sources"] = json.loads(row["held_sources"])
        return rows

    def enqueue_alert(self, destination: str, kind: str, alert: dict, contact_id: int | None = None,
                      due: str | None = None) -> int:
        """Queue one alert for one destination, due at `due` (default now)."""
        now = clock.utc_now()
        with self.transaction():
            return self._insert("alert_deliveries", {
                "created_at": now, "destination": destination, "contact_id": contact_id, "kind": kind,
                "alert": json.dumps(alert, sort_keys=True, ensure_ascii=False), "state": "pending",
                "attempts": 0, "next_at": due or now})

    def due_alert_deliveries(self, now: str, destination: str, limit: int = 100) -> list[dict]:
        """One destination's pending deliveries due by `now`, oldest first."""
        rows = self._rows("SELECT * FROM alert_deliveries WHERE state = 'pending' AND destination = ? "
                          "AND next_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY id LIMIT ?",
                          (destination, now, now, int(limit)))
        for row in rows:
            row["alert"] = json.loads(row["alert"])
        return rows

    def claim_alert_delivery(self, delivery: dict, until: str) -> bool:
        """Take a due delivery for sending until `until`; False when another worker took it first."""
        with self.transaction():
            taken = self.conn.execute("UPDATE alert_deliveries SET claimed_until = ? WHERE id = ? "
                                      "AND state = 'pending' AND next_at = ? AND "
                                      "(claimed_until IS NULL OR claimed_until <= ?)",
                                      (until, delivery["id"], delivery["next_at"], clock.utc_now()))
            return taken.rowcount == 1

    def free_alert_claims(self) -> int:
        """A new alert leader: the deliveries the dead one had claimed are due again at once."""
        with self.transaction():
            return self.conn.execute("UPDATE alert_deliveries SET claimed_until = NULL "
                                     "WHERE state = 'pending' AND claimed_until IS NOT NULL").rowcount

    def try_alert_leadership(self) -> bool:
        """Be the one alert worker among every host on this store; True while this store holds it.

        Held by this store's connection (PostgreSQL: a session advisory lock; SQLite: a lock on a
        file beside the store) and released when it closes or its process dies."""
        with self._lock:
            return self.dialect.try_lead(self.conn, "alerts")

    def mark_alert_sent(self, delivery_id: int) -> None:
        with self.transaction():
            self.conn.execute("UPDATE alert_deliveries SET state = 'sent', attempts = attempts + 1, sent_at = ?, "
                              "last_error = NULL, claimed_until = NULL WHERE id = ?", (clock.utc_now(), delivery_id))

    def mark_alert_failed(self, delivery_id: int, error: str, next_at: str) -> None:
        with self.transaction():
            self.conn.execute("UPDATE alert_deliveries SET attempts = attempts + 1, last_error = ?, next_at = ?, "
                              "claimed_until = NULL WHERE id = ?", (error[:500], next_at, delivery_id))

    def alert_deliveries(self, limit: int = 50) -> list[dict]:
        """The latest deliveries, newest first."""
        rows = self._rows("SELECT * FROM alert_deliveries ORDER BY id DESC LIMIT ?", (int(limit),))
        for row in rows:
            row["alert"] = json.loads(row["alert"])
        return rows
