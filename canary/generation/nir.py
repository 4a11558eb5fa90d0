"""The French NIR (numéro de sécurité sociale): layout, control key, parsing.

Layout, 15 characters: sex (1), year (2), month (2), birthplace (5), order (3), key (2).
The birthplace is the INSEE code of the birth commune: a two-character department
(01-95, 2A/2B, or 20 for Corsica before 1976) and a three-digit commune, or an
overseas department 971-976 and a two-digit commune, or 99 and the INSEE code of
the country of birth. The key is 97 - (the first 13 as a number) mod 97, where
Corsica's 2A counts as 19 and 2B as 18.
"""
from __future__ import annotations

import datetime
import re

SEX_DIGITS = {"M": "1", "F": "2"}
# 3/4 and 7/8 are the temporary numbers of people registered from abroad.
_SEX_OF_DIGIT = {"1": "M", "2": "F", "3": "M", "4": "F", "7": "M", "8": "F"}
_CORSICA_AS_DIGITS = {"2A": "19", "2B": "18"}
_SEPARATORS = re.compile(r"[\s.\-_]+")
_SHAPE = re.compile(r"[123478]\d{4}(?:\d{2}|2A|2B)\d{6}(?:\d{2})?")
OVERSEAS_DEPARTMENTS = ("971", "972", "973", "974", "975", "976")


def nir_key(first13: str) -> int:
    """The two-digit control key of the first 13 characters of a NIR."""
    head = first13.upper()
    if len(head) != 13:
        raise ValueError(f"a NIR without its key has 13 characters, not {len(head)}: {first13!r}")
    digits = head[:5] + _CORSICA_AS_DIGITS.get(head[5:7], head[5:7]) + head[7:]
    if not digits.isdigit():
        raise ValueError(f"not a NIR: {first13!r}")
    return 97 - int(digits) % 97


def make_nir(sex: str, birth_date: datetime.date, department: str, commune_code: str, order: int | str) -> str:
    """The 15-character NIR of someone born on `birth_date` in `department`/`commune_code`."""
    if sex not in SEX_DIGITS:
        raise ValueError(f"sex must be 'M' or 'F', not {sex!r}")
    department = department.upper()
    commune_code = str(commune_code)
    if department in OVERSEAS_DEPARTMENTS:
        commune_width = 2
    elif re.fullmatch(r"\d\d|2A|2B", department) and department != "00":
        commune_width = 3
    else:
        raise ValueError(f"not a birth department for a NIR: {department!r}")
    if not (commune_code.isdigit() and len(commune_code) == commune_width):
        raise ValueError(f"department {department} needs a {commune_width}-digit commune code, not {commune_code!r}")
    order = int(order)
    if not 1 <= order <= 999:
        raise ValueError(f"the order number is 001-999, not {order}")
    head = f"{SEX_DIGITS[sex]}{birth_date.year % 100:02d}{birth_date.month:02d}{department}{commune_code}{order:03d}"
    return f"{head}{nir_key(head):02d}"


def normalise_nir(text: str) -> str | None:
    """The bare 15-character NIR in `text` (spaces, dots, dashes dropped; key added if missing), or None."""
    if not isinstance(text, str):
        return None
    bare = _SEPARATORS.sub("", text).upper()
    if not _SHAPE.fullmatch(bare):
        return None
    if len(bare) == 13:
        return f"{bare}{nir_key(bare):02d}"
    return bare


def is_valid_nir(text: str) -> bool:
    """True if `text` is a well-formed 15-character NIR whose key is right (separators allowed)."""
    if not isinstance(text, str):
        return False
    bare = _SEPARATORS.sub("", text).upper()
    if len(bare) != 15 or not _SHAPE.fullmatch(bare):
        return False
    month = int(bare[3:5])
    # 20, 30-42 and 50-99 stand for an unknown month; 00, 13-19 and 21-29 never occur.
    if not (1 <= month <= 12 or month == 20 or 30 <= month <= 42 or month >= 50):
        return False
    return nir_key(bare[:13]) == int(bare[13:])


def parse_nir(nir: str) -> dict:
    """The fields of a NIR: sex, year (two digits), month, department, commune, insee, order, key."""
    bare = normalise_nir(nir)
    if bare is None:
        raise ValueError(f"not a NIR: {nir!r}")
    department = bare[5:8] if bare[5:7] == "97" else bare[5:7]
    commune = bare[5 + len(department):10]
    return {
        "sex": _SEX_OF_DIGIT[bare[0]],
        "year": int(bare[1:3]),
        "month": int(bare[3:5]),
        "department": department,
        "commune": commune,
        "insee": bare[5:10],
        "order": int(bare[10:13]),
        "key": int(bare[13:15]),
    }
