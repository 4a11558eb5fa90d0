"""Listener hosts: which `canary serve` processes share this store, and when each was last heard of."""
from __future__ import annotations

from .. import clock


class HostStore:
    def host_started(self, name: str, pid: int, listeners: str) -> None:
        """A listener host starts (again): its row is (re)made, alive."""
        now = clock.utc_now()
        with self.transaction():
            self.conn.execute(
                "INSERT INTO listener_hosts (name, started_at, last_seen, last_write, stopped_at, pid, listeners) "
                "VALUES (?, ?, ?, NULL, NULL, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "started_at = excluded.started_at, last_seen = excluded.last_seen, stopped_at = NULL, "
                "pid = excluded.pid, listeners = excluded.listeners", (name, now, now, int(pid), listeners))

    def host_heartbeat(self, name: str) -> None:
        with self.transaction():
            self.conn.execute("UPDATE listener_hosts SET last_seen = ? WHERE name = ?", (clock.utc_now(), name))

    def host_stopped(self, name: str) -> None:
        now = clock.utc_now()
        with self.transaction():
            self.conn.execute("UPDATE listener_hosts SET last_seen = ?, stopped_at = ? WHERE name = ?",
                              (now, now, name))

    def listener_hosts(self) -> list[dict]:
        return self._rows("SELECT * FROM listener_hosts ORDER BY name")
