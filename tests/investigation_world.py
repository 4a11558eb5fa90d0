"""A deployment with four labs' canaries planted month by month, and leaks built from three.

Shared by the scan, report and evidence tests (module-scoped: built once per module).
"""
from __future__ import annotations

import dataclasses
import random

from canary.deployment import Deployment, init_deployment
from canary.generation.issuing import Issuer
from canary.generation.patients import generate_patients
from canary.scan.leakgen import leak_row

# site, target, which of its five canaries (planted Jan..May 2026) the leak holds
LABS = (
    ("Labo Rennes Nord", "lims-prod", (0, 1, 2)),        # complete copy taken in March
    ("Labo Nantes Sud", "backup-nightly", (0, 1, 2, 3, 4)),  # complete, after May; contacted in June
    ("Labo Brest", "vendor-export", (0, 1, 3)),          # partial: lacks the March canary
    ("Labo Quimper", "csv-extract", ()),                 # not in the leak
)
PLANTED = [f"2026-0{month}-01T09:00:00.000000Z" for month in range(1, 6)]
CONTACT_TIME = "2026-06-15T10:00:00.000000Z"


def insert_planting(store, canary_id: int, target_id: int, planted_at: str) -> int:
    """A planting back-dated to `planted_at`, recorded as the planting code records it."""
    return store.record_planting(canary_id, target_id, [{"table": "patients", "key": {"id": canary_id}}], [],
                                 time=planted_at)


@dataclasses.dataclass
class World:
    deployment: Deployment
    canaries: dict[str, list[dict]]      # target -> its canaries, in planting order

    def leaked_canaries(self) -> list[dict]:
        return [self.canaries[target][i] for _, target, picked in LABS for i in picked]

    def leaked_rows(self) -> list[dict]:
        return [leak_row(canary["patient"]) for canary in self.leaked_canaries()]


def build_world(home, store: str | None = None) -> World:
    """`store`: the deployment's store URL (None: canary.db in `home`; see storemode.py)."""
    init_deployment(home, ["canary.test"], store=store).close()
    deployment = Deployment.open(home)
    store = deployment.store
    issuer = Issuer(store, deployment.settings, random.Random(7))
    patients = iter(generate_patients(5 * len(LABS), 2026))
    canaries = {}
    for site, target, _ in LABS:
        store.add_site(site)
        target_row = store.add_target(target, site)
        canaries[target] = []
        for planted_at in PLANTED:
            canary = issuer.register_canary(next(patients), target_row["id"])
            insert_planting(store, canary["id"], target_row["id"], planted_at)
            canaries[target].append(canary)
    contacted = canaries["backup-nightly"][1]
    ident = store.resolve(contacted["identifiers"]["hostname"][0])
    store.record_contacts([{"time": CONTACT_TIME, "channel": "dns", "identifier_id": ident["identifier_id"],
                            "canary_id": contacted["id"], "source": "192.0.2.53:5300",
                            "details": {"qname": contacted["identifiers"]["hostname"][0].upper()}}])
    return World(deployment, canaries)


def mix(population: list[dict], hidden: list[dict], seed: int = 1) -> list[dict]:
    """The population with the hidden rows at random places."""
    rows = list(population)
    rng = random.Random(seed)
    for row in hidden:
        rows.insert(rng.randrange(len(rows) + 1), row)
    return rows
