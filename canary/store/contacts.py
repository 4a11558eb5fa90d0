"""Contacts: the outside world touching an identifier. Stored whole, never capped."""
from __future__ import annotations

import json

from .. import clock


class ContactStore:
    def record_contacts(self, contacts: list[dict]) -> list[int]:
        """Store contacts and their evidence events in one durable transaction; return their ids.

        Each contact: time (UTC ISO, default now), channel, identifier_id, canary_id or
        token_id, source, details (a JSON-serialisable dict, attacker-controlled).
        """
        ids = []
        with self.transaction():
            for contact in contacts:
                row = {
                    "time": contact.get("time") or clock.utc_now(),
                    "channel": contact["channel"],
                    "identifier_id": contact["identifier_id"],
                    "canary_id": contact.get("canary_id"),
                    "token_id": contact.get("token_id"),
                    "source": contact.get("source"),
                    "details": json.dumps(contact.get("details") or {}, sort_keys=True, ensure_ascii=False),
                }
                payload = {key: value for key, value in row.items() if key != "details"}
                payload["details"] = json.loads(row["details"])
                payload["identifier"] = contact.get("identifier") or contact.get("value")
                event = self.append_event("contact", payload, time=row["time"])
                row["evidence_seq"] = event["seq"]
                ids.append(self._insert("contacts", row))
        return ids

    def count_unknown(self, counts: dict[tuple[str, str], int], day: str | None = None) -> None:
        """Add to the per-day tallies of contacts with unknown names: {(channel, kind): n}."""
        day = day or clock.utc_now()[:10]
        with self.transaction():
            for (channel, kind), count in counts.items():
                self.conn.execute(
                    "INSERT INTO unknown_contacts (day, channel, kind, count) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (day, channel, kind) DO UPDATE SET count = count + excluded.count",
                    (day, channel, kind, int(count)))

    def unknown_counts(self) -> list[dict]:
        return self._rows("SELECT * FROM unknown_contacts ORDER BY day, channel, kind")

    def contacts(self, since: str | None = None, canary_id: int | None = None, channel: str | None = None,
                 site: str | None = None, target: str | None = None, token: str | None = None,
                 limit: int | None = None) -> list[dict]:
        """Contacts, oldest first, each resolved to its identifier, canary or token, target and site."""
        where, params = [], []
        for clause, value in (("ct.time >= ?", since), ("ct.canary_id = ?", canary_id),
                              ("ct.channel = ?", channel), ("s.name = ?", site),
                              ("tg.name = ?", target), ("tk.token = ?", token)):
            if value is not None:
                where.append(clause)
                params.append(value)
        sql = ("SELECT ct.*, i.kind AS identifier_kind, i.value AS identifier, tk.token AS token, "
               "tg.name AS target, s.name AS site "
               "FROM contacts ct JOIN identifiers i ON i.id = ct.identifier_id "
               "LEFT JOIN tokens tk ON tk.id = ct.token_id "
               "LEFT JOIN canaries c ON c.id = ct.canary_id "
               "LEFT JOIN targets tg ON tg.id = c.target_id "
               "LEFT JOIN sites s ON s.id = tg.site_id")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY ct.time, ct.id"
        if limit is not None:
            # The newest `limit`, still returned oldest first.
            sql = f"SELECT * FROM ({sql[:-len(' ORDER BY ct.time, ct.id')]} ORDER BY ct.time DESC, ct.id DESC LIMIT {int(limit)}) ORDER BY time, id"
        rows = self._rows(sql, params)
        for row in rows:
            row["details"] = json.loads(row["details"])
        return rows
