"""Checkpoints of the evidence log's head, signed and timestamped: `canary evidence anchor`.

The hash chain shows edits inside the log; it cannot show that the whole log was rewritten
and re-hashed, or cut. A checkpoint says "at time T the log had N events and its last hash
was H", signed with the deployment's Ed25519 key and stamped by an RFC 3161 timestamping
authority: the TSA's time cannot be forged by whoever holds the machine, so a log rewritten
later no longer matches the checkpoints taken before. Run it from a timer (daily).
"""
from __future__ import annotations

import base64
import json
import pathlib

from .. import clock, signing_keys, timestamping
from ..deployment import Deployment
from .chain import canonical
from .verification import verify_store

SCHEME = "canary-evidence-checkpoint-v1"
EVENT = "evidence.checkpoint"


class CheckpointError(ValueError):
    """The log is broken (nothing to vouch for), or the checkpoint cannot be made."""


def take_checkpoint(deployment: Deployment, timestamp: bool = True) -> dict:
    """Sign (and timestamp) the current head, record it as an event, and return the checkpoint."""
    verification = verify_store(deployment.store)
    if not verification.ok:
        raise CheckpointError(f"the evidence log does not verify, so no checkpoint vouches for it: "
                              f"{verification.summary().splitlines()[0]}")
    key = deployment.signing_key()
    statement = canonical({"scheme": SCHEME, "deployment": deployment.settings["deployment"]["name"],
                           "seq": verification.chain.head_seq, "hash": verification.chain.head_hash,
                           "time": clock.utc_now(), "key": signing_keys.fingerprint(key.public_key())})
    stamp = timestamping.stamp(deployment.settings, statement) if timestamp else None
    checkpoint = {"statement": statement.decode("utf-8"), "signature": signing_keys.sign(key, statement),
                  "timestamp": stamp.as_dict() if stamp else None}
    event = deployment.store.append_event(EVENT, checkpoint)
    return {**checkpoint, "evidence_seq": event["seq"]}


def write_checkpoint(checkpoint: dict, folder: str | pathlib.Path) -> dict[str, pathlib.Path]:
    """Files a third party checks with OpenSSL: the statement, its signature, the TSA response, all of it as JSON."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    seq = json.loads(checkpoint["statement"])["seq"]
    stem = folder / f"checkpoint-{seq:08d}"
    paths = {"json": stem.with_suffix(".json"), "statement": stem.with_suffix(".statement"),
             "signature": stem.with_suffix(".sig")}
    paths["json"].write_text(json.dumps(checkpoint, indent=2) + "\n", "utf-8")
    paths["statement"].write_bytes(checkpoint["statement"].encode("utf-8"))
    paths["signature"].write_bytes(base64.b64decode(checkpoint["signature"]))
    if checkpoint["timestamp"]:
        paths["tsr"] = stem.with_suffix(".tsr")
        paths["tsr"].write_bytes(base64.b64decode(checkpoint["timestamp"]["response"]))
    return paths
