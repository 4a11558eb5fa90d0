"""Dashboard login, logout, CSRF, sessions and the headers every page carries."""
import re

from conftest import ADMIN_PASSWORD, csrf_from

from canary import accounts


def test_pages_need_a_login(client):
    for path in ("/", "/contacts", "/canaries/1", "/scan"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


def test_login_with_the_right_password_opens_the_overview(client, login):
    response = login(next_path="/contacts")
    assert response.status_code == 302 and response.headers["Location"] == "/contacts"
    page = client.get("/")
    assert page.status_code == 200 and "Overview" in page.text


def test_wrong_password_and_unknown_user_are_refused_alike(client, login):
    for name, password in (("admin", "wrong password!"), ("nobody", ADMIN_PASSWORD)):
        response = login(name, password)
        assert response.status_code == 401
        assert "Wrong user name or password." in response.text
    assert client.get("/").status_code == 302


def test_login_without_csrf_token_is_refused(client, deployment):
    accounts.set_password(deployment.store, "admin", ADMIN_PASSWORD)
    client.get("/login")
    response = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_logout_needs_the_csrf_token_then_ends_the_session(client, login):
    login()
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/").status_code == 200
    token = csrf_from(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_next_never_leads_off_site(client, login):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "/\t/evil.example", "/\n/evil.example"):
        response = login(next_path=target)
        assert response.headers["Location"] == "/", target


def test_changing_the_password_ends_existing_sessions(client, login, deployment):
    login()
    assert client.get("/").status_code == 200
    accounts.set_password(deployment.store, "admin", "a brand new password")
    assert client.get("/").status_code == 302


def test_repeated_failures_are_slowed_down(app, client, login):
    app.config["LOGIN_FAILURES_ALLOWED"] = 3
    for _ in range(3):
        assert login(password="guess guess guess").status_code == 401
    assert login().status_code == 429  # even the right password waits out the window


def test_session_cookie_is_httponly_and_samesite_lax(client, login):
    response = login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and cookie.startswith("canary_session=")


def test_every_page_carries_a_strict_policy(client, login):
    login()
    for path in ("/login", "/", "/contacts"):
        headers = client.get(path).headers
        policy = headers["Content-Security-Policy"]
        assert "script-src" not in policy and "default-src 'none'" in policy  # no script at all
        assert "frame-ancestors 'none'" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"


def test_password_rules_and_hashing(deployment):
    user = accounts.set_password(deployment.store, "alice", "long enough pw")
    assert "long enough pw" not in user["password_hash"] and user["password_hash"].startswith(("scrypt:", "pbkdf2:"))
    assert accounts.authenticate(deployment.store, "alice", "long enough pw")["name"] == "alice"
    assert accounts.authenticate(deployment.store, "alice", "long enough PW") is None
    import pytest
    with pytest.raises(ValueError, match="too short"):
        accounts.set_password(deployment.store, "alice", "short")


def test_a_mistyped_password_still_leads_to_the_page_asked_for(client, login):
    login_page = client.get(client.get("/contacts?channel=dns").headers["Location"]).text
    form = {"csrf_token": csrf_from(login_page), "username": "admin", "password": "not the password",
            "next": re.search(r'name="next" value="([^"]*)"', login_page).group(1)}
    assert form["next"] == "/contacts?channel=dns"
    retry_page = client.post("/login", data=form).text
    form.update(password=ADMIN_PASSWORD, next=re.search(r'name="next" value="([^"]*)"', retry_page).group(1))
    assert client.post("/login", data=form).headers["Location"] == "/contacts?channel=dns"
