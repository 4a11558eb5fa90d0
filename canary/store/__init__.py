"""The store: the one module that reads and writes the deployment's database.

`Store` is assembled from one part per subject so that each file stays small; every
part uses the connection, transactions and evidence log of `CoreStore`.
"""
from .audit import EvidenceAudit
from .contacts import ContactStore
from .core import Conflict, CoreStore, NotFound, StoreError
from .plantings import PlantingStore
from .plantings_read import PlantingHistory
from .registry import RegistryStore
from .sightings import SightingStore


class Store(RegistryStore, ContactStore, PlantingStore, SightingStore, PlantingHistory, EvidenceAudit, CoreStore):
    """A deployment's store (SQLite, WAL)."""


__all__ = ["Store", "StoreError", "Conflict", "NotFound"]
