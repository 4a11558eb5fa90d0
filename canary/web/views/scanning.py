"""Scanning a leaked file by upload: attribution on the page, signed reports to download.

The scan itself is `canary.scan.scan_files(deployment, paths)`, the same as `canary scan`.
"""
from __future__ import annotations

import pathlib
import tempfile

from flask import Blueprint, render_template, request
from werkzeug.utils import secure_filename

from ...deployment import Deployment
from ..auth import login_required
from ..db import get_settings, get_store

bp = Blueprint("scanning", __name__)


def scan_uploaded(path: pathlib.Path) -> dict:
    """Scan one saved upload and record it, as `canary scan` would; returns the result as a dict."""
    from ...scan import scan_files
    return scan_files(Deployment(get_settings(), get_store()), [str(path)]).as_dict()


@bp.route("/scan", methods=("GET", "POST"))
@login_required
def scan():
    result = error = None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = "Choose a file to scan."
        else:
            # The upload is bounded by MAX_CONTENT_LENGTH (dashboard.max_upload_bytes) before we get here,
            # and lives only in a private temporary folder under a name it cannot choose.
            with tempfile.TemporaryDirectory(prefix="canary-upload-") as folder:
                path = pathlib.Path(folder) / (secure_filename(upload.filename) or "upload")
                upload.save(path)
                try:
                    result = scan_uploaded(path)
                except ValueError as problem:  # ScanInputError and friends: a file we cannot read
                    # Said with the uploaded file's name: the server's temporary folder is nobody's business.
                    error = str(problem).replace(str(path), path.name)
    return render_template("scan.html", result=result, error=error,
                           limit_mb=get_settings()["dashboard"]["max_upload_bytes"] // (1024 * 1024))
