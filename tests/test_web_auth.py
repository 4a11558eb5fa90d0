"""Dashboard login, logout, CSRF, sessions and the headers every page carries."""
import re

from conftest import ADMIN_PASSWORD, csrf_from
from storemode import sqlite_only

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


def test_parallel_wrong_passwords_from_one_address_get_exactly_the_limit_checked(app, client):
    """Issue 11: 60 parallel wrong passwords got 26 checked with a limit of 10."""
    import concurrent.futures

    token = csrf_from(client.get("/login").text)
    cookie = client.get_cookie("canary_session").value

    def attempt(_):
        with app.test_client() as other:
            other.set_cookie("canary_session", cookie)
            return other.post("/login", data={"csrf_token": token, "username": "admin",
                                              "password": "guess guess guess"}).status_code
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(attempt, range(60)))
    assert codes.count(401) == 10 and codes.count(429) == 50


def test_many_addresses_meet_the_account_and_global_limits_and_cannot_reset_the_table(app, client, login):
    app.config.update(LOGIN_FAILURES_PER_ACCOUNT=5, LOGIN_FAILURES_GLOBAL=8)
    token = csrf_from(client.get("/login").text)

    def attempt(address, username="admin"):
        return client.post("/login", data={"csrf_token": token, "username": username, "password": "guess guess"},
                           environ_base={"REMOTE_ADDR": address}).status_code
    codes = [attempt(f"198.51.100.{n}") for n in range(1, 20)]   # 300 addresses got 300 tries before
    assert codes.count(401) == 5 and codes[5:] == [429] * 14      # the account's limit
    others = [attempt(f"203.0.113.{n}", username=f"user{n}") for n in range(1, 20)]
    assert others.count(401) == 3 and others[3:] == [429] * 16    # the global limit: 8 in all
    assert login().status_code == 429   # flooding did not empty the table: still locked


def test_logout_ends_the_session_server_side(client, login):
    login()
    stolen = client.get_cookie("canary_session").value
    assert client.get("/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)})
    client.set_cookie("canary_session", stolen)   # a copy of the cookie taken before logout
    assert client.get("/").status_code == 302


@sqlite_only("the file canary.db's permissions; a PostgreSQL store's access is its server's roles")
def test_the_store_is_created_readable_by_its_owner_only(home):
    import stat
    assert stat.S_IMODE((home / "canary.db").stat().st_mode) == 0o600
