"""Cross-checking the tables against the evidence log: a row edited after the fact shows up.

The hash chain proves the log is intact; this proves the tables still say what the log
says. Each problem names the row and the event, so an examiner can look at both.
"""
from __future__ import annotations

import base64
import hashlib
import json

from .part import StorePart

_CONTACT_FIELDS = ("time", "channel", "identifier_id", "canary_id", "token_id", "source", "host")
_PLANTING_FIELDS = ("canary_id", "target_id", "planted_at", "removed_at")


def _owner(found) -> str:
    if found is None:
        return "nobody"
    canary_id, token_id = found
    return f"canary {canary_id}" if canary_id is not None else f"token id {token_id}"


class EvidenceAudit(StorePart):
    def audit_tables(self) -> list[str]:
        """Every disagreement between the registry, contacts, sightings, plantings and their evidence events."""
        return (self._audit_registry() + self._audit_contacts() + self._audit_raw_messages() + self._audit_tallies()
                + self._audit_sightings() + self._audit_plantings())

    def _audit_registry(self) -> list[str]:
        """Which canary or token owns each identifier, and which target holds each canary, decide
        every attribution: both must still be what the registration events say."""
        problems = []
        owners = {(row["kind"], row["value"]): (row["canary_id"], row["token_id"])
                  for row in self._rows("SELECT kind, value, canary_id, token_id FROM identifiers")}
        held_by: dict[tuple, list[tuple]] = {}
        for pair, owner in owners.items():
            held_by.setdefault(owner, []).append(pair)
        targets = {row["id"]: row["target_id"] for row in self._rows("SELECT id, target_id FROM canaries")}
        registered = set()
        for event in self._rows("SELECT seq, kind, payload FROM evidence WHERE kind IN "
                                "('canary.registered', 'token.issued') ORDER BY seq"):
            payload = json.loads(event["payload"])
            if event["kind"] == "canary.registered":
                owner, where = (payload["canary_id"], None), f"canary {payload['canary_id']}"
                if targets.get(payload["canary_id"], "gone") != payload.get("target_id"):
                    problems.append(f"{where} (evidence event {event['seq']}): target is "
                                    f"{targets.get(payload['canary_id'], 'gone')!r} in the table but "
                                    f"{payload.get('target_id')!r} in the evidence log")
                identifiers = [tuple(pair) for pair in payload.get("identifiers", [])]
            else:
                owner, where = (None, payload["token_id"]), f"token {payload['token']}"
                identifiers = held_by.get(owner, [])
                if not any(value == payload["value"] for _, value in identifiers):
                    problems.append(f"{where} (evidence event {event['seq']}): its value {payload['value']!r} "
                                    "no longer belongs to it in the identifiers table")
            for pair in identifiers:
                registered.add(pair)
                if owners.get(pair) != owner:
                    problems.append(f"{where} (evidence event {event['seq']}): {pair[0]} {pair[1]!r} belongs to "
                                    f"{_owner(owners.get(pair))} in the identifiers table")
        for kind, value in sorted(set(owners) - registered):
            canary_id, _ = owners[(kind, value)]
            if canary_id is not None:
                problems.append(f"{kind} {value!r}: in the identifiers table but in no registration event "
                                "(inserted afterwards?)")
        return problems

    def _audit_contacts(self) -> list[str]:
        problems, referenced = [], set()
        for row in self._rows("SELECT c.*, e.kind AS event_kind, e.payload AS event_payload FROM contacts c "
                              "LEFT JOIN evidence e ON e.seq = c.evidence_seq ORDER BY c.id"):
            referenced.add(row["evidence_seq"])
            where = f"contact {row['id']} (evidence event {row['evidence_seq']})"
            if row["event_kind"] != "contact":
                problems.append(f"{where}: the event is missing or is not a contact")
                continue
            payload = json.loads(row["event_payload"])
            for field in _CONTACT_FIELDS:
                if payload.get(field) != row[field]:
                    problems.append(f"{where}: {field} is {row[field]!r} in the table but "
                                    f"{payload.get(field)!r} in the evidence log")
            if payload.get("details") != json.loads(row["details"]):
                problems.append(f"{where}: details differ from the evidence log")
        for event in self._rows("SELECT seq FROM evidence WHERE kind = 'contact' ORDER BY seq"):
            if event["seq"] not in referenced:
                problems.append(f"evidence event {event['seq']}: a contact with no row in the contacts table "
                                "(deleted?)")
        return problems

    def _audit_raw_messages(self) -> list[str]:
        """A message is stored once, apart from its contacts: its bytes must still hash to what the
        contact's evidence event says (details.raw_stored_sha256)."""
        problems = []
        for row in self._rows("SELECT c.id, c.raw_sha256, c.details, m.raw_base64 FROM contacts c "
                              "LEFT JOIN raw_messages m ON m.sha256 = c.raw_sha256 WHERE c.raw_sha256 IS NOT NULL "
                              "ORDER BY c.id"):
            where = f"contact {row['id']}"
            if json.loads(row["details"]).get("raw_stored_sha256") != row["raw_sha256"]:
                problems.append(f"{where}: its message reference differs from its details")
            elif row["raw_base64"] is None:
                problems.append(f"{where}: its stored message {row['raw_sha256']} is missing (deleted?)")
            elif hashlib.sha256(base64.b64decode(row["raw_base64"])).hexdigest() != row["raw_sha256"]:
                problems.append(f"{where}: its stored message no longer hashes to {row['raw_sha256']} (edited?)")
        return problems

    def _audit_tallies(self) -> list[str]:
        """Contacts beyond the storage budget are counted: the counts must be the sum of the tally events."""
        expected: dict[tuple, list[int]] = {}
        for event in self._rows("SELECT payload FROM evidence WHERE kind = 'contacts.tallied' ORDER BY seq"):
            for delta in json.loads(event["payload"]).get("tallies", []):
                key = (delta["period"], delta["identifier_id"], delta["channel"], delta["source"])
                counted = expected.setdefault(key, [0, 0])
                counted[0] += delta["count"]
                counted[1] += delta["bytes"]
        problems = []
        for row in self._rows("SELECT * FROM contact_tallies"):
            key = (row["period"], row["identifier_id"], row["channel"], row["source"])
            counted = expected.pop(key, None)
            if counted != [row["count"], row["bytes"]]:
                problems.append(f"contact tally {key}: {row['count']} contacts, {row['bytes']} bytes in the table but "
                                f"{counted or [0, 0]} in the evidence log")
        for key, counted in expected.items():
            problems.append(f"contact tally {key}: {counted[0]} contacts in the evidence log, none in the table "
                            "(deleted?)")
        return problems

    def _audit_sightings(self) -> list[str]:
        problems = []
        rows = {row["id"]: row for row in self._rows("SELECT * FROM sightings")}
        listed = set()
        for event in self._rows("SELECT seq, payload FROM evidence WHERE kind = 'sighting' ORDER BY seq"):
            payload = json.loads(event["payload"])
            columns = payload.get("columns", [])
            for values in payload.get("sightings", []):
                recorded = dict(zip(columns, values))
                listed.add(recorded.get("id"))
                row = rows.get(recorded.get("id"))
                where = f"sighting {recorded.get('id')} (evidence event {event['seq']})"
                if row is None:
                    problems.append(f"{where}: in the evidence log but not in the sightings table (deleted?)")
                    continue
                for field, value in recorded.items():
                    if row.get(field) != value:
                        problems.append(f"{where}: {field} is {row.get(field)!r} in the table but "
                                        f"{value!r} in the evidence log")
        for sighting_id in sorted(set(rows) - listed):
            problems.append(f"sighting {sighting_id}: no evidence event records it (inserted afterwards?)")
        return problems

    def _audit_plantings(self) -> list[str]:
        """Each planting row against its events: `planting` (canary, target, and planted_at when
        planted at once), `planting.confirmed` (planted_at) and `planting.retired` (removed_at: one
        planting per event before, a list of them since)."""
        expected: dict[int, dict] = {}
        for event in self._rows("SELECT seq, time, kind, payload FROM evidence WHERE kind IN "
                                "('planting', 'planting.confirmed', 'planting.retired') ORDER BY seq"):
            payload = json.loads(event["payload"])
            at = (event["time"], event["seq"])
            if event["kind"] == "planting":
                state = expected.setdefault(payload["planting_id"], {})
                state.update(canary_id=(payload["canary_id"], event["seq"]),
                             target_id=(payload["target_id"], event["seq"]), recorded=event["seq"])
                if payload.get("state") == "planted":
                    state["planted_at"] = at
            elif event["kind"] == "planting.confirmed":
                for planting_id in payload.get("planting_ids", []):
                    expected.setdefault(planting_id, {})["planted_at"] = at
            else:
                for planting_id in payload.get("planting_ids", [payload.get("planting_id")]):
                    expected.setdefault(planting_id, {})["removed_at"] = at
        problems = []
        for row in self._rows("SELECT * FROM plantings ORDER BY id"):
            state = expected.pop(row["id"], {})
            if "recorded" not in state:
                problems.append(f"planting {row['id']}: no evidence event records it (inserted afterwards?)")
                continue
            for field in _PLANTING_FIELDS:
                value, seq = state.get(field, (None, state["recorded"]))
                if row[field] != value:
                    problems.append(f"planting {row['id']} (evidence event {seq}): {field} is {row[field]!r} "
                                    f"in the table but {value!r} in the evidence log")
        for planting_id, state in sorted(expected.items()):
            if "recorded" in state:
                problems.append(f"evidence event {state['recorded']}: planting {planting_id} has no row in the "
                                "plantings table (deleted?)")
        return problems
