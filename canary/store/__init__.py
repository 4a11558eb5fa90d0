"""The store: the one module that reads and writes the deployment's database.

`Store` is assembled from one part per subject so that each file stays small; every
part uses the connection, transactions and evidence log of `CoreStore`.
"""
from .alerts import AlertStore
from .contacts import ContactStore
from .core import Conflict, CoreStore, NotFound, StoreError
from .overview import OverviewStore
from .registry import RegistryStore
from .users import UserStore


class Store(RegistryStore, ContactStore, OverviewStore, UserStore, AlertStore, CoreStore):
    """A deployment's store (SQLite, WAL)."""


__all__ = ["Store", "StoreError", "Conflict", "NotFound"]
