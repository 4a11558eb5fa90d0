"""The dashboard pages: overview, a canary's page, the contact list, the scan history."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from ...summaries import dashboard
from ...store import NotFound
from ..auth import login_required
from ..chart import timeline
from ..db import get_store

bp = Blueprint("views", __name__)
PAGE_SIZE = 100
MAX_PAGE = 10**9  # far past any real page, and an offset SQLite can still hold


def page_number() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


@bp.route("/", endpoint="overview")
@login_required
def overview_page():
    store = get_store()
    counts, today = dashboard.contacts_per_day(store)
    return render_template("overview.html", targets=dashboard.targets_with_canaries(store),
                           tokens=store.tokens(), latest=store.search_contacts(limit=10),
                           chart=timeline(counts, today), unknown=dashboard.unknown_total(store))


@bp.route(f"/canaries/<int(max={dashboard.MAX_ID}):canary_id>")
@login_required
def canary(canary_id: int):
    page = page_number()
    try:
        detail = dashboard.canary_detail(get_store(), canary_id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    except NotFound:
        abort(404)
    return render_template("canary.html", canary=detail, page=page,
                           more=detail["contact_count"] > page * PAGE_SIZE, first=(page - 1) * PAGE_SIZE)


@bp.route("/scans")
@login_required
def scans():
    return render_template("scans.html", scans=dashboard.scan_history(get_store()))


@bp.route(f"/scans/<int(max={dashboard.MAX_ID}):scan_id>")
@login_required
def scan(scan_id: int):
    try:
        detail = dashboard.scan_detail(get_store(), scan_id)
    except NotFound:
        abort(404)
    return render_template("scan_detail.html", scan=detail)


@bp.route("/contacts")
@login_required
def contacts():
    store = get_store()
    args = {key: request.args.get(key, "").strip() for key in ("channel", "site", "target", "since", "until", "canary")}
    error = None
    try:
        filters = dashboard.contact_filters(**args)
    except ValueError as problem:
        error, filters = str(problem), {}
    page = page_number()
    rows = store.search_contacts(**filters, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return render_template("contacts.html", contacts=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE, page=page,
                           args=args, error=error, channels=store.contact_channels(),
                           sites=[s["name"] for s in store.sites()], targets=[t["name"] for t in store.targets()])
