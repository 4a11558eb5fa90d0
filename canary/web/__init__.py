"""The dashboard and JSON API: a flask app factory in the flaskr manner."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os

from flask import Flask

from ..settings import Settings, SettingsError


def session_key(secret: str) -> bytes:
    """The session signing key: derived from the deployment secret, for this one purpose."""
    if not secret:
        raise SettingsError("deployment.secret is empty: the dashboard cannot sign sessions")
    return hmac.new(secret.encode("utf-8"), b"canary.dashboard.session.v1", hashlib.sha256).digest()


def create_app(settings_or_home: Settings | str | os.PathLike | None = None, test_config: dict | None = None) -> Flask:
    """The dashboard for one deployment: its Settings, or the home directory to load them from."""
    settings = settings_or_home if isinstance(settings_or_home, Settings) else Settings.load(settings_or_home)
    dashboard = settings["dashboard"]
    app = Flask(__name__)
    app.config.from_mapping(
        CANARY_SETTINGS=settings,
        SECRET_KEY=session_key(settings.secret),
        MAX_CONTENT_LENGTH=int(dashboard["max_upload_bytes"]),
        SESSION_COOKIE_NAME="canary_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=str(dashboard["public_url"]).startswith("https://"),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        LOGIN_FAILURES_ALLOWED=10,
        LOGIN_FAILURE_WINDOW_SECONDS=900,
    )
    if test_config:
        app.config.from_mapping(test_config)
    app.json.sort_keys = False  # keep the order the library gives (id, name, ... as `canary list`)
    app.json.ensure_ascii = False

    from .views import api, reports, scanning, pages
    from . import auth, db, present, security
    db.init_app(app)
    present.init_app(app)
    security.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(scanning.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(api.bp)
    return app
