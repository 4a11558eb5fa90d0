"""Signed investigation reports (canary.evidence.report) for download: a site, a target, a canary, or everything."""
from __future__ import annotations

from flask import Blueprint, Response, abort, request

from ...deployment import Deployment
from ...summaries.dashboard import parse_id
from ...evidence.report import FORMATS, build_report, render, report_signer
from ...store import NotFound
from ...timestamping import TimestampError
from ..auth import login_required
from ..db import get_settings, get_store

bp = Blueprint("reports", __name__)
MIMETYPES = {"md": "text/markdown", "html": "text/html", "json": "application/json"}


@bp.route("/report")
@login_required
def report():
    fmt = request.args.get("format", "html")
    scope = {key: request.args.get(key) or None for key in ("site", "target")}
    canary = request.args.get("canary") or None
    try:
        canary_id = parse_id(canary) if canary is not None else None
    except ValueError as error:
        abort(400, description=str(error))
    if fmt not in FORMATS or sum(value is not None for value in (*scope.values(), canary)) > 1:
        abort(400, description=f"format is one of {', '.join(FORMATS)}; give at most one of site, target, canary")
    deployment = Deployment(get_settings(), get_store())
    try:
        built = build_report(deployment, **scope, canary_id=canary_id)
    except NotFound:
        abort(404)
    name = "-".join(["canary-report", *(value for value in (*scope.values(), canary) if value)])
    safe_name = "".join(char if char.isalnum() or char in "-_" else "_" for char in name)[:80]
    # Always a download: the report quotes attackers, so it is never rendered inside the dashboard's origin.
    try:
        text = render(built, fmt, report_signer(deployment))
    except TimestampError as error:
        abort(502, description=str(error))
    return Response(text, mimetype=MIMETYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{safe_name}.{fmt}"'})
