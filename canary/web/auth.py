"""Logging in and out of the dashboard; every other page requires a logged-in user."""
from __future__ import annotations

import collections
import functools
import threading
import time

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for

from .. import accounts
from .db import get_store

bp = Blueprint("auth", __name__)


class LoginFailures:
    """Failed logins per client address in a sliding window: slows password guessing to a crawl."""

    MAX_ADDRESSES = 10_000  # bounded, so a flood of addresses cannot exhaust memory

    def __init__(self):
        self._lock = threading.Lock()
        self._failures: dict[str, collections.deque] = {}

    def blocked(self, address: str, allowed: int, window: float) -> bool:
        with self._lock:
            recent = self._recent(address, window)
            return len(recent) >= allowed

    def record(self, address: str, window: float) -> None:
        with self._lock:
            if len(self._failures) >= self.MAX_ADDRESSES:
                self._failures.clear()
            self._recent(address, window).append(time.monotonic())

    def forget(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)

    def _recent(self, address: str, window: float) -> collections.deque:
        recent = self._failures.setdefault(address, collections.deque())
        while recent and recent[0] < time.monotonic() - window:
            recent.popleft()
        return recent


def _failures() -> LoginFailures:
    return current_app.extensions.setdefault("canary_login_failures", LoginFailures())


@bp.before_app_request
def load_logged_in_user():
    g.user = None
    if request.blueprint == "api":
        return  # the API knows bearer tokens only: no session is read (nor a Vary: Cookie added)
    user_id = session.get("user_id")
    if user_id is None:
        return
    user = get_store().find_user_by_id(user_id)
    # A changed password ends every session opened with the old one.
    if user is not None and session.get("password") == accounts.password_fingerprint(user):
        g.user = user
    else:
        session.clear()


def login_required(view):
    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
        return view(**kwargs)
    return wrapped


def _safe_next(target: str | None) -> str:
    """Only paths on this site: '//evil.example', 'https://...' and tricks browsers undo fall back to the overview."""
    # Browsers drop tabs and newlines and read '\\' as '/', so '/\t/evil.example' would leave the site.
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not any(ord(char) < 0x21 or ord(char) == 0x7F for char in target)):
        return target
    return url_for("views.overview")


@bp.route("/login", methods=("GET", "POST"))
def login():
    error = None
    if request.method == "POST":
        address = request.remote_addr or "?"
        allowed = current_app.config["LOGIN_FAILURES_ALLOWED"]
        window = current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"]
        if _failures().blocked(address, allowed, window):
            abort(429, description="Too many failed logins from your address: wait a few minutes.")
        user = accounts.authenticate(get_store(), request.form.get("username", ""), request.form.get("password", ""))
        if user is None:
            _failures().record(address, window)
            error = "Wrong user name or password."
        else:
            _failures().forget(address)
            session.clear()  # a fresh session on login: nothing planted before it survives
            session.permanent = True
            session["user_id"] = user["id"]
            session["password"] = accounts.password_fingerprint(user)
            return redirect(_safe_next(request.form.get("next")))
    # After a mistyped password the form comes back still leading to the page first asked for.
    return render_template("login.html", error=error, next=request.values.get("next", "")), (401 if error else 200)


@bp.route("/logout", methods=("POST",))
def logout():
    session.clear()
    return redirect(url_for("auth.login"))
