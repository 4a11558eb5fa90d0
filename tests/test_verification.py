"""Verification beyond the chain: anchors kept outside the store, and the registry checked against its events."""
import json
import random

import pytest

from canary.evidence.chain import event_hash, parse_anchor
from canary.generation.issuing import Issuer
from canary.generation.patients import generate_patients
from canary.evidence.verification import verify_store
from storemode import tampering  # noqa: E402

# These tests tamper with the store's tables, as an attacker with write access to the database would.


def _rewrite_from(store, seq, new_payload):
    """What an attacker with write access does: change one event and re-hash every later one."""
    with tampering(store) as conn:
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
    _rewrite_from(store, site_event["seq"], {**site_event["payload"], "name": "Someone else"})
    after = verify_store(store)
    assert after.chain.ok  # the chain alone cannot see a rewrite done with care...
    rewritten = verify_store(store, [anchor])
    assert not rewritten.ok  # ...an anchor taken before it can
    assert rewritten.anchor_problems == [
        f"event {anchor[0]} now hashes to {store.event_hash_at(anchor[0])[:16]}..., not {anchor[1][:16]}... "
        "(the log was rewritten after the anchor was taken)"]


def test_a_recorded_checkpoint_catches_a_rewrite_made_after_it(logged):
    """`canary evidence anchor` records the signed head in the log itself: no anchor need be passed."""
    from canary.evidence.checkpoints import take_checkpoint
    store = logged.store
    checkpoint = take_checkpoint(logged, timestamp=False)
    assert verify_store(store).ok
    site_event = next(e for e in store.events() if e["kind"] == "site.added")
    _rewrite_from(store, site_event["seq"], {**site_event["payload"], "name": "Someone else"})
    rewritten = verify_store(store)
    assert rewritten.chain.ok and not rewritten.ok
    seq = json.loads(checkpoint["statement"])["seq"]
    assert rewritten.anchor_problems[0].startswith(f"event {seq} now hashes to")


def test_an_anchor_on_a_cut_event_reports_it_gone(logged):
    store = logged.store
    anchor = parse_anchor(verify_store(store).head)
    with tampering(store) as conn:
        conn.execute("DELETE FROM evidence WHERE seq = ?", (anchor[0],))
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


@pytest.fixture
def registered(deployment):
    """Two canaries in two targets and a token, registered the usual way."""
    store = deployment.store
    store.add_site("Lab")
    targets = [store.add_target(name, "Lab")["id"] for name in ("prod", "backup")]
    issuer = Issuer(store, deployment.settings, random.Random(1))
    canaries = [issuer.register_canary(patient, target) for patient, target in zip(generate_patients(2, 4), targets)]
    token = issuer.issue_token("dns")
    return store, canaries, token


def _sql(store, statement, params=()):
    with tampering(store) as conn:
        conn.execute(statement, params)


def test_the_registry_as_registered_passes(registered):
    store, _, _ = registered
    assert store.audit_tables() == []


def test_an_identifier_moved_to_another_canary_is_caught(registered):
    store, canaries, _ = registered
    email = canaries[0]["identifiers"]["email"][0]
    _sql(store, "UPDATE identifiers SET canary_id = ? WHERE value = ?", (canaries[1]["id"], email))
    assert verify_store(store).problems == [
        f"canary {canaries[0]['id']} (evidence event {_registration(store, canaries[0]['id'])}): email {email!r} "
        f"belongs to canary {canaries[1]['id']} in the identifiers table"]


def test_a_canary_moved_to_another_target_is_caught(registered):
    store, canaries, _ = registered
    _sql(store, "UPDATE canaries SET target_id = ? WHERE id = ?", (canaries[1]["target_id"], canaries[0]["id"]))
    problems = verify_store(store).problems
    assert len(problems) == 1 and "target is" in problems[0] and f"canary {canaries[0]['id']}" in problems[0]


def test_a_token_value_taken_away_and_an_identifier_slipped_in_are_caught(registered):
    store, canaries, token = registered
    _sql(store, "UPDATE identifiers SET value = 'other.canary.test' WHERE token_id = ?", (token["id"],))
    _sql(store, "INSERT INTO identifiers (kind, value, canary_id, created_at) VALUES ('email', 'x@y.canary.test', ?, "
                "'2026-01-01T00:00:00.000000Z')", (canaries[0]["id"],))
    problems = verify_store(store).problems
    assert any(f"token {token['token']}" in p and "no longer belongs to it" in p for p in problems)
    assert "email 'x@y.canary.test': in the identifiers table but in no registration event (inserted afterwards?)" \
        in problems


def _registration(store, canary_id):
    return next(e["seq"] for e in store.events("canary.registered") if e["payload"]["canary_id"] == canary_id)
