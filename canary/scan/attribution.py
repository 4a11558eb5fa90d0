"""Attribution and dating: which targets a file came from, how sure, and taken when.

A canary lives in one target, so k of its canaries in a file give P = 1 - p**k, where p
is the stated chance that one canary reached the file some other way.

The window is built from bounds that each name their source:
- after: the newest planting present (the copy holds that canary);
- before: the first later planting absent (only when the copy looks complete), the first
  removal of a canary present, the first contact with one of its canaries, the sighting.
The lower bound is a fact about the copy itself, so it stands. An upper bound older than it
contradicts it (a contact from an earlier copy or from elsewhere, a file mixing copies):
it is set aside, the conflict is stated, and the window comes from the consistent bounds.
So `taken_after <= taken_before` always holds.
"""
from __future__ import annotations

import dataclasses
import math

from ..clock import parse_time

# Where each bound comes from, in words for notes and reports.
SOURCES = {
    "newest_planting_present": "the newest canary the copy holds was planted",
    "first_later_planting_absent": "the first canary planted later, which the copy lacks",
    "first_removal_of_a_canary_present": "the removal of a canary the copy holds",
    "first_contact": "the first contact with one of its canaries",
    "sighting": "the copy was found by a scan",
}


@dataclasses.dataclass
class TargetAttribution:
    site: str
    target: str
    canaries_found: int
    canaries_expected: int
    probability: float
    p: float
    taken_after: str | None
    taken_before: str | None
    complete: bool
    found: list[int]
    missing: list[int]
    bounds: dict
    notes: list[str]
    taken_after_source: str | None = None
    taken_before_source: str | None = None
    conflicts: list[str] = dataclasses.field(default_factory=list)
    probability_text: str = ""
    # Per canary found: which identifiers made it count, and with which corroboration.
    evidence: list[dict] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def format_probability(probability: float, p: float, k: int) -> str:
    """1 - p**k readably: '0.990000' while six decimals tell it, then '1 - 1e-08', '1 - 1e-400'.

    The exponent comes from logarithms, so a chance too small for a float (0.01**200) is
    still written as what it is, never as '1 - 0e+00'.
    """
    if k <= 0:
        return f"{probability:.6f}"
    exponent = k * math.log10(p)
    if exponent >= math.log10(5e-7):
        return f"{probability:.6f}"
    power = math.floor(exponent)
    mantissa = round(10 ** (exponent - power), 1)
    if mantissa >= 10:
        mantissa, power = 1.0, power + 1
    return f"1 - {mantissa:g}e{power:+03d}"


def attribute_target(site: str, target: str, found: set[int], plantings: list[dict],
                     first_contacts: dict[int, str], p: float, sighted_at: str | None = None,
                     evidence: list[dict] | None = None) -> TargetAttribution:
    """Attribution of one target from the canaries found and the target's planting history."""
    planted = _first_plantings(plantings)
    notes: list[str] = []
    found_times = {c: planted[c]["planted_at"] for c in found if c in planted}
    unplanted = sorted(found - set(found_times))
    if unplanted:
        notes.append(f"canaries {unplanted} were found but have no recorded planting: they give no date")
    taken_after = max(found_times.values(), key=parse_time) if found_times else None
    expected = set(found)
    if taken_after is not None:
        moment = parse_time(taken_after)
        expected |= {c for c, row in planted.items() if parse_time(row["planted_at"]) <= moment
                     and (row["removed_at"] is None or parse_time(row["removed_at"]) > moment)}
    missing = sorted(expected - found)
    complete = not missing
    bounds: dict = {"newest_planting_present": taken_after}
    upper: list[tuple[str, str]] = []   # (source, time)
    later = sorted((row for c, row in planted.items() if c not in found and taken_after is not None
                    and parse_time(row["planted_at"]) > parse_time(taken_after)),
                   key=lambda row: parse_time(row["planted_at"]))
    if later:
        bounds["first_later_planting_absent"] = later[0]["planted_at"]
        if complete:
            upper.append(("first_later_planting_absent", later[0]["planted_at"]))
        else:
            rate = len(found) / len(expected)
            chance = (1 - rate) ** len(later)
            bounds["later_plantings_absent"] = len(later)
            bounds["chance_later_missed_by_sampling"] = chance
            notes.append(
                f"partial copy: {len(found)} of {len(expected)} expected canaries present (sampling rate "
                f"{rate:.0%}); it lacks {len(later)} canaries planted later, but a copy sampled at that rate "
                f"would miss all of them with probability {chance:.2g}, so the missing later plantings are no "
                f"firm upper bound, and the copy may be later than {taken_after}")
    elif not complete:
        notes.append(f"partial copy: {len(found)} of {len(expected)} expected canaries present")
    removals = [planted[c]["removed_at"] for c in found_times if planted[c]["removed_at"]]
    if removals:
        bounds["first_removal_of_a_canary_present"] = min(removals, key=parse_time)
        upper.append(("first_removal_of_a_canary_present", bounds["first_removal_of_a_canary_present"]))
    contacts = [first_contacts[c] for c in found if c in first_contacts]
    if contacts:
        bounds["first_contact"] = min(contacts, key=parse_time)
        upper.append(("first_contact", bounds["first_contact"]))
    if sighted_at is not None:
        bounds["sighting"] = sighted_at
        upper.append(("sighting", sighted_at))
    consistent, conflicts = _consistent(taken_after, upper)
    notes += conflicts
    before_source, taken_before = min(consistent, key=lambda b: parse_time(b[1])) if consistent else (None, None)
    probability = 1 - p ** len(found)
    return TargetAttribution(site, target, len(found), len(expected), probability, p, taken_after,
                             taken_before, complete, sorted(found), missing, bounds, notes,
                             "newest_planting_present" if taken_after else None, before_source, conflicts,
                             format_probability(probability, p, len(found)), evidence or [])


def _consistent(taken_after: str | None, upper: list[tuple[str, str]]) -> tuple[list, list[str]]:
    """The upper bounds that do not contradict the lower one, and a sentence per one that does."""
    if taken_after is None:
        return upper, []
    after = parse_time(taken_after)
    kept, conflicts = [], []
    for source, time in upper:
        if parse_time(time) >= after:
            kept.append((source, time))
            continue
        why = {"first_contact": "the identifier was contacted from an earlier copy or from elsewhere",
               "first_removal_of_a_canary_present": "the file mixes copies taken at different times"}.get(
                   source, "the records disagree")
        conflicts.append(f"conflict: {SOURCES[source]} at {time}, before the newest canary the copy holds was "
                         f"planted ({taken_after}); {why}, so this bound does not date this copy and the window "
                         "is computed without it")
    return kept, conflicts


def _first_plantings(plantings: list[dict]) -> dict[int, dict]:
    """Each canary's first planting (with its latest removal, if every planting was removed)."""
    first: dict[int, dict] = {}
    for row in sorted(plantings, key=lambda r: parse_time(r["planted_at"])):
        if row["canary_id"] not in first:
            first[row["canary_id"]] = dict(row)
        elif first[row["canary_id"]]["removed_at"] is not None:
            first[row["canary_id"]]["removed_at"] = row["removed_at"]
    return first
