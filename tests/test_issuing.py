"""Registered canaries and tokens: unique, valid, and resolvable whatever the case."""
import random
import re

import pytest

from canary.generation import identifiers as ids
from canary.generation.issuing import Issuer
from canary.generation.nir import is_valid_nir
from canary.generation.patients import generate_patients
from canary.generation.phones import PhonesExhausted


@pytest.fixture
def registered(deployment):
    """3,000 canaries over two targets and 50 tokens of each kind, registered in one transaction."""
    store = deployment.store
    store.add_site("Lab")
    targets = [store.add_target(name, "Lab")["id"] for name in ("prod", "backup")]
    issuer = Issuer(store, deployment.settings, random.Random(5))
    with store.transaction():
        canaries = [issuer.register_canary(patient, targets[n % 2])
                    for n, patient in enumerate(generate_patients(3000, seed=11))]
        tokens = [issuer.issue_token(kind) for kind in ("dns", "email", "url", "phone") for _ in range(50)]
    return store, canaries, tokens


def test_no_two_canaries_or_tokens_share_an_identifier(registered):
    store, canaries, tokens = registered
    values = [value for c in canaries for found in c["identifiers"].values() for value in found]
    values += [t["value"] for t in tokens]
    assert len(values) == len(set(values))
    owners = {}
    for row in store.all_identifiers():
        owners.setdefault(row["value"], set()).add((row["canary_id"], row["token_id"]))
    assert all(len(owner) == 1 for owner in owners.values())


def test_canary_identifiers_are_well_formed(registered):
    _, canaries, _ = registered
    for canary in canaries:
        found = canary["identifiers"]
        assert set(found) == {"email", "phone", "nir", "url", "hostname"}
        for hostname in found["hostname"]:
            assert ids.check_dns_name(hostname) == hostname and len(hostname) <= 253
            assert all(len(label) <= 63 for label in hostname.split("."))
            assert ids.labels_below(hostname, "canary.test") == [canary["label"]]
        email = found["email"][0]
        assert email.endswith(f"@{canary['label']}.canary.test")
        assert found["phone"][0].startswith("+33") and is_valid_nir(found["nir"][0])
        assert canary["patient"]["email"] == email and canary["patient"]["phone"] == found["phone"][0]


def test_identifiers_resolve_back_whatever_their_case(registered):
    store, canaries, tokens = registered
    for canary in canaries[::97]:
        for kind, values in canary["identifiers"].items():
            for value in values:
                written = value.upper() if kind != "phone" else value
                resolved = store.resolve(ids.normalise(kind, written))
                assert resolved["canary_id"] == canary["id"], (kind, value)
    for token in tokens:
        kind = {"dns": "hostname", "email": "email", "url": "url", "phone": "phone"}[token["kind"]]
        assert store.resolve(ids.normalise(kind, token["value"].swapcase()))["token_id"] == token["id"]


def test_phone_numbers_run_out_with_a_clear_error(tmp_path, store_url):
    from canary.deployment import init_deployment
    pool = tmp_path / "pool.txt"
    pool.write_text("# our two lines\n06 39 98 00 01\n+33639980002\n")
    deployment = init_deployment(tmp_path / "d", ["canary.test"], phone_pool=str(pool), store=store_url)
    issuer = Issuer(deployment.store, deployment.settings)
    numbers = {issuer.issue_token("phone")["value"] for _ in range(2)}
    assert numbers == {"+33639980001", "+33639980002"}
    with pytest.raises(PhonesExhausted):
        issuer.issue_token("phone")
    assert len(deployment.store.tokens()) == 2
    deployment.close()


def test_malformed_phone_pool_names_the_line(tmp_path, invoke):
    from click.testing import CliRunner

    from canary.cli import main
    pool = tmp_path / "pool.txt"
    pool.write_text("0639980001\nnot a number\n")
    result = CliRunner().invoke(main, ["init", "--home", str(tmp_path / "d"), "--zone", "canary.test",
                                       "--phone-pool", str(pool)])
    assert result.exit_code == 1 and "pool.txt, line 2: not a phone number" in result.output
    assert not (tmp_path / "d").exists()


def test_shared_mail_domain_keeps_addresses_unique_and_realistic(tmp_path, store_url):
    from canary.deployment import init_deployment
    deployment = init_deployment(tmp_path / "d", ["canary.test"], mail_domains=["example.org"], mail_mode="shared",
                                 store=store_url)
    issuer = Issuer(deployment.store, deployment.settings, random.Random(2))
    patients = generate_patients(200, seed=3)
    with deployment.store.transaction():
        canaries = [issuer.register_canary(patient) for patient in patients]
    emails = [c["identifiers"]["email"][0] for c in canaries]
    assert len(set(emails)) == 200 and all(e.endswith("@example.org") for e in emails)
    for patient, canary, email in zip(patients, canaries, emails):
        # the generated, name-derived local part, made unique by a few digits
        generated_local = patient["email"].split("@")[0]
        assert re.fullmatch(re.escape(generated_local) + r"\d{2,4}@example\.org", email)
        assert canary["identifiers"]["hostname"] == [f"{canary['label']}.canary.test"]
    deployment.close()
