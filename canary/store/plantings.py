"""Plantings (which rows of which target hold a canary, since and until when) and the checks of them."""
from __future__ import annotations

import json

from .. import clock
from .core import NotFound
from .part import StorePart

STATES = ("pending", "planted", "retired")
_IDS_PER_STATEMENT = 500     # under every engine's limit of parameters in one statement


class PlantingStore(StorePart):
    def record_planting(self, canary_id: int, target_id: int, rows: list[dict], fingerprint: list[dict],
                        state: str = "planted", time: str | None = None) -> int:
        """Record one canary's rows in a target, with its evidence event, in the caller's transaction."""
        if state not in ("pending", "planted"):
            raise ValueError(f"a new planting is pending or planted, not {state!r}")
        now = time or clock.utc_now()
        with self.transaction():
            row = {"canary_id": canary_id, "target_id": target_id, "state": state,
                   "planted_at": now if state == "planted" else None, "removed_at": None,
                   "rows": json.dumps(rows, ensure_ascii=False, sort_keys=True),
                   "fingerprint": json.dumps(fingerprint, ensure_ascii=False, sort_keys=True), "created_at": now}
            planting_id = self._insert("plantings", row)
            self.append_event("planting", {"planting_id": planting_id, "canary_id": canary_id,
                                           "target_id": target_id, "state": state, "rows": rows}, time=now)
        return planting_id

    def plantings(self, target_id: int | None = None, *, states: tuple[str, ...] | None = None,
                  canary_id: int | None = None, planted_before: str | None = None) -> list[dict]:
        """Plantings, oldest first, rows and fingerprint decoded."""
        where, params = [], []
        if target_id is not None:
            where.append("target_id = ?")
            params.append(target_id)
        if states:
            where.append(f"state IN ({', '.join('?' for _ in states)})")
            params.extend(states)
        if canary_id is not None:
            where.append("canary_id = ?")
            params.append(canary_id)
        if planted_before is not None:
            where.append("coalesce(planted_at, created_at) < ?")
            params.append(planted_before)
        sql = "SELECT * FROM plantings" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        rows = self._rows(sql, params)
        for row in rows:
            row["rows"] = json.loads(row["rows"])
            row["fingerprint"] = json.loads(row["fingerprint"] or "[]")
        return rows

    def add_schedule(self, target_id: int, total: int, starts_at: str, ends_at: str) -> int:
        """Plant `total` canaries into a target between two times, a few per rotation (an evidence event)."""
        with self.transaction():
            schedule_id = self._insert("planting_schedules", {
                "target_id": target_id, "total": total, "planted": 0, "starts_at": starts_at,
                "ends_at": ends_at, "created_at": clock.utc_now()})
            self.append_event("planting.scheduled", {"schedule_id": schedule_id, "target_id": target_id,
                                                     "total": total, "starts_at": starts_at, "ends_at": ends_at})
        return schedule_id

    def schedules(self, target_id: int | None = None, *, unfinished: bool = False) -> list[dict]:
        """Planting schedules, oldest first; `unfinished`: those with canaries still to plant."""
        where, params = [], []
        if target_id is not None:
            where.append("target_id = ?")
            params.append(target_id)
        if unfinished:
            where.append("planted < total")
        return self._rows("SELECT * FROM planting_schedules" + (" WHERE " + " AND ".join(where) if where else "")
                          + " ORDER BY id", params)

    def advance_schedule(self, schedule_id: int, planted: int) -> None:
        """Count `planted` more canaries of a schedule as planted."""
        with self.transaction():
            self._execute("UPDATE planting_schedules SET planted = planted + ? WHERE id = ?", (planted, schedule_id))

    def record_retiring(self, target_id: int, planting_ids: list[int]) -> None:
        """Say in the evidence log that these plantings' rows are about to be deleted from their target,
        before the target commits: should the process die between that commit and the store's, the log
        explains why the rows are gone (a `planting.retiring` with no `planting.retired` after it)."""
        with self.transaction():
            self.append_event("planting.retiring", {"target_id": target_id, "planting_ids": list(planting_ids)})

    def retirements_begun(self, target_id: int) -> dict[int, str]:
        """Plantings of a target that a `canary retire` began on and did not finish (its
        `planting.retiring` event, no retirement after it): planting id -> when it began."""
        begun: dict[int, str] = {}
        for event in self.events("planting.retiring"):
            if event["payload"]["target_id"] == target_id:
                begun.update((planting_id, event["time"]) for planting_id in event["payload"]["planting_ids"])
        if not begun:
            return {}
        still = {p["id"] for p in self.plantings(target_id, states=("planted", "pending"))}
        return {planting_id: time for planting_id, time in begun.items() if planting_id in still}

    def retire_plantings(self, planting_ids: list[int], time: str | None = None) -> None:
        """Mark plantings removed from their target, with one evidence event for them all.

        One statement and one event: this is a retire's last transaction, the target commits inside
        it, and the listeners' contacts wait for it (one event per planting held the store for 150 ms
        per 1,000 canaries)."""
        now = time or clock.utc_now()
        ids = list(dict.fromkeys(planting_ids))
        if not ids:
            return
        with self.transaction():
            found: dict[int, dict] = {}
            for start in range(0, len(ids), _IDS_PER_STATEMENT):
                part = ids[start:start + _IDS_PER_STATEMENT]
                found.update((row["id"], row) for row in self._rows(
                    f"SELECT id, canary_id, target_id FROM plantings WHERE id IN ({', '.join('?' * len(part))})",
                    part))
            missing = [planting_id for planting_id in ids if planting_id not in found]
            if missing:
                raise NotFound(f"no planting {missing[0]}")
            self.conn.executemany("UPDATE plantings SET state = 'retired', removed_at = ? WHERE id = ?",
                                  [(now, planting_id) for planting_id in ids])
            self.append_event("planting.retired", {
                "planting_ids": ids, "canary_ids": [found[planting_id]["canary_id"] for planting_id in ids],
                "target_ids": sorted({found[planting_id]["target_id"] for planting_id in ids})}, time=now)

    def confirm_plantings(self, target_id: int, time: str | None = None,
                          canary_ids: list[int] | None = None) -> list[int]:
        """Pending plantings (a script the DBA has now applied) count as planted from now on; only these canaries'."""
        now = time or clock.utc_now()
        canary_ids = None if canary_ids is None else set(canary_ids)
        with self.transaction():
            ids = [r["id"] for r in self._rows(
                "SELECT id, canary_id FROM plantings WHERE target_id = ? AND state = 'pending' ORDER BY id", (target_id,))
                if canary_ids is None or r["canary_id"] in canary_ids]
            # One statement for them all: this transaction is a plant's last, listeners wait for it.
            self.conn.executemany("UPDATE plantings SET state = 'planted', planted_at = ? WHERE id = ?",
                                  [(now, planting_id) for planting_id in ids])
            if ids:
                self.append_event("planting.confirmed", {"target_id": target_id, "planting_ids": ids}, time=now)
        return ids

    def record_check(self, target_id: int, result: dict) -> int:
        """Store what `check` found ({canary_id: present|missing|altered}) with its evidence event."""
        now = clock.utc_now()
        with self.transaction():
            check_id = self._insert("checks", {"target_id": target_id, "time": now,
                                               "result": json.dumps(result, sort_keys=True)})
            self.append_event("check", {"check_id": check_id, "target_id": target_id, "result": result}, time=now)
        return check_id

    def checks(self, target_id: int) -> list[dict]:
        rows = self._rows("SELECT * FROM checks WHERE target_id = ? ORDER BY id", (target_id,))
        for row in rows:
            row["result"] = json.loads(row["result"])
        return rows
