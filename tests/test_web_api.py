"""The JSON API: bearer API tokens, canaries, contacts, targets, issuing a token."""
import pytest

from canary import accounts


@pytest.fixture
def api(client, deployment, demo_lab):
    token, _ = accounts.create_api_token(deployment.store, "tests")

    def call(method, path, **kwargs):
        return client.open(path, method=method, headers={"Authorization": f"Bearer {token}"}, **kwargs)

    call.token = token
    return call


def test_no_token_wrong_token_and_revoked_token_are_401(client, deployment, api, login):
    assert client.get("/api/v1/canaries").status_code == 401
    wrong = client.get("/api/v1/canaries", headers={"Authorization": "Bearer cnry_not-a-real-token"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
    login()  # a dashboard session opens nothing in the API
    assert client.get("/api/v1/canaries").status_code == 401
    token_id = deployment.store.api_tokens()[0]["id"]
    assert api("GET", "/api/v1/canaries").status_code == 200
    deployment.store.revoke_api_token(token_id)
    assert api("GET", "/api/v1/canaries").status_code == 401


def test_only_the_hash_of_a_token_is_stored(deployment, api):
    dump = repr(deployment.store._rows("SELECT * FROM api_tokens")) + repr(deployment.store.events())
    assert api.token not in dump and api.token.startswith("cnry_")


def test_canaries_and_one_canary(api, demo_lab, deployment):
    canaries = api("GET", "/api/v1/canaries").get_json()
    assert len(canaries) == len(demo_lab.all_canaries) and {c["state"] for c in canaries} == {"planted", "missing", "retired"}
    assert len(api("GET", "/api/v1/canaries?target=lims-prod").get_json()) == len(demo_lab.canaries["lims-prod"])
    canary_id = demo_lab.leaked[1]
    patient = deployment.store.get_canary(canary_id)["patient"]
    count = len(deployment.store.contacts(canary_id=canary_id))
    one = api("GET", f"/api/v1/canaries/{canary_id}").get_json()
    assert one["name"] == f"{patient['first_name']} {patient['last_name']}" and len(one["contacts"]) == count
    assert one["plantings"][0]["state"] == "planted"
    page = api("GET", f"/api/v1/canaries/{canary_id}?limit=5&offset=10").get_json()
    assert count > 10 and page["contact_count"] == count and len(page["contacts"]) == count - 10
    assert len(api("GET", f"/api/v1/contacts?canary={canary_id}").get_json()) == count
    assert api("GET", "/api/v1/canaries/999").status_code == 404


def test_contacts_with_filters_and_limits(api, deployment):
    assert len(api("GET", "/api/v1/contacts").get_json()) == len(deployment.store.contacts())
    dns = api("GET", "/api/v1/contacts?channel=dns&limit=5").get_json()
    assert len(dns) == 5 and {c["channel"] for c in dns} == {"dns"}
    assert dns[0]["time"] >= dns[-1]["time"]  # newest first
    rennes = api("GET", "/api/v1/contacts?site=Laboratoire%20Rennes%20Nord").get_json()
    assert rennes and {c["site"] for c in rennes} == {"Laboratoire Rennes Nord"}
    assert api("GET", "/api/v1/contacts?site=BioAtlantique%20Nantes").get_json() == []
    assert api("GET", "/api/v1/contacts?limit=0").status_code == 400
    assert "bad time" in api("GET", "/api/v1/contacts?since=soon").get_json()["error"]


def test_targets(api):
    targets = api("GET", "/api/v1/targets").get_json()
    assert [t["name"] for t in targets] == ["vendor-extract", "lims-prod", "nightly-backup"]
    assert [t["kind"] for t in targets] == ["csv", "sqlite", "sqlite"]
    assert targets[1]["counts"] == {"planted": 7, "missing": 1, "retired": 1, "registered": 0}
    assert all(t["last_check"] for t in targets)


def test_issue_a_token(api, deployment):
    response = api("POST", "/api/v1/tokens", json={"kind": "dns", "note": "fake backup host in the wiki"})
    assert response.status_code == 201
    token = response.get_json()
    assert token["value"].endswith(".canary.test") and deployment.store.resolve(token["value"])["token"] == token["token"]
    assert api("POST", "/api/v1/tokens", json={"kind": "carrier-pigeon"}).status_code == 400
    assert api("POST", "/api/v1/tokens", data="not json").status_code == 400
    assert [t["token"] for t in api("GET", "/api/v1/tokens").get_json()][-1] == token["token"]


def test_numbers_too_big_for_the_database_are_a_clear_error(api):
    huge = "9" * 25
    assert api("GET", f"/api/v1/canaries/{huge}").status_code == 404
    for path in (f"/api/v1/contacts?offset={huge}", f"/api/v1/contacts?canary={huge}",
                 f"/api/v1/canaries/1?offset={huge}"):
        response = api("GET", path)
        assert response.status_code == 400 and response.get_json()["error"], path
