"""Contacts ("hits") as `canary hits` and the API show them."""
from __future__ import annotations

from .. import clock
from ..display import visible
from ..store import Store


def hit_summary(contact: dict, notes: dict | None = None) -> dict:
    """A contact as `canary hits` lists it; `notes` maps a token to the note it was issued with."""
    return {
        "id": contact["id"],
        "time": contact["time"],
        "channel": contact["channel"],
        "identifier": contact["identifier"],
        "identifier_kind": contact["identifier_kind"],
        "canary_id": contact["canary_id"],
        "token": contact["token"],
        "note": (notes or {}).get(contact["token"]) if contact["token"] else None,
        "site": contact["site"],
        "target": contact["target"],
        "source": contact["source"],
        "details": contact["details"],
        "evidence_seq": contact["evidence_seq"],
    }


def one_line(text) -> str:
    """Attacker text made safe for one line of a log or a table: no line breaks, no terminal escapes."""
    return visible(str(text).replace("\n", "\\n").replace("\t", "\\t"), None)


def hits(store: Store, since: str | None = None) -> list[dict]:
    """Contacts, oldest first; `since` is any ISO 8601 time (naive means UTC)."""
    since = clock.format_time(clock.parse_time(since)) if since else None
    notes = {token["token"]: token["note"] for token in store.tokens()}
    return [hit_summary(contact, notes) for contact in store.contacts(since=since)]
