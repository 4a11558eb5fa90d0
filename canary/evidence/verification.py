"""`canary evidence verify`: the hash chain recomputed, then the tables checked against it."""
from __future__ import annotations

import dataclasses
import json

from .. import timestamping
from .chain import ChainCheck
from ..store import Store

LISTED_PROBLEMS = 20  # in the text summary: a deleted event leaves one problem per row it recorded


@dataclasses.dataclass
class Verification:
    chain: ChainCheck
    problems: list[str]
    anchor_problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems and not self.anchor_problems

    @property
    def head(self) -> str:
        """The anchor to keep elsewhere: SEQ:HASH of the last event."""
        return f"{self.chain.head_seq}:{self.chain.head_hash}"

    def as_dict(self) -> dict:
        return {"ok": self.ok, "events": self.chain.events, "broken_at": self.chain.broken_at,
                "reason": self.chain.reason, "table_problems": self.problems,
                "anchor_problems": self.anchor_problems, "head": self.head}

    def summary(self) -> str:
        if self.ok:
            return (f"evidence log intact: {self.chain.events} events, hash chain and tables agree\n"
                    f"head (keep it elsewhere, check it later with --anchor): {self.head}")
        lines = []
        if not self.chain.ok:
            lines.append(f"evidence log BROKEN at event {self.chain.broken_at}: {self.chain.reason}")
        lines += [f"anchor does not hold: {problem}" for problem in self.anchor_problems]
        lines += [f"table disagrees with the evidence log: {problem}" for problem in self.problems[:LISTED_PROBLEMS]]
        if len(self.problems) > LISTED_PROBLEMS:
            lines.append(f"... and {len(self.problems) - LISTED_PROBLEMS} more problems (--json lists them all)")
        return "\n".join(lines)


def verify_store(store: Store, anchors: list[tuple[int, str]] = ()) -> Verification:
    """The chain, the tables against it, each anchor (seq, hash) kept from an earlier check, and
    each checkpoint `canary evidence anchor` recorded."""
    checkpoints, problems = _recorded_checkpoints(store)
    for seq, digest in [*anchors, *checkpoints]:
        stored = store.event_hash_at(seq)
        if stored is None:
            problems.append(f"event {seq} is gone (the log was cut or rewritten after the anchor was taken)")
        elif stored != digest:
            problems.append(f"event {seq} now hashes to {stored[:16]}..., not {digest[:16]}... "
                            "(the log was rewritten after the anchor was taken)")
    return Verification(store.verify_evidence(), store.audit_tables(), problems)


def _recorded_checkpoints(store: Store) -> tuple[list[tuple[int, str]], list[str]]:
    """The heads that `canary evidence anchor` signed and timestamped, each of which must still hold,
    and the checkpoints whose timestamp no longer stamps their statement (a rewritten checkpoint)."""
    heads, problems = [], []
    for event in store.events(kind="evidence.checkpoint"):
        payload = event["payload"]
        try:
            statement = json.loads(payload["statement"])
            heads.append((int(statement["seq"]), str(statement["hash"])))
        except (KeyError, TypeError, ValueError):
            problems.append(f"checkpoint at event {event['seq']}: unreadable statement")
            continue
        if payload.get("timestamp"):
            try:
                timestamping.read_stamp(timestamping.decode(payload["timestamp"].get("response"), "checkpoint"),
                                        payload["statement"].encode("utf-8"), f"checkpoint at event {event['seq']}")
            except (timestamping.TimestampError, AttributeError) as error:
                problems.append(f"{error} (the checkpoint was rewritten after the TSA stamped it)")
    return heads, problems
