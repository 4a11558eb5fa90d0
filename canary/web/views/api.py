"""The JSON API: the dashboard's data for scripts, authenticated with bearer API tokens."""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import HTTPException

from ... import accounts
from ...summaries import listing, dashboard
from ...generation.identifiers import IdentifierError
from ...generation.issuing import TOKEN_KINDS, Issuer
from ...store import NotFound
from ..db import get_settings, get_store

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_LIMIT = 1000


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    response = jsonify(error=str(error))
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="canary"'
    return response


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    response = jsonify(error=error.description or error.name)
    response.status_code = error.code or 500
    return response


@bp.before_request
def require_api_token():
    # Only the Authorization header counts: a dashboard session cookie opens nothing here.
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "send an API token: Authorization: Bearer cnry_... (create one with `canary api-token create NAME`)")
    found = accounts.check_api_token(get_store(), token.strip())
    if found is None:
        raise ApiError(401, "unknown or revoked API token")
    g.api_token = found


def _limit() -> tuple[int, int]:
    try:
        limit = int(request.args.get("limit", 100))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        raise ApiError(400, "limit and offset are whole numbers") from None
    if not 1 <= limit <= MAX_LIMIT or not 0 <= offset <= dashboard.MAX_ID - MAX_LIMIT:
        raise ApiError(400, f"limit is 1..{MAX_LIMIT}, offset >= 0")
    return limit, offset


@bp.get("/targets")
def targets():
    rows = dashboard.targets_with_canaries(get_store())
    return jsonify([{key: value for key, value in row.items() if key != "canaries"} for row in rows])


@bp.get("/canaries")
def canaries():
    states = get_store().canary_states()
    rows = listing.canary_summaries(get_store(), request.args.get("target") or None)
    return jsonify([{**row, "state": states.get(row["id"], "registered")} for row in rows])


@bp.get(f"/canaries/<int(max={dashboard.MAX_ID}):canary_id>")
def canary(canary_id: int):
    try:
        limit, offset = _limit()
        return jsonify(dashboard.canary_detail(get_store(), canary_id, limit=limit, offset=offset))
    except NotFound as error:
        raise ApiError(404, str(error)) from None


@bp.get("/contacts")
def contacts():
    limit, offset = _limit()
    try:
        filters = dashboard.contact_filters(**{key: request.args.get(key)
                                              for key in ("channel", "site", "target", "since", "until", "canary")})
    except ValueError as error:
        raise ApiError(400, str(error)) from None
    return jsonify(get_store().search_contacts(**filters, limit=limit, offset=offset))


@bp.get("/tokens")
def tokens():
    return jsonify(listing.token_summaries(get_store()))


@bp.post("/tokens")
def issue_token():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, 'send a JSON object: {"kind": "dns", "note": "..."}')
    kind, note = body.get("kind"), body.get("note")
    if kind not in TOKEN_KINDS:
        raise ApiError(400, f"kind must be one of {', '.join(TOKEN_KINDS)}")
    if note is not None and (not isinstance(note, str) or len(note) > 500):
        raise ApiError(400, "note must be a string of at most 500 characters")
    try:
        token = Issuer(get_store(), get_settings()).issue_token(kind, note)
    except IdentifierError as error:
        raise ApiError(400, str(error)) from None
    return jsonify({key: token[key] for key in ("token", "kind", "value", "note", "created_at")}), 201
