"""The evidence log's hash chain: canonical encoding, event hashes, verification."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Iterable

GENESIS_HASH = "0" * 64


def canonical(value) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def event_hash(seq: int, time: str, clock: str, kind: str, payload: dict, prev_hash: str) -> str:
    """sha256 over the canonical encoding of every field of an event but its own hash."""
    body = {"seq": seq, "time": time, "clock": clock, "kind": kind, "payload": payload, "prev_hash": prev_hash}
    return hashlib.sha256(canonical(body)).hexdigest()


@dataclass
class ChainCheck:
    events: int
    broken_at: int | None = None
    reason: str = ""
    # The last event's hash: kept outside the store (a signed report, an alert, an offsite log),
    # it anchors the chain, so that rewriting or cutting the log later is detected too.
    head_seq: int = 0
    head_hash: str = GENESIS_HASH

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(rows: Iterable[dict]) -> ChainCheck:
    """Recompute every hash in seq order; report the first event that does not fit."""
    expected_prev, expected_seq, count = GENESIS_HASH, 1, 0
    for row in rows:
        count += 1
        seq = row["seq"]
        if seq != expected_seq:
            return ChainCheck(count, seq, f"event {expected_seq} is missing (next is {seq})")
        if row["prev_hash"] != expected_prev:
            return ChainCheck(count, seq, f"event {seq} does not point at the hash of event {seq - 1}")
        try:
            payload = json.loads(row["payload"])
        except json.JSONDecodeError:
            return ChainCheck(count, seq, f"event {seq} has an unreadable payload")
        recomputed = event_hash(seq, row["time"], row["clock"], row["kind"], payload, row["prev_hash"])
        if recomputed != row["hash"]:
            return ChainCheck(count, seq, f"event {seq} was altered: its content no longer matches its hash")
        expected_prev, expected_seq = row["hash"], seq + 1
    return ChainCheck(count, head_seq=expected_seq - 1, head_hash=expected_prev)


def parse_anchor(text: str) -> tuple[int, str]:
    """'SEQ:HASH' as `canary evidence verify` prints it -> (seq, hash)."""
    seq, _, digest = text.strip().partition(":")
    if not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"bad anchor {text!r}: expected SEQ:SHA256 as `canary evidence verify` prints it")
    return int(seq), digest
