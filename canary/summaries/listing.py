"""Flat summaries of canaries and tokens, as `canary list` and the API show them."""
from __future__ import annotations

from ..store import Store


def flatten(record: dict, prefix: str = "") -> dict:
    """{'address': {'commune': 'Rennes'}} -> {'address_commune': 'Rennes'}, for CSV."""
    flat = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "_"))
        elif isinstance(value, list):
            flat[name] = " ".join(str(v) for v in value)
        else:
            flat[name] = value
    return flat


def canary_summary(canary: dict) -> dict:
    patient, found = canary["patient"], canary["identifiers"]
    return {
        "type": "canary",
        "id": canary["id"],
        "site": canary["site"],
        "target": canary["target"],
        "planted_at": canary["planted_at"],
        "removed_at": canary["removed_at"],
        "name": f"{patient['first_name']} {patient['last_name']}",
        "sex": patient["sex"],
        "birth_date": patient["birth_date"],
        "nir": (found.get("nir") or [None])[0],
        "email": (found.get("email") or [None])[0],
        "phone": (found.get("phone") or [None])[0],
        "hostnames": found.get("hostname", []),
        "url": (found.get("url") or [None])[0],
        "created_at": canary["created_at"],
    }


def canary_summaries(store: Store, target: str | None = None) -> list[dict]:
    """Canaries with their state: planted, missing (the last check did not find it), retired or registered."""
    states = store.canary_states()
    return [{**canary_summary(canary), "state": states.get(canary["id"], "registered")}
            for canary in store.canaries(target=target)]


def token_summaries(store: Store) -> list[dict]:
    return [{"type": "token", "id": token["id"], "token": token["token"], "kind": token["kind"],
             "value": token["value"], "note": token["note"], "created_at": token["created_at"]}
            for token in store.tokens()]
