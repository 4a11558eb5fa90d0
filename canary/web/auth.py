"""Logging in and out of the dashboard; every other page requires a logged-in user."""
from __future__ import annotations

import functools

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for

from .. import accounts
from .db import get_store
from .login_limits import LoginLimiter, LoginLimits

bp = Blueprint("auth", __name__)


def _limiter() -> LoginLimiter:
    return current_app.extensions.setdefault("canary_login_limiter", LoginLimiter())


def _limits() -> LoginLimits:
    config = current_app.config
    return LoginLimits(per_address=config["LOGIN_FAILURES_ALLOWED"],
                       per_account=config["LOGIN_FAILURES_PER_ACCOUNT"],
                       global_=config["LOGIN_FAILURES_GLOBAL"],
                       window_seconds=config["LOGIN_FAILURE_WINDOW_SECONDS"])


@bp.before_app_request
def load_logged_in_user():
    g.user = None
    if request.blueprint == "api":
        return  # the API knows bearer tokens only: no session is read (nor a Vary: Cookie added)
    user_id = session.get("user_id")
    if user_id is None:
        return
    user = get_store().find_user_by_id(user_id)
    # A changed password ends every session opened with the old one; logging out ends them all.
    if (user is not None and session.get("password") == accounts.password_fingerprint(user)
            and session.get("generation") == user["session_generation"]):
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
        name = request.form.get("username", "")
        ticket = _limiter().begin(address, name, _limits())
        if ticket is None:
            abort(429, description="Too many failed logins: wait a few minutes.")
        user = accounts.authenticate(get_store(), name, request.form.get("password", ""))
        if user is None:
            error = "Wrong user name or password."
        else:
            _limiter().succeeded(ticket)
            session.clear()  # a fresh session on login: nothing planted before it survives
            session.permanent = True
            session["user_id"] = user["id"]
            session["password"] = accounts.password_fingerprint(user)
            session["generation"] = user["session_generation"]
            return redirect(_safe_next(request.form.get("next")))
    # After a mistyped password the form comes back still leading to the page first asked for.
    return render_template("login.html", error=error, next=request.values.get("next", "")), (401 if error else 200)


@bp.route("/logout", methods=("POST",))
def logout():
    # The cookie is signed, not stored: clearing it here would leave a copy of it valid. Moving
    # the user to a new session generation ends every session opened before, server-side.
    if g.user is not None:
        get_store().end_user_sessions(g.user["id"])
    session.clear()
    return redirect(url_for("auth.login"))
