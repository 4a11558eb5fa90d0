"""The dashboard served by waitress (listeners/wsgi_server.py), not werkzeug's development server."""
from __future__ import annotations

from listeners.wsgi_server import WsgiServer

from . import create_app


def dashboard_server(settings, host: str, port: int) -> WsgiServer:
    """The dashboard of a deployment on host:port (0: any free port), not started yet."""
    app = create_app(settings)
    # Uploads to scan are large and slow: a generous idle time; a few threads are plenty for operators.
    return WsgiServer(app, host, port, threads=8, idle_seconds=120, max_connections=128,
                      max_connections_per_source=32, max_body_bytes=app.config["MAX_CONTENT_LENGTH"],
                      name="canary-dashboard")
