"""Anchors: the chain's head kept outside the store catches a log rewritten or cut later."""
import json
import sqlite3

import pytest

from canary.evidence import event_hash, parse_anchor
from canary.verification import verify_store


def _rewrite_from(path, seq, new_payload):
    """What an attacker with write access does: change one event and re-hash every later one."""
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER evidence_no_update")
    rows = conn.execute("SELECT seq, time, clock, kind, payload, prev_hash FROM evidence WHERE seq >= ? "
                        "ORDER BY seq", (seq,)).fetchall()
    prev = None
    for row_seq, time, clock, kind, payload, prev_hash in rows:
        payload = new_payload if row_seq == seq else json.loads(payload)
        prev_hash = prev or prev_hash
        digest = event_hash(row_seq, time, clock, kind, payload, prev_hash)
        conn.execute("UPDATE evidence SET payload = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                     (json.dumps(payload, sort_keys=True), prev_hash, digest, row_seq))
        prev = digest
    conn.commit()
    conn.close()


@pytest.fixture
def logged(deployment):
    for name in ("Lab A", "Lab B", "Lab C"):
        deployment.store.add_site(name)
    return deployment


def test_a_consistent_rewrite_passes_the_chain_but_not_an_anchor(logged):
    store = logged.store
    before = verify_store(store)
    assert before.ok and before.head == f"{before.chain.head_seq}:{before.chain.head_hash}"
    anchor = parse_anchor(before.head)
    site_event = next(e for e in store.events() if e["kind"] == "site.added")
    _rewrite_from(store.path, site_event["seq"], {**site_event["payload"], "name": "Someone else"})
    after = verify_store(store)
    assert after.chain.ok  # the chain alone cannot see a rewrite done with care...
    rewritten = verify_store(store, [anchor])
    assert not rewritten.ok  # ...an anchor taken before it can
    assert rewritten.anchor_problems == [
        f"event {anchor[0]} now hashes to {store.event_hash_at(anchor[0])[:16]}..., not {anchor[1][:16]}... "
        "(the log was rewritten after the anchor was taken)"]


def test_an_anchor_on_a_cut_event_reports_it_gone(logged):
    store = logged.store
    anchor = parse_anchor(verify_store(store).head)
    conn = sqlite3.connect(store.path)
    conn.execute("DROP TRIGGER evidence_no_delete")
    conn.execute("DELETE FROM evidence WHERE seq = ?", (anchor[0],))
    conn.commit()
    conn.close()
    problems = verify_store(store, [anchor]).anchor_problems
    assert problems == [f"event {anchor[0]} is gone (the log was cut or rewritten after the anchor was taken)"]


def test_cli_prints_the_head_and_checks_anchors(logged, invoke):
    out = invoke("evidence", "verify").output
    head = out.split("--anchor): ")[1].strip()
    assert invoke("evidence", "verify", "--anchor", head).exit_code == 0
    bad = head[:-1] + ("0" if head[-1] != "0" else "1")
    result = invoke("evidence", "verify", "--anchor", bad, expect_exit=1)
    assert "anchor does not hold" in result.output
    result = invoke("evidence", "verify", "--anchor", "nonsense", expect_exit=1)
    assert "bad anchor 'nonsense'" in result.output and "Traceback" not in result.output
