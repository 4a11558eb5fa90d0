"""What makes a found identifier count as its canary: corroboration by kind.

Identifiers nobody else can hold count alone: a random DNS label under our zones, an
address on our mail domains or mailboxes, a URL on our hosts. A NIR or a phone number is a
value a real person may hold too (a stranger born the same month in the same place, or
given a fiction-range number), so it counts only in a record that also holds the canary's
own patient data, chosen so that the agreement is independent of the value itself:

- NIR: the canary's last name (or birth name) AND its first name. Not the birth date: the
  NIR already spells the birth year and month, so a stranger holding it shares them.
- phone: the canary's last name (or birth name) AND its first name AND its birth date.
  Fiction-range numbers are drawn by every generator and test data set; on 491,840
  generated rows a canary's number beside a stranger with the same first and last name
  did occur, so the name alone is not enough.

Name and birth date alone (no identifier) are corroboration the report lists, never proof.
The matcher finds values and hands each weak one here with its record; nothing else decides.
"""
from __future__ import annotations

ALONE = frozenset({"hostname", "url", "email"})
AGREEMENT = {"nir": "last_name+first_name", "phone": "last_name+first_name+birth_date"}
EXPLAINED = {
    None: "an identifier nobody else can hold (our DNS label, mail domain or URL): counts alone",
    "last_name+first_name": "with the canary's last name and first name in the same record",
    "last_name+first_name+birth_date": "with the canary's last name, first name and birth date in the same record",
}


def needs_agreement(kind: str, canary_id: int | None) -> bool:
    """True for a canary's NIR or phone: found alone, they prove nothing."""
    return canary_id is not None and kind in AGREEMENT


def agreement(kind: str, person, text: str, born_in_record: bool) -> str | None:
    """The agreement that makes a weak identifier count in this record, or None.

    person: the canary's matcher.Person (None when its patient data is unknown, so nothing
    can agree); text: the record folded (matcher.fold); born_in_record: its birth date is
    written in the record in any form.
    """
    if person is None or not person.named_in(text):
        return None
    if kind == "phone" and not born_in_record:
        return None
    return AGREEMENT[kind]


def explain(corroborated_by: str | None) -> str:
    """One sentence for the report: why this identifier made its canary count."""
    return EXPLAINED.get(corroborated_by, corroborated_by or "")
