"""The canary's fields as a mapping names them: the generated patient, plus what a LIS derives from it.

This is the one interface between "the canary patient to write" (a dict from the generator,
whatever model drew it) and "how rows are written": rows.py reads fields only through
`field_values`, so a new generator only has to produce the patient dict.
"""
from __future__ import annotations

import functools
import re

from ..generation.refdata.departments import DEPARTMENTS

_DEPARTMENT_NAMES = {code: name for code, name, _ in DEPARTMENTS}
_STREET_NUMBER = re.compile(r"^(\d+(?: ?(?:bis|ter|quater))?)\s+(.*)$", re.IGNORECASE)
# What a LIS stores beside the generator's own fields, each computed from them.
DERIVED = {
    "civility": "M. or Mme (from sex)",
    "sex_code": "1 or 2, as in the NIR",
    "nir_base": "the NIR's 13 digits without the key",
    "nir_key": "the NIR's 2-digit key",
    "birth_year": "year of birth_date",
    "address.department_name": "e.g. Ille-et-Vilaine",
    "address.country": "France",
    "address.country_code": "FR",
    "address.street_number": "18 (or 18 bis) from line1, empty when line1 has no number",
    "address.street": "line1 without its number",
    "birth_place.department_name": "name of the birth département (empty when born abroad)",
}


def field_values(patient: dict) -> dict:
    """Every field of a canary under its dotted path ('last_name', 'address.postal_code', 'nir_key', ...)."""
    flat: dict = {}

    def walk(record: dict, prefix: str = "") -> None:
        for key, value in record.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                flat[f"{prefix}{key}"] = value
    walk(patient)
    sex = patient.get("sex")
    flat.setdefault("civility", {"F": "Mme", "M": "M."}.get(sex))
    flat.setdefault("sex_code", {"F": "2", "M": "1"}.get(sex))
    nir = patient.get("nir") or ""
    flat.setdefault("nir_base", nir[:13] or None)
    flat.setdefault("nir_key", nir[13:] or None)
    flat.setdefault("birth_year", int(patient["birth_date"][:4]) if patient.get("birth_date") else None)
    address = patient.get("address") or {}
    flat.setdefault("address.department_name", _DEPARTMENT_NAMES.get(address.get("department")))
    flat.setdefault("address.country", "France")
    flat.setdefault("address.country_code", "FR")
    number = _STREET_NUMBER.match(address.get("line1") or "")
    flat.setdefault("address.street_number", number.group(1) if number else None)
    flat.setdefault("address.street", number.group(2) if number else address.get("line1"))
    place = patient.get("birth_place") or {}
    flat.setdefault("birth_place.department_name", _DEPARTMENT_NAMES.get(place.get("department")))
    return flat


@functools.cache
def canary_fields() -> tuple[str, ...]:
    """The dotted paths a mapping may name with `field = ...`."""
    import random

    from ..generation.patients import generate_patient
    return tuple(sorted(field_values(generate_patient(random.Random(0)))))
