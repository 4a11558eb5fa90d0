"""Contacts: the outside world touching an identifier. Stored whole, never capped."""
from __future__ import annotations

import json

from .. import clock
from .part import StorePart


class ContactStore(StorePart):
    def record_contacts(self, contacts: list[dict]) -> list[int]:
        """Store contacts and their evidence events in one durable transaction; return their ids.

        Each contact: time (UTC ISO, default now), channel, identifier_id, canary_id or
        token_id, source, details (a JSON-serialisable dict, attacker-controlled), host (the
        listener host that recorded it).
        """
        ids = []
        last_write: dict[str, str] = {}
        with self.transaction():
            for contact in contacts:
                row = {
                    "time": contact.get("time") or clock.utc_now(),
                    "channel": contact["channel"],
                    "identifier_id": contact["identifier_id"],
                    "canary_id": contact.get("canary_id"),
                    "token_id": contact.get("token_id"),
                    "source": contact.get("source"),
                    "host": contact.get("host"),
                    "details": json.dumps(contact.get("details") or {}, sort_keys=True, ensure_ascii=False),
                }
                payload = {key: value for key, value in row.items()
                           if key != "details" and not (key == "host" and value is None)}
                payload["details"] = json.loads(row["details"])
                payload["identifier"] = contact.get("identifier") or contact.get("value")
                event = self.append_event("contact", payload, time=row["time"])
                row["evidence_seq"] = event["seq"]
                ids.append(self._insert("contacts", row))
                if row["host"] is not None:
                    last_write[row["host"]] = max(last_write.get(row["host"], ""), row["time"])
            for host, time in last_write.items():
                self.conn.execute("UPDATE listener_hosts SET last_write = ? WHERE name = ? "
                                  "AND (last_write IS NULL OR last_write < ?)", (time, host, time))
        return ids

    def count_unknown(self, counts: dict[tuple[str, str], int], day: str | None = None) -> None:
        """Add to the per-day tallies of contacts with unknown names: {(channel, kind): n}."""
        day = day or clock.utc_now()[:10]
        with self.transaction():
            for (channel, kind), count in counts.items():
                self.conn.execute(
                    "INSERT INTO unknown_contacts (day, channel, kind, count) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (day, channel, kind) DO UPDATE SET count = unknown_contacts.count + excluded.count",
                    (day, channel, kind, int(count)))

    def unknown_counts(self) -> list[dict]:
        return self._rows("SELECT * FROM unknown_contacts ORDER BY day, channel, kind")

    def contacts(self, since: str | None = None, canary_id: int | None = None, channel: str | None = None,
                 site: str | None = None, target: str | None = None, token: str | None = None) -> list[dict]:
        """Every matching contact, oldest first, resolved to its identifier, canary or token, target and site."""
        where, params = _contact_filters(since=since, canary_id=canary_id, channel=channel, site=site,
                                         target=target, token=token)
        return _decoded(self._rows(CONTACT_SELECT + where + " ORDER BY ct.time, ct.id", params))

    def search_contacts(self, *, channel: str | None = None, site: str | None = None, target: str | None = None,
                        canary_id: int | None = None, token_id: int | None = None,
                        since: str | None = None, until: str | None = None,
                        limit: int = 100, offset: int = 0) -> list[dict]:
        """One page of matching contacts, newest first."""
        where, params = _contact_filters(channel=channel, site=site, target=target, canary_id=canary_id,
                                         token_id=token_id, since=since, until=until)
        sql = CONTACT_SELECT + where + " ORDER BY ct.time DESC, ct.id DESC LIMIT ? OFFSET ?"
        return _decoded(self._rows(sql, [*params, int(limit), int(offset)]))

    def contacts_after(self, contact_id: int, limit: int = 500) -> list[dict]:
        """Contacts stored after `contact_id`, in the order they were stored (ids only grow)."""
        return _decoded(self._rows(CONTACT_SELECT + " WHERE ct.id > ? ORDER BY ct.id LIMIT ?",
                                   (contact_id, int(limit))))

    def last_contact_id(self) -> int:
        return self._row("SELECT coalesce(max(id), 0) AS id FROM contacts")["id"]


# A contact resolved to its identifier, canary (label and name) or token, target and site.
CONTACT_SELECT = (
    "SELECT ct.*, i.kind AS identifier_kind, i.value AS identifier, tk.token AS token, "
    "c.label AS canary_label, "
    "trim(coalesce(json_extract(c.patient, '$.first_name'), '') || ' ' || "
    "coalesce(json_extract(c.patient, '$.last_name'), '')) AS canary_name, "
    "tg.name AS target, s.name AS site, ev.hash AS evidence_hash "
    "FROM contacts ct JOIN identifiers i ON i.id = ct.identifier_id "
    "JOIN evidence ev ON ev.seq = ct.evidence_seq "
    "LEFT JOIN tokens tk ON tk.id = ct.token_id "
    "LEFT JOIN canaries c ON c.id = ct.canary_id "
    "LEFT JOIN targets tg ON tg.id = c.target_id "
    "LEFT JOIN sites s ON s.id = tg.site_id")

_FILTERS = {"since": "ct.time >= ?", "until": "ct.time < ?", "canary_id": "ct.canary_id = ?",
            "token_id": "ct.token_id = ?", "token": "tk.token = ?", "channel": "ct.channel = ?",
            "site": "s.name = ?", "target": "tg.name = ?"}


def _contact_filters(**filters) -> tuple[str, list]:
    """' WHERE ...' and its parameters for the filters given (None means any)."""
    given = {name: value for name, value in filters.items() if value is not None}
    if not given:
        return "", []
    return " WHERE " + " AND ".join(_FILTERS[name] for name in given), list(given.values())


def _decoded(rows: list[dict]) -> list[dict]:
    for row in rows:
        row["details"] = json.loads(row["details"])
    return rows
