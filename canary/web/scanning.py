"""Scanning a leaked file by upload: attribution on the page, the evidence report to download.

TODO(scan): `canary.scan.scan_files(deployment, paths)` and `canary.report` are being
written on another branch; until they land on main this page says so and scans nothing.
"""
from __future__ import annotations

import importlib.util

from flask import Blueprint, render_template

from .auth import login_required

bp = Blueprint("scanning", __name__)


def scanning_available() -> bool:
    return importlib.util.find_spec("canary.scan") is not None


@bp.route("/scan", methods=("GET", "POST"))
@login_required
def scan():
    return render_template("scan.html", available=scanning_available()), 200
