"""Dashboard users and API tokens. Only hashes are stored: the store never sees a password or a token."""
from __future__ import annotations

from .. import clock
from .core import NotFound
from .part import StorePart


class UserStore(StorePart):
    def set_user_password(self, name: str, password_hash: str) -> dict:
        """Create user `name`, or replace its password hash; returns the user."""
        with self.transaction():
            existing = self._row("SELECT id FROM users WHERE name = ?", (name,))
            if existing:
                self.conn.execute("UPDATE users SET password_hash = ? WHERE id = ?",
                                  (password_hash, existing["id"]))
                self.append_event("user.password_changed", {"user": name})
            else:
                self._insert("users", {"name": name, "password_hash": password_hash,
                                       "created_at": clock.utc_now()})
                self.append_event("user.added", {"user": name})
        return self.get_user(name)

    def get_user(self, name: str) -> dict:
        user = self.find_user(name)
        if user is None:
            raise NotFound(f"no user named {name!r} (see `canary user list`)")
        return user

    def find_user(self, name: str) -> dict | None:
        return self._row("SELECT * FROM users WHERE name = ?", (name,))

    def find_user_by_id(self, user_id: int) -> dict | None:
        return self._row("SELECT * FROM users WHERE id = ?", (user_id,))

    def users(self) -> list[dict]:
        return self._rows("SELECT id, name, created_at FROM users ORDER BY name")

    def add_api_token(self, name: str, token_hash: str) -> dict:
        with self.transaction():
            token_id = self._insert("api_tokens", {"name": name, "token_hash": token_hash,
                                                   "created_at": clock.utc_now()})
            self.append_event("api_token.created", {"api_token_id": token_id, "name": name})
        return self._row("SELECT id, name, created_at, revoked_at FROM api_tokens WHERE id = ?", (token_id,))

    def find_api_token(self, token_hash: str) -> dict | None:
        """The live (not revoked) API token with this hash."""
        return self._row("SELECT id, name, created_at FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
                         (token_hash,))

    def api_tokens(self) -> list[dict]:
        return self._rows("SELECT id, name, created_at, revoked_at FROM api_tokens ORDER BY id")

    def revoke_api_token(self, token_id: int) -> None:
        with self.transaction():
            cursor = self.conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                                       (clock.utc_now(), token_id))
            if cursor.rowcount == 0:
                raise NotFound(f"no live API token {token_id} (see `canary api-token list`)")
            self.append_event("api_token.revoked", {"api_token_id": token_id})
