"""Scans and sightings: canaries found in leaked files, recorded with the files' sha256."""
from __future__ import annotations

import json

from .. import clock
from .part import StorePart

_SIGHTING_COLUMNS = ("canary_id", "token_id", "identifier_id", "kind", "value", "file", "file_sha256", "line")


class SightingStore(StorePart):
    def record_scan(self, files: list[dict], result: dict, sightings: list[dict]) -> dict:
        """Store one scan, its sightings and their evidence event in one transaction.

        files: [{path, sha256, size, ...}]; sightings: dicts with _SIGHTING_COLUMNS.
        """
        now = clock.utc_now()
        with self.transaction():
            scan_id = self._insert("scans", {"time": now, "files": json.dumps(files, ensure_ascii=False),
                                             "result": json.dumps(result, ensure_ascii=False, default=str)})
            rows = []
            for sighting in sightings:
                row = {"scan_id": scan_id, "time": now, **{c: sighting.get(c) for c in _SIGHTING_COLUMNS}}
                row["id"] = self._insert("sightings", row)
                rows.append(row)
            event = self.append_event("sighting", {
                "scan_id": scan_id,
                "files": [{"path": f["path"], "sha256": f["sha256"], "size": f["size"]} for f in files],
                "columns": ["id", *_SIGHTING_COLUMNS],
                "sightings": [[row["id"], *(row[c] for c in _SIGHTING_COLUMNS)] for row in rows],
                "targets": result.get("targets", []),
                "further_occurrences": result.get("further_occurrences", []),
            }, time=now)
        return {"scan_id": scan_id, "time": now, "evidence_seq": event["seq"]}

    def scans(self) -> list[dict]:
        rows = self._rows("SELECT * FROM scans ORDER BY id")
        for row in rows:
            row["files"] = json.loads(row["files"])
            row["result"] = json.loads(row["result"])
        return rows

    def sightings(self, canary_ids: list[int] | None = None) -> list[dict]:
        """Sightings (of these canaries), oldest first, with their target and site."""
        sql = ("SELECT sg.*, tg.name AS target, s.name AS site FROM sightings sg "
               "LEFT JOIN canaries c ON c.id = sg.canary_id LEFT JOIN targets tg ON tg.id = c.target_id "
               "LEFT JOIN sites s ON s.id = tg.site_id")
        params: list = []
        if canary_ids is not None:
            if not canary_ids:
                return []
            sql += f" WHERE sg.canary_id IN ({', '.join('?' for _ in canary_ids)})"
            params = list(canary_ids)
        return self._rows(sql + " ORDER BY sg.time, sg.id", params)
