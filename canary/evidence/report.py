"""Investigation reports: plantings, contacts, sightings, date windows, chain check, signed.

`build_report` gathers the facts as one dict (the JSON format); Markdown and HTML are
renderings of it. Every contact field is attacker-controlled: the HTML template escapes
everything, and Markdown cells are escaped too.
"""
from __future__ import annotations

import dataclasses
import json
from collections import defaultdict

import jinja2

from .. import clock
from ..display import detail_items, visible
from ..deployment import Deployment
from .. import signing_keys, timestamping
from .signing import Signer, sign_json, sign_text, verification_steps
from ..scan.attribution import SOURCES, attribute_target, format_probability
from ..scan.scan import attribution_p
from ..store import NotFound
from .verification import verify_store

FORMATS = ("md", "html", "json")
MAX_LISTED_CONTACTS = 1000  # per report in Markdown/HTML; the JSON format lists them all


def build_report(deployment: Deployment, *, site: str | None = None, target: str | None = None,
                 canary_id: int | None = None) -> dict:
    """Everything the evidence says about a site, a target, a canary, or the whole deployment."""
    store = deployment.store
    if site is not None:
        store.get_site(site)
    if target is not None:
        store.get_target(target)
    canaries = store.canaries(target=target, canary_id=canary_id)
    if canary_id is not None and not canaries:
        raise NotFound(f"no canary {canary_id}")
    if site is not None:
        canaries = [c for c in canaries if c["site"] == site]
    ids = [c["id"] for c in canaries]
    plantings = store.planting_history(canary_ids=ids)
    contacts = [c for c in store.contacts(site=site, target=target, canary_id=canary_id)
                if c["canary_id"] in set(ids)]
    sightings = store.sightings(canary_ids=ids)
    scans = {scan["id"]: scan for scan in store.scans() if scan["id"] in {s["scan_id"] for s in sightings}}
    verification = verify_store(store)
    return {
        "title": _title(site, target, canary_id),
        "deployment": deployment.settings["deployment"]["name"],
        "generated_at": clock.utc_now(),
        "scope": {"site": site, "target": target, "canary": canary_id},
        "canaries": [_canary_summary(c) for c in canaries],
        "plantings": [{k: row[k] for k in ("id", "canary_id", "site", "target", "state", "planted_at",
                                           "removed_at")} for row in plantings],
        "contacts": [{k: row[k] for k in ("id", "time", "channel", "identifier", "identifier_kind", "canary_id",
                                          "site", "target", "source", "details", "evidence_seq")}
                     for row in contacts],
        "scans": [{"id": s["id"], "time": s["time"], "files": s["files"]} for s in scans.values()],
        "sightings": [{k: row[k] for k in ("id", "scan_id", "time", "canary_id", "site", "target", "kind", "value",
                                           "file", "file_sha256", "line")} for row in sightings],
        "windows": _windows(deployment, sightings, contacts),
        "evidence": verification.as_dict(),
        "verification": _verification(deployment),
    }


def _verification(deployment: Deployment) -> dict:
    """What a third party needs to check the report: the public key, and who timestamps it."""
    public = deployment.signing_key().public_key()
    return {"algorithm": "ed25519", "public_key": signing_keys.public_pem(public),
            "fingerprint": signing_keys.fingerprint(public),
            "timestamping_authority": deployment.settings["timestamping"]["url"] or None}


def report_signer(deployment: Deployment, timestamp: bool = True) -> Signer:
    """The deployment's key, and its TSA unless none is configured or `timestamp` is False."""
    settings = deployment.settings
    stamper = (lambda data: timestamping.stamp(settings, data)) if timestamp and settings["timestamping"]["url"] \
        else None
    return Signer(deployment.signing_key(), stamper)


def _title(site, target, canary_id) -> str:
    if canary_id is not None:
        return f"Investigation report: canary {canary_id}"
    if target is not None:
        return f"Investigation report: target {target}"
    if site is not None:
        return f"Investigation report: site {site}"
    return "Investigation report: whole deployment"


def _canary_summary(canary: dict) -> dict:
    patient = canary["patient"]
    return {"id": canary["id"], "site": canary["site"], "target": canary["target"],
            "name": f"{patient.get('first_name', '')} {patient.get('last_name', '')}".strip(),
            "birth_date": patient.get("birth_date"), "planted_at": canary["planted_at"],
            "removed_at": canary["removed_at"], "identifiers": canary["identifiers"]}


def _windows(deployment, sightings, contacts) -> list[dict]:
    """Per copy found (target and files), when it was taken, recomputed with today's contacts.

    Scanning the same file again finds the same copy: one window, with every scan listed.
    """
    p = attribution_p(deployment)
    first_contacts: dict[int, str] = {}
    for contact in contacts:
        first_contacts.setdefault(contact["canary_id"], contact["time"])
    found: dict[tuple, set[int]] = defaultdict(set)
    files: dict[tuple, set[str]] = defaultdict(set)
    for sighting in sightings:
        if sighting["kind"] != "corroboration" and sighting["target"]:
            key = (sighting["scan_id"], sighting["site"], sighting["target"])
            found[key].add(sighting["canary_id"])
            files[key].add(sighting["file_sha256"])
    copies: dict[tuple, list[int]] = defaultdict(list)
    sighted: dict[int, str] = {}
    for sighting in sightings:
        sighted.setdefault(sighting["scan_id"], sighting["time"])
    for (scan_id, site, target), canaries in sorted(found.items()):
        copies[(site, target, frozenset(canaries), frozenset(files[(scan_id, site, target)]))].append(scan_id)
    all_plantings = deployment.store.planting_history()
    windows = []
    for (site, target, canaries, _), scan_ids in copies.items():
        history = [row for row in all_plantings if row["target"] == target]
        attribution = attribute_target(site, target, set(canaries), history, first_contacts, p,
                                       sighted_at=sighted[scan_ids[0]])
        windows.append({"scan_id": scan_ids[0], "scan_ids": scan_ids, **dataclasses.asdict(attribution)})
    return sorted(windows, key=lambda w: (w["scan_id"], w["site"], w["target"]))


def timeline(report: dict) -> list[dict]:
    """The report's facts in time order: what a reader follows."""
    names = {c["id"]: c["name"] for c in report["canaries"]}
    entries = []
    for row in report["plantings"]:
        who = f"canary {row['canary_id']} ({names.get(row['canary_id'], '?')})"
        entries.append({"time": row["planted_at"], "kind": "planting",
                        "text": f"{who} planted in {row['site']} / {row['target']}"})
        if row["removed_at"]:
            entries.append({"time": row["removed_at"], "kind": "removal",
                            "text": f"{who} removed from {row['site']} / {row['target']}"})
    for row in report["contacts"][:MAX_LISTED_CONTACTS]:
        entries.append({"time": row["time"], "kind": "contact",
                        "text": f"{row['channel']} contact with {row['identifier']} (canary {row['canary_id']}, "
                                f"{row['site']} / {row['target']}) from {row['source'] or 'unknown source'}",
                        "details": row["details"]})
    by_scan: dict[int, list[dict]] = defaultdict(list)
    for row in report["sightings"]:
        by_scan[row["scan_id"]].append(row)
    for scan in report["scans"]:
        files = ", ".join(f"{f['path']} (sha256 {f['sha256']})" for f in scan["files"])
        canaries = sorted({s["canary_id"] for s in by_scan[scan["id"]] if s["kind"] != "corroboration"})
        entries.append({"time": scan["time"], "kind": "sighting",
                        "text": f"scan {scan['id']} of {files} found canaries {canaries}"})
    entries += _window_entries(report["windows"])
    return sorted(entries, key=lambda e: clock.parse_time(e["time"]))


def _scans(scan_ids: list[int]) -> str:
    return f"scan {scan_ids[0]}" if len(scan_ids) == 1 else f"scans {', '.join(map(str, scan_ids))}"


def _window_entries(windows: list[dict]) -> list[dict]:
    """The date window as two moments on the timeline, each saying why."""
    entries = []
    for window in windows:
        copy = f"the copy of {window['site']} / {window['target']} found by {_scans(window['scan_ids'])}"
        if window["taken_after"]:
            entries.append({"time": window["taken_after"], "kind": "window",
                            "text": f"{copy} was taken after this moment (the newest canary it holds was "
                                    "planted)"})
        if window["taken_before"]:
            reason = SOURCES.get(window["taken_before_source"], "a later event")
            entries.append({"time": window["taken_before"], "kind": "window",
                            "text": f"{copy} was taken before this moment ({reason})"})
    return entries


_ENVIRONMENT = jinja2.Environment(loader=jinja2.PackageLoader("canary", "templates"),
                                  autoescape=True, undefined=jinja2.StrictUndefined)
# Contact details are attacker text: shown as escaped fields (a stored email decoded), never as markup.
_ENVIRONMENT.filters["visible"] = visible
_ENVIRONMENT.globals["detail_items"] = detail_items


def render(report: dict, fmt: str, signer: Signer) -> str:
    """The report in md, html or json, signed with the deployment's key (and timestamped)."""
    if fmt == "json":
        return sign_json(report, signer)
    steps = verification_steps(f"report.{fmt}", report["verification"]["fingerprint"])
    context = {"r": report, "timeline": timeline(report), "max_contacts": MAX_LISTED_CONTACTS,
               "probability": format_probability, "steps": steps}
    if fmt == "html":
        return sign_text(_ENVIRONMENT.get_template("investigation_report.html").render(**context), signer)
    if fmt == "md":
        return sign_text(_markdown(report, context["timeline"], steps), signer)
    raise ValueError(f"unknown report format {fmt!r} (one of {', '.join(FORMATS)})")


def _cell(value) -> str:
    """A Markdown table cell that cannot break the table or inject markup."""
    text = "" if value is None else str(value)
    for char in "\\|`*_[]<>#":
        text = text.replace(char, "\\" + char)
    return " ".join(text.split())


def _markdown(report: dict, entries: list[dict], steps: list[tuple[str, str]]) -> str:
    out = [f"# {_cell(report['title'])}", "",
           f"Deployment {_cell(report['deployment'])}, generated {report['generated_at']} (UTC).", ""]
    evidence = report["evidence"]
    out += ["## Evidence log", "",
            (f"Intact: {evidence['events']} events; the hash chain and the tables agree. Head of the chain when "
             f"this report was signed: `{evidence['head']}` (check it later with "
             f"`canary evidence verify --anchor {evidence['head']}`)." if evidence["ok"] else
             f"**BROKEN** at event {evidence['broken_at']}: {_cell(evidence['reason'])} "
             + " ".join(_cell(p) for p in evidence["table_problems"])), ""]
    out += ["## When the copies were taken", ""]
    if not report["windows"]:
        out += ["No sighting in a leaked file yet.", ""]
    for window in report["windows"]:
        out += [f"- {_cell(window['site'])} / {_cell(window['target'])} ({_scans(window['scan_ids'])}): "
                f"{window['canaries_found']} of {window['canaries_expected']} expected canaries, "
                f"P(source) = {format_probability(window['probability'], window['p'], window['canaries_found'])} "
                f"(p = {window['p']}); taken after "
                f"{window['taken_after'] or 'unknown'} and before {window['taken_before'] or 'unknown'}"
                + ("" if window["complete"] else " (partial copy)")]
        out += [f"  - {_cell(note)}" for note in window["notes"]]
    out += ["", "## Timeline", "", "| time (UTC) | event | what |", "|---|---|---|"]
    out += [f"| {e['time']} | {e['kind']} | {_cell(e['text'])} |" for e in entries]
    out += ["", "## Canaries", "", "| id | site | target | name | born | planted | removed |",
            "|---|---|---|---|---|---|---|"]
    out += [f"| {c['id']} | {_cell(c['site'])} | {_cell(c['target'])} | {_cell(c['name'])} | {c['birth_date']} | "
            f"{c['planted_at'] or ''} | {c['removed_at'] or ''} |" for c in report["canaries"]]
    out += ["", f"## Contacts ({len(report['contacts'])})", "",
            "| time (UTC) | channel | identifier | source | details | evidence event |", "|---|---|---|---|---|---|"]
    out += [f"| {c['time']} | {_cell(c['channel'])} | {_cell(c['identifier'])} | {_cell(c['source'])} | "
            f"{_cell(json.dumps(c['details'], ensure_ascii=False, sort_keys=True))} | {c['evidence_seq']} |"
            for c in report["contacts"][:MAX_LISTED_CONTACTS]]
    if len(report["contacts"]) > MAX_LISTED_CONTACTS:
        out += ["", f"{len(report['contacts']) - MAX_LISTED_CONTACTS} more contacts are in the JSON report "
                    "(`--format json`), which lists every one."]
    out += ["", f"## Sightings ({len(report['sightings'])})", "",
            "| scan | canary | kind | value | file | sha256 | line |", "|---|---|---|---|---|---|---|"]
    out += [f"| {s['scan_id']} | {s['canary_id']} | {s['kind']} | {_cell(s['value'])} | {_cell(s['file'])} | "
            f"{s['file_sha256']} | {s['line']} |" for s in report["sightings"]]
    out += ["", "## How to verify this report", "",
            f"The last line signs every byte above it with the deployment's Ed25519 key (fingerprint "
            f"`{report['verification']['fingerprint']}`)"
            + (f" and carries an RFC 3161 timestamp from {_cell(report['verification']['timestamping_authority'])}."
               if report["verification"]["timestamping_authority"] else "; no timestamping authority is configured.")
            + " Save this file as report.md, unchanged; then, with OpenSSL alone:", ""]
    for number, (why, command) in enumerate(steps, 1):
        out += [f"{number}. {_cell(why)}:", "", "   ```", f"   {command}", "   ```", ""]
    out += ["The deployment's public key:", "", "```", report["verification"]["public_key"].strip(), "```", ""]
    return "\n".join(out)
