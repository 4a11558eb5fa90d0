"""The store: the one module that reads and writes the deployment's database.

`Store` is assembled from one part per subject so that each file stays small; every
part uses the connection, transactions and evidence log of `CoreStore`.
"""
from .alerts import AlertStore
from .audit import EvidenceAudit
from .contacts import ContactStore
from .core import Conflict, CoreStore, NotFound, StoreError
from .dialect import close_pools, is_postgres
from .hosts import HostStore
from .moving import StoreMover
from .overview import OverviewStore
from .plantings import PlantingStore
from .plantings_read import PlantingHistory
from .registry import RegistryStore
from .sightings import SightingStore
from .users import UserStore


class Store(RegistryStore, ContactStore, PlantingStore, PlantingHistory, SightingStore, EvidenceAudit,
            OverviewStore, UserStore, AlertStore, HostStore, StoreMover, CoreStore):
    """A deployment's store: SQLite (WAL) on one host, PostgreSQL for several."""


__all__ = ["Store", "StoreError", "Conflict", "NotFound", "close_pools", "is_postgres"]
