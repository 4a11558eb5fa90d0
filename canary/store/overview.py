"""What the dashboard and API read: canary states, plantings, contact searches and daily counts."""
from __future__ import annotations

import json

_CONTACT = ("SELECT ct.*, i.kind AS identifier_kind, i.value AS identifier, tk.token AS token, "
            "c.label AS canary_label, "
            "trim(coalesce(json_extract(c.patient, '$.first_name'), '') || ' ' || "
            "coalesce(json_extract(c.patient, '$.last_name'), '')) AS canary_name, "
            "tg.name AS target, s.name AS site "
            "FROM contacts ct JOIN identifiers i ON i.id = ct.identifier_id "
            "LEFT JOIN tokens tk ON tk.id = ct.token_id "
            "LEFT JOIN canaries c ON c.id = ct.canary_id "
            "LEFT JOIN targets tg ON tg.id = c.target_id "
            "LEFT JOIN sites s ON s.id = tg.site_id")


def _decoded(rows: list[dict]) -> list[dict]:
    for row in rows:
        row["details"] = json.loads(row["details"])
    return rows


class OverviewStore:
    def canary_states(self) -> dict[int, str]:
        """Each canary's state: registered (never planted), planted, missing (at its target's last check), retired."""
        latest_checks = self._rows(
            "SELECT target_id, result FROM checks WHERE id IN (SELECT max(id) FROM checks GROUP BY target_id)")
        missing = set()
        for check in latest_checks:
            for canary_id, verdict in json.loads(check["result"]).items():
                if verdict in ("missing", "altered"):
                    missing.add(int(canary_id))
        states = {}
        for row in self._rows(
                "SELECT c.id, "
                "sum(p.state = 'planted' AND p.removed_at IS NULL) AS live, "
                "sum(p.state = 'retired' OR p.removed_at IS NOT NULL) AS retired "
                "FROM canaries c LEFT JOIN plantings p ON p.canary_id = c.id GROUP BY c.id"):
            if row["live"]:
                states[row["id"]] = "missing" if row["id"] in missing else "planted"
            elif row["retired"]:
                states[row["id"]] = "retired"
            else:
                states[row["id"]] = "registered"
        return states

    def canary_plantings(self, canary_id: int) -> list[dict]:
        rows = self._rows("SELECT p.*, tg.name AS target FROM plantings p JOIN targets tg ON tg.id = p.target_id "
                          "WHERE p.canary_id = ? ORDER BY p.id", (canary_id,))
        for row in rows:
            row["rows"] = json.loads(row["rows"])
        return rows

    def last_checks(self) -> dict[int, str]:
        """target_id -> time of its last check."""
        return {row["target_id"]: row["time"]
                for row in self._rows("SELECT target_id, max(time) AS time FROM checks GROUP BY target_id")}

    def get_contact(self, contact_id: int) -> dict | None:
        rows = _decoded(self._rows(_CONTACT + " WHERE ct.id = ?", (contact_id,)))
        return rows[0] if rows else None

    def search_contacts(self, *, channel: str | None = None, site: str | None = None, target: str | None = None,
                        canary_id: int | None = None, token_id: int | None = None,
                        since: str | None = None, until: str | None = None,
                        limit: int = 100, offset: int = 0) -> list[dict]:
        """Contacts matching every filter given, newest first."""
        where, params = [], []
        for clause, value in (("ct.channel = ?", channel), ("s.name = ?", site), ("tg.name = ?", target),
                              ("ct.canary_id = ?", canary_id), ("ct.token_id = ?", token_id), ("ct.time >= ?", since), ("ct.time < ?", until)):
            if value is not None:
                where.append(clause)
                params.append(value)
        sql = _CONTACT + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY ct.time DESC, ct.id DESC LIMIT ? OFFSET ?"
        return _decoded(self._rows(sql, [*params, int(limit), int(offset)]))

    def contacts_after(self, contact_id: int, limit: int = 500) -> list[dict]:
        """Contacts stored after `contact_id`, in the order they were stored (ids only grow)."""
        return _decoded(self._rows(_CONTACT + " WHERE ct.id > ? ORDER BY ct.id LIMIT ?", (contact_id, int(limit))))

    def count_contacts(self, canary_id: int) -> int:
        return self.conn.execute("SELECT count(*) FROM contacts WHERE canary_id = ?", (canary_id,)).fetchone()[0]

    def last_contact_id(self) -> int:
        return self.conn.execute("SELECT coalesce(max(id), 0) FROM contacts").fetchone()[0]

    def contacts_per_day(self, since_day: str) -> dict[str, dict[str, int]]:
        """{'2026-11-28': {'dns': 3, 'smtp': 1}} for days on or after `since_day`."""
        counts: dict[str, dict[str, int]] = {}
        for row in self._rows("SELECT substr(time, 1, 10) AS day, channel, count(*) AS n FROM contacts "
                              "WHERE time >= ? GROUP BY day, channel", (since_day,)):
            counts.setdefault(row["day"], {})[row["channel"]] = row["n"]
        return counts

    def contact_channels(self) -> list[str]:
        return [row["channel"] for row in self._rows("SELECT DISTINCT channel FROM contacts ORDER BY channel")]
