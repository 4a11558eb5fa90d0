"""Adding targets: checks what a target needs before the store records it."""
from __future__ import annotations

from .deployment import Deployment
from .settings import SettingsError

TARGET_KINDS = ("manual", "sqlite", "postgresql", "sql", "csv")


def add_target(deployment: Deployment, name: str, site: str, *, kind: str = "manual",
               location: str | None = None, mapping: str | None = None, region: str | None = None) -> dict:
    """Record a new target of a site, after checking its kind and region."""
    if kind not in TARGET_KINDS:
        raise SettingsError(f"unknown target kind {kind!r} (one of {', '.join(TARGET_KINDS)})")
    if region is not None:
        from .patients import region_departments
        region_departments(region)  # raises ValueError naming an unknown region
    return deployment.store.add_target(name, site, kind=kind, location=location, mapping=mapping, region=region)
