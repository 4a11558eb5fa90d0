"""The demo's lab, seeded through the real pipeline: example databases, targets, plantings, a check, contacts.

`make run` (canary.demo.home), the dashboard tests and docs/screenshot_dashboard.py all fill a
deployment with `seed_demo_lab`, so they show one story: Laboratoire Rennes Nord plants its
LIMS and, separately, its nightly backup every two weeks; a copy of the backup is taken
between two rotations (lab/stolen-backup-extract.csv: `canary scan` it) and its canaries start being touched (MX lookups, an SMTP probe, a
phishing email, an SMS, a click); someone at the lab edits a canary's first name, which the
next `check` reports; a second lab plants its CSV extract for a software vendor.

Everything runs as a user's commands would (add_target, plant_into_target, check_target,
retire, Issuer.issue_token), at made-up past moments: `clock.replaying` stamps the store and
the evidence log with them (and marks those events `demo-replay`). Contacts are recorded with
`store.record_contacts` in the shapes the listeners record. The labs, dates and history follow
`seed`; canaries' patients also depend on the random sample of host rows planting learns from,
and DNS labels come from `secrets`, as always.
"""
from __future__ import annotations

import base64
import csv
import dataclasses
import datetime as dt
import email.message
import hashlib
import io
import pathlib
import random
import shutil
import sqlite3

from .. import clock
from ..deployment import Deployment
from ..generation.issuing import Issuer
from ..generation.phones import format_national
from ..planting import value_formats
from ..planting.plant import check_target, plant_into_target, retire
from ..planting.registration import add_target
from . import labdb
from .labdb import DATA

RENNES = "Laboratoire Rennes Nord"
NANTES = "BioAtlantique Nantes"
# (days ago, target, canaries): every target is rotated every two weeks, each copy on its own day.
PLANTINGS = ((56, "lims-prod", 3), (55, "nightly-backup", 2), (42, "lims-prod", 2), (41, "nightly-backup", 2),
             (35, "vendor-extract", 2), (28, "lims-prod", 2), (27, "nightly-backup", 2), (14, "lims-prod", 2),
             (13, "nightly-backup", 2), (7, "vendor-extract", 1))
LEAKED_BEFORE_DAYS = 13   # the stolen backup copy holds every canary planted before this rotation
STOLEN_FILE = "stolen-backup-extract.csv"   # what the thief took and posted: `canary scan` it


@dataclasses.dataclass
class DemoLab:
    """What was seeded, for the demo's hints and the tests."""
    targets: dict[str, int]                   # name -> id
    canaries: dict[str, list[int]]            # target name -> canary ids, in planting order
    leaked: list[int]                         # the stolen backup's canaries: the ones being touched
    altered: int                              # edited at the lab, reported by the last check
    retired: int
    token: str                                # the standalone dns token (fake host in a runbook)
    contacts: list[int]

    @property
    def all_canaries(self) -> list[int]:
        return sorted(c for ids in self.canaries.values() for c in ids)


def seed_demo_lab(deployment: Deployment, folder: str | pathlib.Path, *, patients: int = 2000, seed: int = 7,
                  now: dt.datetime | None = None) -> DemoLab:
    """Build the example labs in `folder` and fill the (empty) deployment from them, eight weeks back to now."""
    folder = pathlib.Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    now = now or clock.parse_time(clock.utc_now())
    rng = random.Random(seed)
    store = deployment.store
    # The demo shows every kind of contact: its canaries all carry an email and a phone
    # (planting.contacts = "all"), a presence pattern a real deployment avoids (docs/realism.md).
    deployment.settings.values["planting"]["contacts"] = "all"

    def at(days_ago: float, hour: int = 3, minute: int = 17) -> dt.datetime:
        day = (now - dt.timedelta(days=days_ago)).replace(hour=hour, minute=minute, second=0, microsecond=0)
        return min(day, now)

    lims = folder / "rennes-nord-lims.db"
    labdb.build(lims, patients, seed)
    shutil.copy(lims, folder / "rennes-nord-backup.db")       # the nightly backup: its own copy, its own canaries
    for name in ("lab_mapping.toml", "lab_schema.sql"):
        shutil.copy(DATA / name, folder / name)
    extract = _vendor_extract(folder, max(200, patients // 4), seed + 1)

    with clock.replaying(at(60, 9, 30)):
        store.add_site(RENNES)
        store.add_site(NANTES)
        mapping = str(folder / "lab_mapping.toml")
        add_target(deployment, "lims-prod", RENNES, kind="sqlite", location=str(lims), mapping=mapping)
        add_target(deployment, "nightly-backup", RENNES, kind="sqlite", location=str(folder / "rennes-nord-backup.db"),
                   mapping=mapping)
        add_target(deployment, "vendor-extract", NANTES, kind="csv", location=str(extract),
                   mapping=str(extract.with_suffix(".toml")))
    with clock.replaying(at(50, 14, 2)):
        token = Issuer(store, deployment.settings, random.Random(rng.getrandbits(64))).issue_token(
            "dns", "fake backup host in the IT runbook")

    canaries: dict[str, list[int]] = {}
    leaked: list[int] = []
    for days_ago, target, count in PLANTINGS:
        moment = at(days_ago, 3, 17 + days_ago % 20)
        if target == "nightly-backup" and days_ago <= LEAKED_BEFORE_DAYS and not (folder / STOLEN_FILE).exists():
            _steal(folder / "rennes-nord-backup.db", folder / STOLEN_FILE)
        with clock.replaying(moment):
            result = plant_into_target(deployment, target, count, rng=random.Random(rng.getrandbits(64)), now=moment)
        ids = [planted.canary["id"] for planted in result.canaries]
        canaries.setdefault(target, []).extend(ids)
        if target == "nightly-backup" and days_ago > LEAKED_BEFORE_DAYS:
            leaked.extend(ids)

    # The story's contacts (mail, text, clicks) go to the stolen canaries that have an email and a
    # phone, which canaries have as often as the lab's patients: those come first.
    leaked.sort(key=lambda canary_id: not {"email", "phone"} <= set(store.get_canary(canary_id)["identifiers"]))
    # Someone at the lab corrected a canary's first name; the next check reports it altered.
    altered = canaries["lims-prod"][3]
    _edit_first_name(deployment, lims, altered)
    retired = canaries["lims-prod"][0]
    with clock.replaying(at(6, 10, 41)):
        retire(deployment, "lims-prod", canary_id=retired)
    for days_ago, target in ((1, "lims-prod"), (1, "nightly-backup"), (2, "vendor-extract")):
        with clock.replaying(at(days_ago, 6, 45)):
            check_target(deployment, target)

    contacts = store.record_contacts(_history(store, leaked, token, at, rng))
    if contacts:
        store.set_alert_cursor(contacts[-1])  # the past is not news: alert on what happens from now on
    targets = {row["name"]: row["id"] for row in store.targets()}
    return DemoLab(targets, canaries, leaked, altered, retired, token["token"], contacts)


def _vendor_extract(folder: pathlib.Path, patients: int, seed: int) -> pathlib.Path:
    """A second lab's patients as the CSV extract its vendor gets, with the mapping beside it."""
    source = folder / "nantes-source.db"
    labdb.build(source, patients, seed)
    path = write_vendor_extract(source, folder / "patients.csv")
    source.unlink()
    shutil.copy(DATA / "extract_mapping.toml", path.with_suffix(".toml"))
    return path


def write_vendor_extract(lab_db: pathlib.Path, path: pathlib.Path, limit: int | None = None) -> pathlib.Path:
    """Export a lab database the way a French spreadsheet does: semicolons, Windows-1252, CRLF,
    NIRs in groups as printed on a carte Vitale; data/extract_mapping.toml maps canaries onto it."""
    conn = sqlite3.connect(lab_db)
    try:
        rows = conn.execute(
            "SELECT p.ipp, p.nom_usage, p.prenom, p.date_naissance, coalesce(p.nir, ''), a.code_postal, a.commune, "
            "coalesce((SELECT valeur FROM telecom t WHERE t.patient_id = p.id AND type <> 'EMAIL'), ''), "
            "coalesce((SELECT valeur FROM telecom t WHERE t.patient_id = p.id AND type = 'EMAIL'), '') "
            "FROM patient p JOIN adresse a ON a.patient_id = p.id ORDER BY p.id LIMIT ?", (limit or -1,)).fetchall()
    finally:
        conn.close()
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["IPP", "NOM", "PRENOM", "DATE_NAISSANCE", "NIR", "CP", "VILLE", "TELEPHONE", "EMAIL"])
    writer.writerows([row[:4] + (value_formats.format_nir(row[4], "spaced"),) + row[5:] for row in rows])
    path.write_bytes(buffer.getvalue().encode("cp1252"))
    return path


def _steal(database: pathlib.Path, path: pathlib.Path) -> None:
    """The leak: a copy of the backup's patients as a thief exports it (CSV, UTF-8, their own columns)."""
    conn = sqlite3.connect(database)
    try:
        rows = conn.execute(
            "SELECT p.nom_usage, p.prenom, p.date_naissance, p.nir, a.ligne1, a.code_postal, a.commune, "
            "group_concat(t.valeur, ' ') FROM patient p JOIN adresse a ON a.patient_id = p.id "
            "LEFT JOIN telecom t ON t.patient_id = p.id GROUP BY p.id ORDER BY p.id").fetchall()
    finally:
        conn.close()
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["nom", "prenom", "naissance", "secu", "adresse", "cp", "ville", "contact"])
        writer.writerows(rows)


def _edit_first_name(deployment: Deployment, database: pathlib.Path, canary_id: int) -> None:
    planting = deployment.store.plantings(canary_id=canary_id)[0]
    patient = next(row for row in planting["rows"] if row["table"] == "patient")
    conn = sqlite3.connect(database)
    try:
        with conn:
            conn.execute("UPDATE patient SET prenom = prenom || '-Marie' WHERE id = ?", (patient["key"]["id"],))
    finally:
        conn.close()


# -- contacts, as the listeners record them ---------------------------------------------------------
def _history(store, leaked: list[int], token: dict, at, rng: random.Random) -> list[dict]:
    """Three weeks of contacts with the stolen backup's canaries (and the runbook token), oldest first."""
    canaries = [store.get_canary(canary_id) for canary_id in leaked]
    contacts = []

    def when(days_ago: float, hour: int, minute: int) -> dt.datetime:
        jitter = dt.timedelta(seconds=rng.randint(0, 59), microseconds=rng.randint(0, 999_999))
        return min(at(days_ago, hour, minute) + jitter, at(0, 23, 59))   # never after now

    def ip(block: str) -> str:
        return f"{block}.{rng.randint(2, 250)}"

    # An address-validation service checks the whole file: an MX lookup per domain, then RCPT probes.
    validator = ip("198.51.100")
    for index, canary in enumerate(canaries):
        moment = when(20, 22, 4) + dt.timedelta(seconds=7 * index)
        contacts.append(_dns(store, canary["identifiers"]["hostname"][0], "MX", ip("192.0.2"), moment, rng))
    # Canaries have an email and a phone as often as the host's patients: probe those that do.
    mailed = [c for c in canaries if c["identifiers"].get("email")] or canaries
    for index, canary in enumerate(mailed[:4]):
        if canary["identifiers"].get("email"):
            contacts.append(_rcpt(store, canary["identifiers"]["email"][0], validator, when(19, 1, 12) + dt.timedelta(
                seconds=3 * index)))
    # A phishing campaign: lookups, a message, a text, a click.
    victim = mailed[1 % len(mailed)]
    second = next((c for c in canaries if c is not victim), victim)
    texted = next((c for c in canaries if c["patient"].get("phone_kind") == "mobile"),
                  next((c for c in canaries if c["identifiers"].get("phone")), None))
    for days_ago, hour in ((16, 9), (12, 14), (9, 8), (5, 20), (3, 11), (1, 16), (0, 2)):
        for canary in (victim, second)[: 1 + days_ago % 2]:
            name = canary["identifiers"]["hostname"][0]
            contacts.append(_dns(store, _mixed_case(name, rng), rng.choice(("A", "AAAA", "MX")), ip("192.0.2"),
                                 when(days_ago, hour, rng.randint(0, 59)), rng))
    if victim["identifiers"].get("email"):
        contacts.append(_message(store, victim["identifiers"]["email"][0], validator, when(12, 14, 31)))
    if texted is not None:
        contacts.append(_sms(store, texted["identifiers"]["phone"][0], when(10, 18, 3)))
    contacts.append(_http(store, victim["identifiers"]["url"][0], ip("203.0.113"), when(8, 19, 47)))
    contacts.append(_http(store, second["identifiers"]["url"][0], ip("203.0.113"), when(4, 7, 55)))
    contacts.append(_dns(store, token["value"], "A", ip("192.0.2"), when(9, 15, 22), rng))
    return sorted(contacts, key=lambda contact: contact["time"])


def _mixed_case(name: str, rng: random.Random) -> str:
    """Some resolvers randomise the case of names they ask about (DNS 0x20); the listener matches any case."""
    if rng.random() < 0.7:
        return name
    return "".join(ch.upper() if ch.isalpha() and rng.random() < 0.5 else ch for ch in name)


def _contact(store, channel: str, value: str, source: str, details: dict, moment: dt.datetime) -> dict:
    from listeners.contact import make_contact
    resolved = store.resolve(value.lower())
    if resolved is None:
        raise LookupError(f"demo contact for {value!r}, which is no identifier")
    return make_contact(channel, resolved, source, details, time=clock.format_time(moment))


def _dns(store, name: str, qtype: str, resolver: str, moment, rng) -> dict:
    port = rng.randint(1024, 65535)
    details = {"qname": name + ".", "qtype": qtype, "transport": "udp", "resolver": resolver, "port": port,
               "id": rng.randint(0, 65535), "rd": False, "edns": True}
    return _contact(store, "dns", name, f"{resolver}:{port}", details, moment)


def _rcpt(store, address: str, peer: str, moment) -> dict:
    source = f"{peer}:{40000 + moment.second}"
    details = {"stage": "rcpt", "rcpt_to": address, "mail_from": "", "helo": "verify.example.net",
               "peer": source, "tls": False}
    return _contact(store, "smtp", address, source, details, moment)


def _message(store, address: str, peer: str, moment) -> dict:
    message = email.message.EmailMessage()
    message["From"] = "Service Laboratoire <resultats@labo-resultats.example.net>"
    message["To"] = address
    message["Subject"] = "Vos résultats d'analyses sont disponibles"
    message["Date"] = moment.strftime("%a, %d %b %Y %H:%M:%S +0000")
    message["Message-ID"] = "<demo-0001@labo-resultats.example.net>"
    message.set_content("Bonjour,\nVos résultats sont disponibles : http://labo-resultats.example.net/login\n")
    raw = message.as_bytes()
    source = f"{peer}:{41000 + moment.minute}"
    details = {"stage": "data", "mail_from": "resultats@labo-resultats.example.net", "rcpt_tos": [address],
               "helo": "mail.labo-resultats.example.net", "peer": source, "tls": False, "size": len(raw),
               "sha256": hashlib.sha256(raw).hexdigest(),
               "headers": {key.lower(): str(message[key]) for key in ("Subject", "From", "To", "Date", "Message-ID")},
               "raw_base64": base64.b64encode(raw).decode("ascii"), "truncated": False,
               "rcpt_to": address}
    return _contact(store, "smtp", address, source, details, moment)


def _sms(store, phone: str, moment) -> dict:
    caller = "+447700900123"   # Ofcom's drama range: a sender that is nobody
    details = {"from": caller, "to": format_national(phone), "provider": "json",
               "provider_time": clock.format_time(moment), "webhook_from": "203.0.113.80:443",
               "body": "LABO: votre dossier est incomplet, confirmez votre identite sur labo-resultats.example.net"}
    return _contact(store, "sms", phone, caller, details, moment)


def _http(store, url: str, client: str, moment) -> dict:
    host = url.split("/")[2]
    agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
    source = f"{client}:{50000 + moment.minute}"
    details = {"method": "GET", "host": host, "path": "/", "query": "", "user_agent": agent,
               "headers": {"Host": host, "User-Agent": agent, "Accept": "text/html"}, "peer": client, "scheme": "http"}
    return _contact(store, "http", url, source, details, moment)
