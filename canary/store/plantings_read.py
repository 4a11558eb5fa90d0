"""Reading planting history for attribution and reports (the planting code owns the writes)."""
from __future__ import annotations

from .part import StorePart


class PlantingHistory(StorePart):
    def planting_history(self, target_ids: list[int] | None = None,
                         canary_ids: list[int] | None = None) -> list[dict]:
        """Plantings that went in (planted_at set), oldest first, with canary, target and site."""
        sql = ("SELECT p.id, p.canary_id, p.target_id, p.state, p.planted_at, p.removed_at, p.rows, "
               "tg.name AS target, s.name AS site FROM plantings p "
               "JOIN targets tg ON tg.id = p.target_id JOIN sites s ON s.id = tg.site_id "
               "WHERE p.planted_at IS NOT NULL")
        params: list = []
        for column, values in (("p.target_id", target_ids), ("p.canary_id", canary_ids)):
            if values is not None:
                sql += f" AND {column} IN ({', '.join('?' for _ in values) or 'NULL'})"
                params += list(values)
        return self._rows(sql + " ORDER BY p.planted_at, p.id", params)

    def first_contact_times(self, canary_ids: list[int]) -> dict[int, str]:
        """The first contact with any identifier of each canary: a bound on when its data left."""
        found = {}
        for start in range(0, len(canary_ids), 500):
            chunk = canary_ids[start:start + 500]
            for row in self._rows(f"SELECT canary_id, min(time) AS first FROM contacts WHERE canary_id IN "
                                  f"({', '.join('?' for _ in chunk)}) GROUP BY canary_id", chunk):
                found[row["canary_id"]] = row["first"]
        return found
