"""Dashboard passwords and API tokens: hashing and checking, on top of the store."""
from __future__ import annotations

import functools
import hashlib
import secrets

from .store import Store

ADMIN = "admin"
MIN_PASSWORD_LENGTH = 10
# A fixed prefix makes leaked tokens easy to grep for and to tell apart from passwords.
API_TOKEN_PREFIX = "cnry_"


@functools.cache
def _dummy_hash() -> str:
    """Checked against when a user does not exist, so a wrong name costs as much time as a wrong
    password; made on first use, not at import (it costs a second to every command)."""
    return generate_password_hash("not a password, only here to spend time")


def generate_password_hash(password: str) -> str:
    # werkzeug is imported when a password is checked: importing it (its server too) slows every command.
    from werkzeug.security import generate_password_hash as generate
    return generate(password)


def check_password_hash(password_hash: str, password: str) -> bool:
    from werkzeug.security import check_password_hash as check
    return check(password_hash, password)


def new_password() -> str:
    return secrets.token_urlsafe(15)


def set_password(store: Store, name: str, password: str) -> dict:
    """Create user `name` or change its password."""
    name = name.strip()
    if not name or len(name) > 64 or not name.isprintable():
        raise ValueError(f"bad user name {name!r}: 1-64 printable characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
    return store.set_user_password(name, generate_password_hash(password))


def authenticate(store: Store, name: str, password: str) -> dict | None:
    """The user when name and password match, else None (same cost either way)."""
    user = store.find_user(name.strip())
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    return user if check_password_hash(user["password_hash"], password) else None


def password_fingerprint(user: dict) -> str:
    """Short digest of the password hash, kept in the session: changing a password ends old sessions."""
    return hashlib.sha256(user["password_hash"].encode()).hexdigest()[:16]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_token(store: Store, name: str) -> tuple[str, dict]:
    """A new API token (returned once, never stored) and its record."""
    if not name.strip():
        raise ValueError("give the API token a name saying who uses it")
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, store.add_api_token(name.strip(), _token_hash(token))


def check_api_token(store: Store, token: str) -> dict | None:
    """The live API token record for a presented token, else None."""
    if not token.startswith(API_TOKEN_PREFIX) or len(token) > 200:
        return None
    # Looked up by its hash: lookup timing tells nothing about the token itself.
    return store.find_api_token(_token_hash(token))
