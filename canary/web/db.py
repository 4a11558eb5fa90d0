"""One store handle per request, closed when the request ends (as flaskr does with its database)."""
from __future__ import annotations

from flask import current_app, g

from ..settings import Settings
from ..store import Store


def get_settings() -> Settings:
    return current_app.config["CANARY_SETTINGS"]


def get_store() -> Store:
    if "store" not in g:
        g.store = Store(get_settings().store_location)
    return g.store


def close_store(error=None) -> None:
    store = g.pop("store", None)
    if store is not None:
        store.close()


def init_app(app) -> None:
    app.teardown_appcontext(close_store)
