"""`canary evidence verify`: the hash chain recomputed, then the tables checked against it."""
from __future__ import annotations

import dataclasses

from .evidence import ChainCheck
from .store import Store

LISTED_PROBLEMS = 20  # in the text summary: a deleted event leaves one problem per row it recorded


@dataclasses.dataclass
class Verification:
    chain: ChainCheck
    problems: list[str]

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems

    def as_dict(self) -> dict:
        return {"ok": self.ok, "events": self.chain.events, "broken_at": self.chain.broken_at,
                "reason": self.chain.reason, "table_problems": self.problems}

    def summary(self) -> str:
        if self.ok:
            return f"evidence log intact: {self.chain.events} events, hash chain and tables agree"
        lines = []
        if not self.chain.ok:
            lines.append(f"evidence log BROKEN at event {self.chain.broken_at}: {self.chain.reason}")
        lines += [f"table disagrees with the evidence log: {problem}" for problem in self.problems[:LISTED_PROBLEMS]]
        if len(self.problems) > LISTED_PROBLEMS:
            lines.append(f"... and {len(self.problems) - LISTED_PROBLEMS} more problems (--json lists them all)")
        return "\n".join(lines)


def verify_store(store: Store) -> Verification:
    return Verification(store.verify_evidence(), store.audit_tables())
