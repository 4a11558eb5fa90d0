"""Scanning leaked files: read every member, match every identifier, attribute, record."""
from __future__ import annotations

import dataclasses
from collections import defaultdict

from typing import Callable

from .. import clock
from ..deployment import Deployment
from .attribution import TargetAttribution, attribute_target
from .corroboration import explain
from .index_cache import cached_engine
from .errors import ScanInputError
from .limits import ScanLimits
from .matcher import Corroboration, Hit, IdentifierIndex
from .runner import ScanProgress, scan_paths

LISTED_PER_IDENTIFIER = 100  # occurrences of one identifier in one file listed and recorded; the rest counted


@dataclasses.dataclass
class ScanResult:
    files: list[dict]
    matches: list[Hit]
    corroborations: list[Corroboration]
    uncorroborated: dict[tuple[str, int], int]
    targets: list[TargetAttribution]
    warnings: list[str]
    further_occurrences: list[dict] = dataclasses.field(default_factory=list)
    scan_id: int | None = None
    evidence_seq: int | None = None

    def as_dict(self) -> dict:
        return {
            "scan_id": self.scan_id,
            "evidence_seq": self.evidence_seq,
            "files": self.files,
            "matches": [match_dict(hit) for hit in self.matches],
            "corroborations": [dataclasses.asdict(c) for c in self.corroborations],
            # NIRs and phone numbers found without the agreement corroboration.py asks for: not counted.
            "uncorroborated_records": [{"kind": kind, "canary_id": canary_id, "records": count}
                                       for (kind, canary_id), count in sorted(self.uncorroborated.items())],
            "further_occurrences": self.further_occurrences,
            "targets": [t.as_dict() for t in self.targets],
            "warnings": self.warnings,
        }


def match_dict(hit: Hit) -> dict:
    owner = hit.owner
    return {"canary_id": owner.canary_id, "token": owner.token, "kind": owner.kind, "value": owner.value,
            "found": hit.found, "file": hit.file, "line": hit.line, "target": owner.target, "site": owner.site,
            "corroborated_by": hit.corroborated_by}


def build_index(deployment: Deployment) -> IdentifierIndex:
    """The deployment's identifiers, with the engine compiled from them (cached in the deployment)."""
    store = deployment.store
    index = IdentifierIndex(store.all_identifiers(), store.canaries())
    cached_engine(index, deployment.settings.home)
    return index


def scan_files(deployment: Deployment, paths: list[str], *, record: bool = True,
               allow_truncated: bool = False, index: IdentifierIndex | None = None, jobs: int = 1,
               progress: Callable[[ScanProgress], None] | None = None) -> ScanResult:
    """Scan files (or `-` for stdin); record a scan, its sightings and a `sighting` event.

    `jobs` worker processes share the work (the result does not depend on their number);
    `progress` is called with a ScanProgress as blocks are scanned.

    Any unreadable file raises ScanInputError before anything is written. A truncated
    archive is such an error unless `allow_truncated`, then what could be read counts.
    """
    if not paths:
        raise ScanInputError("give at least one file to scan (or - for standard input)")
    index = index or build_index(deployment)
    found = _Found()
    limits = ScanLimits.from_settings(deployment.settings)
    files, warnings, errors = scan_paths(index, paths, found, allow_truncated=allow_truncated, jobs=jobs,
                                         progress=progress, limits=limits)
    if errors:
        raise ScanInputError("; ".join(errors))
    targets = attribute(deployment, found.hits)
    result = ScanResult(files, found.hits, found.corroborations, dict(found.uncorroborated), targets, warnings,
                        found.further())
    if record:
        recorded = deployment.store.record_scan(files, {"targets": [t.as_dict() for t in targets],
                                                        "further_occurrences": result.further_occurrences,
                                                        "warnings": warnings}, _sightings(result))
        result.scan_id, result.evidence_seq = recorded["scan_id"], recorded["evidence_seq"]
    return result


class _Found:
    """Hits so far: each identifier's first LISTED_PER_IDENTIFIER occurrences in a file are
    listed and recorded, the others counted, so that a file naming one address a million times
    (a mailing list, a phishing log) keeps memory and the evidence log bounded."""

    def __init__(self):
        self.hits: list[Hit] = []
        self.corroborations: list[Corroboration] = []
        self.uncorroborated: dict[tuple[str, int], int] = defaultdict(int)
        self.occurrences: dict[tuple, int] = defaultdict(int)
        self.first: dict[tuple, Hit | Corroboration] = {}

    def add(self, result) -> None:
        for hit in result.hits:
            if self._listed((hit.owner.identifier_id, hit.file), hit):
                self.hits.append(hit)
        for corroboration in result.corroborations:
            if self._listed(("corroboration", corroboration.canary_id, corroboration.file), corroboration):
                self.corroborations.append(corroboration)
        for key, count in result.uncorroborated.items():
            self.uncorroborated[key] += count

    def merge(self, other: "_Found") -> None:
        """Add what a worker found in later files, as if it had been found here, in order."""
        self.add(other)
        for key, count in other.occurrences.items():   # occurrences counted there but not listed
            self.occurrences[key] += count - min(count, LISTED_PER_IDENTIFIER)
            self.first.setdefault(key, other.first[key])

    def _listed(self, key: tuple, found) -> bool:
        self.occurrences[key] += 1
        self.first.setdefault(key, found)
        return self.occurrences[key] <= LISTED_PER_IDENTIFIER

    def further(self) -> list[dict]:
        """What was counted but not listed: per identifier and file, how often it occurs."""
        rows = []
        for key, count in self.occurrences.items():
            if count <= LISTED_PER_IDENTIFIER:
                continue
            found = self.first[key]
            if isinstance(found, Hit):
                owner = found.owner
                row = {"kind": owner.kind, "value": owner.value, "canary_id": owner.canary_id, "token": owner.token}
            else:
                row = {"kind": "corroboration", "value": "name+birth_date", "canary_id": found.canary_id,
                       "token": None}
            rows.append({**row, "file": found.file, "occurrences": count, "listed": LISTED_PER_IDENTIFIER})
        return rows


def counted_canaries(hits: list[Hit]) -> dict[tuple[str, str], set[int]]:
    """Canaries found, per (site, target); the matcher already dropped NIRs and phones it could not
    corroborate (corroboration.py), so every hit here counts."""
    by_target: dict[tuple[str, str], set[int]] = defaultdict(set)
    for hit in hits:
        owner = hit.owner
        if owner.canary_id is None or owner.target is None:
            continue
        by_target[(owner.site, owner.target)].add(owner.canary_id)
    return by_target


def attribute(deployment: Deployment, hits: list[Hit]) -> list[TargetAttribution]:
    store = deployment.store
    p = attribution_p(deployment)
    by_target = counted_canaries(hits)
    if not by_target:
        return []
    target_ids = {row["name"]: row["id"] for row in store.targets()}
    history = store.planting_history(target_ids=[target_ids[t] for _, t in by_target])
    contacts = store.first_contact_times(sorted({c for found in by_target.values() for c in found}))
    evidence = counted_by(hits)
    now = clock.utc_now()
    results = []
    for (site, target), found in sorted(by_target.items()):
        plantings = [row for row in history if row["target"] == target]
        results.append(attribute_target(site, target, found, plantings, contacts, p, sighted_at=now,
                                        evidence=[evidence[c] for c in sorted(found)]))
    return results


def counted_by(hits: list[Hit]) -> dict[int, dict]:
    """Per canary: each identifier that made it count, how (alone or with which agreement), where first,
    and in how many listed records."""
    per_canary: dict[int, dict[tuple, dict]] = defaultdict(dict)
    for hit in hits:
        owner = hit.owner
        if owner.canary_id is None:
            continue
        key = (owner.identifier_id, hit.corroborated_by)
        row = per_canary[owner.canary_id].get(key)
        if row is None:
            per_canary[owner.canary_id][key] = {
                "kind": owner.kind, "value": owner.value, "corroborated_by": hit.corroborated_by,
                "why": explain(hit.corroborated_by), "first_file": hit.file, "first_line": hit.line, "records": 1}
        else:
            row["records"] += 1
    return {canary_id: {"canary_id": canary_id, "identifiers": list(rows.values())}
            for canary_id, rows in per_canary.items()}


def attribution_p(deployment: Deployment) -> float:
    """attribution.p from the settings: a probability, or a one-line error."""
    try:
        p = float(deployment.settings["attribution"]["p"])
    except (TypeError, ValueError):
        p = -1.0
    if not 0 < p < 1:
        raise ValueError(f"attribution.p must be a probability between 0 and 1, not "
                         f"{deployment.settings['attribution']['p']!r}")
    return p


def _sightings(result: ScanResult) -> list[dict]:
    sha = {}
    for file in result.files:
        for member in file["members"]:
            sha[member["name"]] = file["sha256"]
    def sha_of(label):  # xlsx labels carry [sheet]
        return sha.get(label) or next((v for k, v in sha.items() if label.startswith(k)), "")
    rows = [{"canary_id": h.owner.canary_id, "token_id": h.owner.token_id, "identifier_id": h.owner.identifier_id,
             "kind": h.owner.kind, "value": h.owner.value, "file": h.file, "file_sha256": sha_of(h.file),
             "line": h.line} for h in result.matches]
    rows += [{"canary_id": c.canary_id, "kind": "corroboration", "value": "name+birth_date", "file": c.file,
              "file_sha256": sha_of(c.file), "line": c.line} for c in result.corroborations]
    return rows
