"""What the dashboard and API read: canary states, plantings, checks and daily counts."""
from __future__ import annotations

import json

from .part import StorePart


class OverviewStore(StorePart):
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
                "sum(CASE WHEN p.state = 'planted' AND p.removed_at IS NULL THEN 1 ELSE 0 END) AS live, "
                "sum(CASE WHEN p.state = 'retired' OR p.removed_at IS NOT NULL THEN 1 ELSE 0 END) AS retired "
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

    def count_contacts(self, canary_id: int) -> int:
        return self._value("SELECT count(*) AS n FROM contacts WHERE canary_id = ?", (canary_id,))

    def contacts_per_day(self, since_day: str) -> dict[str, dict[str, int]]:
        """{'2026-11-28': {'dns': 3, 'smtp': 1}} for days on or after `since_day`."""
        counts: dict[str, dict[str, int]] = {}
        for row in self._rows("SELECT substr(time, 1, 10) AS day, channel, count(*) AS n FROM contacts "
                              "WHERE time >= ? GROUP BY day, channel", (since_day,)):
            counts.setdefault(row["day"], {})[row["channel"]] = row["n"]
        return counts

    def contact_channels(self) -> list[str]:
        return [row["channel"] for row in self._rows("SELECT DISTINCT channel FROM contacts ORDER BY channel")]
