"""Sites, targets, canaries, standalone tokens and the identifiers they carry."""
from __future__ import annotations

import json

from .. import clock
from .core import Conflict, NotFound
from .part import StorePart

# What a resolved identifier says about its owner: one query from a value to its site.
_RESOLVE = """
SELECT i.id AS identifier_id, i.kind, i.value, i.canary_id, i.token_id,
       t.token AS token, t.kind AS token_kind, t.note AS token_note,
       c.target_id, tg.name AS target, s.name AS site, s.id AS site_id
FROM identifiers i
LEFT JOIN tokens t ON t.id = i.token_id
LEFT JOIN canaries c ON c.id = i.canary_id
LEFT JOIN targets tg ON tg.id = c.target_id
LEFT JOIN sites s ON s.id = tg.site_id
"""


class RegistryStore(StorePart):
    # -- sites and targets -------------------------------------------------------------
    def add_site(self, name: str) -> dict:
        with self.transaction():
            site_id = self._insert_unique("sites", {"name": name, "created_at": clock.utc_now()},
                                          f"site {name!r} already exists")
            self.append_event("site.added", {"site_id": site_id, "name": name})
        return self.get_site(name)

    def get_site(self, name: str) -> dict:
        site = self._row("SELECT * FROM sites WHERE name = ?", (name,))
        if site is None:
            raise NotFound(f"no site named {name!r} (see `canary site list`)")
        return site

    def sites(self) -> list[dict]:
        return self._rows(
            "SELECT s.*, (SELECT count(*) FROM targets t WHERE t.site_id = s.id) AS targets "
            "FROM sites s ORDER BY s.name")

    def add_target(self, name: str, site: str, kind: str = "manual", location: str | None = None,
                   mapping: str | None = None, region: str | None = None) -> dict:
        with self.transaction():
            site_row = self.get_site(site)
            row = {"site_id": site_row["id"], "name": name, "kind": kind, "location": location,
                   "mapping": mapping, "region": region, "created_at": clock.utc_now()}
            row["id"] = self._insert_unique("targets", row, f"target {name!r} already exists")
            self.append_event("target.added", {"target_id": row["id"], "name": name, "site": site,
                                               "kind": kind, "location": location})
        return self.get_target(name)

    def get_target(self, name: str) -> dict:
        target = self._row(
            "SELECT t.*, s.name AS site FROM targets t JOIN sites s ON s.id = t.site_id WHERE t.name = ?",
            (name,))
        if target is None:
            raise NotFound(f"no target named {name!r} (see `canary target list`)")
        return target

    def targets(self, site: str | None = None, *, removed: bool = False) -> list[dict]:
        sql = ("SELECT t.*, s.name AS site, "
               "(SELECT count(*) FROM canaries c WHERE c.target_id = t.id) AS canaries "
               "FROM targets t JOIN sites s ON s.id = t.site_id"
               + ("" if removed else " WHERE t.removed_at IS NULL"))
        joiner = " AND " if not removed else " WHERE "
        if site is None:
            return self._rows(sql + " ORDER BY s.name, t.name")
        return self._rows(sql + joiner + "s.name = ? ORDER BY t.name", (site,))

    def update_target(self, name: str, changes: dict) -> dict:
        """Change a target's location, mapping or region; the evidence log keeps what it was."""
        with self.transaction():
            before = self.get_target(name)
            changes = {column: value for column, value in changes.items() if before[column] != value}
            if changes:
                sets = ", ".join(f"{column} = ?" for column in changes)
                self.conn.execute(f"UPDATE targets SET {sets} WHERE id = ?", (*changes.values(), before["id"]))
                self.append_event("target.changed", {
                    "target_id": before["id"], "name": name,
                    "changes": {column: {"from": before[column], "to": value} for column, value in changes.items()}})
        return {**self.get_target(name), "changed": sorted(changes)}

    def remove_target(self, name: str, retired: int) -> dict:
        """Mark a target removed: no more plants or rotations; its canaries stay registered for attribution."""
        with self.transaction():
            target = self.get_target(name)
            now = clock.utc_now()
            self.conn.execute("UPDATE targets SET removed_at = ? WHERE id = ?", (now, target["id"]))
            registered = self._row("SELECT count(*) AS n FROM canaries WHERE target_id = ?", (target["id"],))["n"]
            self.append_event("target.removed", {
                "target_id": target["id"], "name": name, "site": target["site"], "canaries_registered": registered,
                "canaries_retired_now": retired,
                "canaries": "registration kept: a copy taken before still attributes to this target"})
        return {**target, "removed_at": now, "canaries": registered}

    # -- canaries, tokens, identifiers ------------------------------------------------------
    def add_canary(self, patient: dict, label: str, identifiers: list[tuple[str, str]],
                   target_id: int | None = None) -> int:
        """Register a canary and its (kind, normalised value) identifiers; Conflict if any is taken."""
        now = clock.utc_now()
        with self.transaction():
            canary_id = self._insert_unique("canaries", {"target_id": target_id, "label": label,
                                                         "patient": json.dumps(patient, ensure_ascii=False),
                                                         "created_at": now},
                                            f"DNS label {label!r} is already used")
            self._add_identifiers(identifiers, canary_id=canary_id, now=now)
            self.append_event("canary.registered", {"canary_id": canary_id, "target_id": target_id,
                                                    "identifiers": [list(i) for i in identifiers]})
        return canary_id

    def add_token(self, token: str, kind: str, value: str, note: str | None,
                  identifiers: list[tuple[str, str]]) -> dict:
        now = clock.utc_now()
        with self.transaction():
            token_id = self._insert_unique("tokens", {"token": token, "kind": kind, "value": value,
                                                      "note": note, "created_at": now},
                                           f"token {token!r} already exists")
            self._add_identifiers(identifiers, token_id=token_id, now=now)
            self.append_event("token.issued", {"token_id": token_id, "token": token, "kind": kind,
                                               "value": value, "note": note})
        return self._row("SELECT * FROM tokens WHERE id = ?", (token_id,))

    def _add_identifiers(self, identifiers, *, now, canary_id=None, token_id=None) -> None:
        # One savepoint for them all (on PostgreSQL a savepoint costs round trips); on a duplicate,
        # find which value another canary or token holds, or this one lists twice.
        try:
            with self._lock, self.dialect.savepoint(self.conn):
                for kind, value in identifiers:
                    self._insert("identifiers", {"kind": kind, "value": value, "canary_id": canary_id,
                                                 "token_id": token_id, "created_at": now})
        except self.dialect.integrity_errors:
            seen = set()
            for kind, value in identifiers:
                holder = self._row("SELECT canary_id, token_id FROM identifiers WHERE value = ?", (value,))
                if value in seen or (holder and (holder["canary_id"], holder["token_id"]) != (canary_id, token_id)):
                    raise Conflict(f"{kind} identifier {value!r} is already registered") from None
                seen.add(value)
            raise

    def identifier_exists(self, value: str) -> bool:
        return self._row("SELECT 1 FROM identifiers WHERE value = ?", (value,)) is not None

    def identifier_values(self, kind: str) -> set[str]:
        return {row["value"] for row in self._rows("SELECT value FROM identifiers WHERE kind = ?", (kind,))}

    def resolve(self, value: str) -> dict | None:
        """The identifier with this normalised value, with its canary or token, target and site."""
        return self._row(_RESOLVE + " WHERE i.value = ?", (value,))

    def resolve_any(self, values: list[str]) -> dict | None:
        """The first of several candidate values that is an identifier (in the order given)."""
        if not values:
            return None
        marks = ", ".join("?" for _ in values)
        found = {row["value"]: row for row in self._rows(_RESOLVE + f" WHERE i.value IN ({marks})", values)}
        return next((found[v] for v in values if v in found), None)

    def all_identifiers(self) -> list[dict]:
        """Every identifier resolved to its owner: what a scan looks for."""
        return self._rows(_RESOLVE + " ORDER BY i.id")

    def get_canary(self, canary_id: int) -> dict:
        rows = self.canaries(canary_id=canary_id)
        if not rows:
            raise NotFound(f"no canary {canary_id}")
        return rows[0]

    def canaries(self, target: str | None = None, canary_id: int | None = None) -> list[dict]:
        """Canaries with their patient, identifiers grouped by kind, target, site and first planting."""
        where, params = [], []
        if target is not None:
            where.append("tg.name = ?")
            params.append(target)
        if canary_id is not None:
            where.append("c.id = ?")
            params.append(canary_id)
        sql = ("SELECT c.*, tg.name AS target, s.name AS site, "
               "(SELECT min(p.planted_at) FROM plantings p WHERE p.canary_id = c.id) AS planted_at, "
               "(SELECT max(p.removed_at) FROM plantings p WHERE p.canary_id = c.id) AS removed_at "
               "FROM canaries c LEFT JOIN targets tg ON tg.id = c.target_id "
               "LEFT JOIN sites s ON s.id = tg.site_id")
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._rows(sql + " ORDER BY c.id", params)
        by_canary: dict[int, dict] = {}
        ids = [row["id"] for row in rows]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            for ident in self._rows(f"SELECT canary_id, kind, value FROM identifiers "
                                    f"WHERE canary_id IN ({marks}) ORDER BY id", chunk):
                by_canary.setdefault(ident["canary_id"], {}).setdefault(ident["kind"], []).append(ident["value"])
        for row in rows:
            row["patient"] = json.loads(row["patient"])
            row["identifiers"] = by_canary.get(row["id"], {})
        return rows

    def tokens(self) -> list[dict]:
        return self._rows("SELECT * FROM tokens ORDER BY id")

    def get_token(self, token: str) -> dict:
        row = self._row("SELECT * FROM tokens WHERE token = ?", (token,))
        if row is None:
            raise NotFound(f"no token {token!r}")
        return row
