"""A small, fixed lab for dashboard tests, screenshots and docs: two sites, three targets, contacts.

Every patient here is invented; phone numbers are in the ranges ARCEP reserves for fiction
(+33 6 39 98 xx xx) and names live under the deployment's own zone.
"""
from __future__ import annotations

import datetime as dt

from .. import clock
from ..store import Store

PATIENTS = (
    ("F", "Maëlle", "Guillou", "1988-03-14", "Rennes", "35", "Bretagne", "A+"),
    ("M", "Yannick", "Le Bihan", "1975-11-02", "Brest", "29", "Bretagne", "O+"),
    ("F", "Soizic", "Tanguy", "1992-07-21", "Vannes", "56", "Bretagne", "B-"),
    ("M", "Erwan", "Morvan", "1969-01-30", "Lorient", "56", "Bretagne", "O-"),
    ("F", "Nadia", "Benali", "1983-05-09", "Nantes", "44", "Pays de la Loire", "A-"),
    ("M", "Julien", "Marchand", "2001-09-17", "Angers", "49", "Pays de la Loire", "AB+"),
)
TARGETS = (("Labo Rennes Nord", "lims-prod", "sqlite"), ("Labo Rennes Nord", "nightly-backup", "sql"),
           ("BioAtlantique Nantes", "vendor-migration", "csv"))


def _patient(index: int, row: tuple, zone: str) -> tuple[dict, str, list[tuple[str, str]]]:
    sex, first, last, birth, commune, department, region, blood = row
    label = f"s{index:02d}demo{department}x"
    nir = f"{1 if sex == 'M' else 2}{birth[2:4]}{birth[5:7]}{department}1230{index:02d}"[:13]
    nir += f"{97 - int(nir) % 97:02d}"
    email = f"{first.lower().replace('ë', 'e')}.{last.lower().replace(' ', '')}@{label}.{zone}"
    phone = f"+3363998{index:04d}"
    patient = {"sex": sex, "first_name": first, "last_name": last, "birth_name": last, "birth_date": birth,
               "nir": nir, "email": email, "phone": phone, "phone_kind": "mobile", "blood_group": blood,
               "address": {"line1": f"{10 + index} rue des Lilas", "postal_code": f"{department}000",
                           "commune": commune, "department": department, "region": region},
               "physician": {"first_name": "Anne", "last_name": "Caradec", "rpps": "10000000000"},
               "insurer": "Mutuelle fictive de l'Ouest", "comment": "suivi annuel"}
    identifiers = [("email", email), ("phone", phone), ("nir", nir), ("url", f"http://{label}.{zone}/"),
                   ("hostname", f"{label}.{zone}")]
    return patient, label, identifiers


def populate(store: Store, zone: str = "canary.test", now: dt.datetime | None = None) -> dict:
    """Fill an empty store with the sample lab; returns {'canaries': [ids], 'targets': {name: id}}."""
    now = now or clock.parse_time(clock.utc_now())
    targets = {}
    for site, name, kind in TARGETS:
        if not any(s["name"] == site for s in store.sites()):
            store.add_site(site)
        targets[name] = store.add_target(name, site, kind=kind)["id"]
    names = list(targets)
    canaries = []
    for index, row in enumerate(PATIENTS):
        patient, label, identifiers = _patient(index, row, zone)
        target_id = targets[names[index % len(names)]]
        canary_id = store.add_canary(patient, label, identifiers, target_id=target_id)
        canaries.append(canary_id)
        planted = clock.format_time(now - dt.timedelta(days=40 - index))
        planting_id = store.record_planting(canary_id, target_id, [{"table": "patients", "key": {"id": 90000 + index}}],
                                            [], time=planted)
        if index == 5:
            store.retire_plantings([planting_id], time=clock.format_time(now - dt.timedelta(days=3)))
    # The last check of lims-prod found its first canary gone: someone deleted or altered it.
    store.record_check(targets["lims-prod"], {str(canaries[0]): "missing", str(canaries[3]): "present"})
    store.record_contacts(sample_contacts(store, canaries, now))
    return {"canaries": canaries, "targets": targets}


def sample_contacts(store: Store, canaries: list[int], now: dt.datetime) -> list[dict]:
    """Contacts spread over the last three weeks, as listeners would record them."""
    contacts = []
    for days_ago, canary_index, channel, hours in ((19, 2, "dns", 3), (12, 2, "dns", 1), (12, 2, "smtp", 2),
                                                   (6, 2, "http", 1), (5, 2, "dns", 4), (2, 4, "dns", 2),
                                                   (1, 4, "smtp", 1), (0, 2, "dns", 3), (0, 4, "http", 2)):
        canary = store.get_canary(canaries[canary_index])
        for hour in range(hours):
            moment = clock.format_time(now - dt.timedelta(days=days_ago, hours=hour, minutes=7 * hour))
            if channel == "dns":
                value = canary["identifiers"]["hostname"][0]
                details = {"qname": value.upper() if hour % 2 else value, "qtype": "MX" if hour % 2 else "A",
                           "transport": "udp"}
                source = f"192.0.2.{10 + hour}:5{3000 + hour}"
            elif channel == "smtp":
                value = canary["identifiers"]["email"][0]
                details = {"mail_from": "relances@example.net", "rcpt_to": [value],
                           "subject": "Votre résultat d'analyse est disponible", "helo": "mail.example.net"}
                source = f"198.51.100.{20 + hour}:41{200 + hour}"
            else:
                value = canary["identifiers"]["url"][0]
                details = {"method": "GET", "path": "/", "user_agent": "python-requests/2.31",
                           "host": value.split("/")[2]}
                source = f"203.0.113.{30 + hour}:{50000 + hour}"
            found = store.resolve(value)
            contacts.append({"time": moment, "channel": channel, "identifier_id": found["identifier_id"],
                             "canary_id": found["canary_id"], "source": source, "details": details, "value": value})
    return sorted(contacts, key=lambda contact: contact["time"])
