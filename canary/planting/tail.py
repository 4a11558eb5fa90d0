"""The host's long tail, as canaries hold it: invented values shared by groups of the host's sizes.

A value the host's patients share with fewer than k others never enters the model (it could
point at a real person). Giving each canary that falls in that tail a value of its own would
make a canary's value either common or unique, while the host's rare values are shared by 1,
2, ... k-1 patients: a thief counting how many patients share a surname, a street, a first
name would see the difference. So a canary in the tail gets an invented value (from the
generic reference lists, never one the host holds) that a group of canaries holds, and the
groups' sizes follow the host's frequency-of-frequency profile (`sharing` in the model: how
many patients share their value with how many others, an aggregate).

The state is read at plant time and never kept: how often each value occurs in the target
(its patients and the canaries already there), and which values this target's canaries hold.
A value only canaries hold is one of ours; its count in the target is its group's size.
"""
from __future__ import annotations

import collections
import math
import random

from .model import fold, split_street

# Canary field -> what a value is grouped with (a rare first name is shared by people of one sex,
# a rare street by neighbours of one commune).
FIELDS = ("first_name", "last_name", "birth_name", "street", "insurer", "comment")
_INVENT_ATTEMPTS = 30


def field_values(field: str, patient: dict) -> tuple[str | None, str]:
    """(the canary's value of `field`, its group's context) as a patient dict holds them."""
    if field == "street":
        line = (patient.get("address") or {}).get("line1")
        commune = (patient.get("address") or {}).get("commune")
        return (split_street(line)[2] if line else None), fold(commune or "")
    context = (patient.get("sex") or "") if field == "first_name" else ""
    return patient.get(field), context


# The canary field each tail field is read from in the target's columns.
_SOURCES = {"first_name": "first_name", "last_name": "last_name", "birth_name": "birth_name",
            "street": "address.line1", "insurer": "insurer", "comment": "comment"}


def target_counts(host, mapping) -> dict[str, collections.Counter]:
    """How many rows of the target (its patients and the canaries in it) hold each value of the tail fields,
    folded: read at plant time, kept in memory only (it holds the host's rare values)."""
    counts = {field: collections.Counter() for field in FIELDS}
    for table, column, spec in mapping.fields():
        field = next((name for name, source in _SOURCES.items() if source == spec.argument), None)
        if field is None:
            continue
        for value in host.values(table, column):
            if value in (None, ""):
                continue
            counts[field][fold(split_street(str(value))[2] if field == "street" else value)] += 1
    return counts


class LongTail:
    """Tail values for the canaries of one plant: `counts` (field -> Counter of folded values in the target),
    `canaries` (the target's canaries' patient dicts, already planted)."""

    def __init__(self, counts: dict[str, collections.Counter] | None = None, canaries: list[dict] = ()):
        self.counts = {field: collections.Counter(counts.get(field, ())) for field in FIELDS} if counts else \
            {field: collections.Counter() for field in FIELDS}
        ours: dict[str, collections.Counter] = {field: collections.Counter() for field in FIELDS}
        context: dict[str, dict[str, str]] = {field: {} for field in FIELDS}
        for patient in canaries:
            for field in FIELDS:
                value, where = field_values(field, patient)
                if value:
                    ours[field][fold(value)] += 1
                    context[field].setdefault(fold(value), where)
        # Our groups: values only our canaries hold in the target (a host patient registered since with the
        # same name makes it the host's too: never joined again).
        self.groups: dict[str, dict[str, list]] = {field: {} for field in FIELDS}
        self.spelled: dict[str, dict[str, str]] = {field: {} for field in FIELDS}
        for patient in canaries:
            for field in FIELDS:
                value, _ = field_values(field, patient)
                if value:
                    self.spelled[field].setdefault(fold(value), value)
        for field in FIELDS:
            for value, mine in sorted(ours[field].items()):
                held = self.counts[field].get(value, 0)
                if held and held == mine:
                    self.groups[field][value] = [held, context[field][value]]

    def value(self, field: str, learnt: dict | None, rng: random.Random, invent, context: str = "") -> str | None:
        """A value for a canary whose draw fell in the host's tail of `field`: one a group of our canaries in the
        same `context` holds (that group grows by one), or a new one from `invent()`, whichever keeps our groups'
        sizes closest to the host's profile. None (the caller takes a value the host's patients share) when
        neither will do: a new value would be one more canary alone with its value than the host's share of
        lone values allows (a host whose rare first names are all shared by 3 or 4 has no lone one; a canary
        alone with its own would be the only one in the copy)."""
        profile = _profile(learnt)
        groups = self.groups[field]
        joinable = collections.defaultdict(list)
        for value, (size, where) in groups.items():
            if where == context and size + 1 in profile:
                joinable[size].append(value)
        held = collections.Counter()
        for size, _ in groups.values():
            held[size] += size
        total = sum(held.values()) + 1
        options = [(_distance(held, profile, total, 0), 0)] if held[1] + 1 <= math.ceil(
            profile.get(1, 0.0) * total - 1e-9) else []
        options += [(_distance(held, profile, total, size), size) for size in sorted(joinable)]
        if not options:
            return None
        best = min(cost for cost, _ in options)
        size = rng.choice([size for cost, size in options if cost <= best + 1e-12])
        if size:
            chosen = rng.choice(sorted(joinable[size]))
            groups[chosen][0] += 1
            self.counts[field][chosen] += 1
            return self.spelled[field][chosen]
        return self._new(field, invent, context)

    def _new(self, field: str, invent, context: str) -> str | None:
        value = invent()
        if value is None:
            return None
        for _ in range(_INVENT_ATTEMPTS):
            if not self._taken(field, fold(value)):
                break
            value = invent()
        folded = fold(value)
        if not self._taken(field, folded):
            self.groups[field][folded] = [1, context]
            self.spelled[field][folded] = value
        self.counts[field][folded] += 1
        return value

    def _taken(self, field: str, folded: str) -> bool:
        """Whether anyone in the target holds it already (surnames: as a usage or a birth name)."""
        fields = ("last_name", "birth_name") if field in ("last_name", "birth_name") else (field,)
        return any(self.counts[name].get(folded) for name in fields)


def _profile(learnt: dict | None) -> dict[int, float]:
    """{group size: share of the tail's patients in groups of that size}; a tail of lone values without one."""
    sharing = (learnt or {}).get("sharing") or [[1, 1]]
    total = sum(patients for _, patients in sharing)
    return {int(size): patients / total for size, patients in sharing if patients} if total else {1: 1.0}


def _distance(held: collections.Counter, profile: dict[int, float], total: int, joined: int) -> float:
    """How far our groups' profile would be from the host's after one more canary (joining a group of size
    `joined`, or a new group when 0): squared distance, in patients."""
    after = collections.Counter(held)
    if joined:
        after[joined] -= joined
        after[joined + 1] += joined + 1
    else:
        after[1] += 1
    return sum((after.get(size, 0) - share * total) ** 2 for size, share in
               ((size, profile.get(size, 0.0)) for size in set(profile) | set(after)))
