"""Attribution and dating: which targets a file came from, how sure, and taken when.

A canary lives in one target, so k of its canaries in a file give P = 1 - p**k, where p
is the stated chance that one canary reached the file some other way. The window: after
the newest planting the file contains; before the first later planting it lacks (only
when the copy looks complete), before the removal of any canary it contains, and before
the first contact with any of its canaries' identifiers.
"""
from __future__ import annotations

import dataclasses

from ..clock import parse_time


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

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def attribute_target(site: str, target: str, found: set[int], plantings: list[dict],
                     first_contacts: dict[int, str], p: float) -> TargetAttribution:
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
    later = sorted((row for c, row in planted.items() if c not in found and taken_after is not None
                    and parse_time(row["planted_at"]) > parse_time(taken_after)),
                   key=lambda row: parse_time(row["planted_at"]))
    bounds: dict = {"newest_planting_found": taken_after}
    candidates = []
    if later:
        bounds["first_later_planting_missing"] = later[0]["planted_at"]
        if complete:
            candidates.append(later[0]["planted_at"])
        else:
            rate = len(found) / len(expected)
            chance = (1 - rate) ** len(later)
            bounds["later_plantings_missing"] = len(later)
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
        bounds["first_removal_of_a_canary_found"] = min(removals, key=parse_time)
        candidates.append(bounds["first_removal_of_a_canary_found"])
        if taken_after and parse_time(bounds["first_removal_of_a_canary_found"]) < parse_time(taken_after):
            notes.append("a canary in the file was removed before another was planted: the file mixes "
                         "copies taken at different times")
    contacts = [first_contacts[c] for c in found if c in first_contacts]
    if contacts:
        bounds["first_contact"] = min(contacts, key=parse_time)
        candidates.append(bounds["first_contact"])
    taken_before = min(candidates, key=parse_time) if candidates else None
    return TargetAttribution(site, target, len(found), len(expected), 1 - p ** len(found), p, taken_after,
                             taken_before, complete, sorted(found), missing, bounds, notes)


def _first_plantings(plantings: list[dict]) -> dict[int, dict]:
    """Each canary's first planting (with its latest removal, if every planting was removed)."""
    first: dict[int, dict] = {}
    for row in sorted(plantings, key=lambda r: parse_time(r["planted_at"])):
        if row["canary_id"] not in first:
            first[row["canary_id"]] = dict(row)
        elif first[row["canary_id"]]["removed_at"] is not None:
            first[row["canary_id"]]["removed_at"] = row["removed_at"]
    return first
