"""The compiled engine kept between scans, in the deployment's folder.

Compiling the patterns of a few thousand identifiers takes a second or two; reading the
identifiers from the store takes a tenth of that. So a scan reads them, derives the patterns
(which are the whole input of the compilation) and looks for a file compiled from exactly
those patterns: the file's key is a digest of the patterns and of the Hyperscan version, so
any new, retired or changed identifier makes a new key and the file is compiled anew. No
version to bump, nothing to invalidate by hand. Only compiled pattern databases are kept
(no pickled objects): a damaged or foreign file is ignored and replaced.
"""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import tempfile

import hyperscan

from .engine import Engine
from .matcher import IdentifierIndex

CACHE_FILE = "scan-engine.hs"
_MAGIC = b"canary-scan-engine 2\n"   # 2: Corsican NIRs moved to the digits database


def cached_engine(index: IdentifierIndex, folder: pathlib.Path) -> Engine:
    """The index's engine from `folder`'s cache file when it was compiled from the same
    patterns, else compiled now and saved there (best effort: a read-only folder only costs time)."""
    patterns = index.patterns()
    key = _key(patterns)
    path = pathlib.Path(folder) / CACHE_FILE
    engine = _load(path, key, patterns)
    if engine is None:
        engine = Engine(*patterns)
        _save(path, key, engine)
    index.use_engine(engine)
    return engine


def _key(patterns) -> str:
    digest = hashlib.sha256(getattr(hyperscan, "__version__", "").encode())
    for group in patterns:
        digest.update(b"\x00%d\x00" % len(group))
        digest.update(b"\n".join(group))
    return digest.hexdigest()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _load(path: pathlib.Path, key: str, patterns) -> Engine | None:
    try:
        with path.open("rb") as handle:
            if handle.readline() != _MAGIC:
                return None
            header = json.loads(handle.readline())
            payload = handle.read()
    except (OSError, ValueError):
        return None
    if not isinstance(header, dict) or header.get("key") != key or header.get("sha256") != _digest(payload):
        return None   # another identifier set, or a damaged file: Hyperscan must never read a bad database
    cut = header.get("digits")
    if not isinstance(cut, int) or not 0 <= cut <= len(payload):
        return None
    digits, names = payload[:cut] or None, payload[cut:] or None
    engine = Engine.__new__(Engine)
    try:
        engine.__setstate__({"digit_keys": patterns[0], "suffixes": patterns[1],
                             "digits": digits, "names": names})
    except hyperscan.error:
        return None
    return engine


def _save(path: pathlib.Path, key: str, engine: Engine) -> None:
    state = engine.__getstate__()
    digits, names = state["digits"] or b"", state["names"] or b""
    header = json.dumps({"key": key, "digits": len(digits), "sha256": _digest(digits + names)}).encode() + b"\n"
    try:
        handle = tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=".scan-engine-", delete=False)
    except OSError:
        return
    try:
        with handle:
            handle.write(_MAGIC + header + digits + names)
        os.replace(handle.name, path)   # readers see the old file or the new one, never half of one
    except OSError:
        pathlib.Path(handle.name).unlink(missing_ok=True)
