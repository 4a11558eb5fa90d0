"""A production WSGI server (waitress) for the HTTP listener and the dashboard, in a thread.

Why waitress rather than gunicorn: the listeners run in one process (DNS and SMTP on
asyncio loops, one recorder with its group-commit writer thread) and the HTTP listener must
share it; gunicorn forks workers and owns the process and its signals, waitress is a
library server that runs in a thread. It reads each request whole in its I/O loop before a
worker thread sees it, so idle or slow connections (slowloris) cost a descriptor, not a
thread; it closes a connection as soon as the response is written (werkzeug's development
server waited ~10 ms), and sends no Server banner when `ident` is empty.

On top of waitress: connections per source address are capped, and running out of file
descriptors pauses accepting for a moment with one log line, instead of a traceback per
retry.
"""
from __future__ import annotations

import errno
import logging
import threading
import time

from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer

from .caps import ConnectionCaps

log = logging.getLogger("canary.listeners.wsgi")

_OUT_OF_FILES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
_ACCEPT_PAUSE = 0.5   # seconds without accept() once descriptors ran out


class _CappedChannel(HTTPChannel):
    """A connection that gives its source's slot back when it closes, whichever way."""

    def __init__(self, server, sock, addr, adj, map=None):
        self._source = str(addr[0]) if addr else "unknown"
        self._released = False
        super().__init__(server, sock, addr, adj, map)

    def del_channel(self, map=None):
        if not self._released:
            self._released = True
            self.server.caps.release(self._source)
        super().del_channel(map)


class _CappedServer(TcpWSGIServer):
    channel_class = _CappedChannel

    def __init__(self, application, *, caps: ConnectionCaps, **kwargs):
        self.caps = caps
        self._paused_until = 0.0
        self._last_complaint = 0.0
        try:
            super().__init__(application, **kwargs)
        except BaseException:   # a busy port: what waitress opened before bind() failed is closed
            for opened in (getattr(self, "trigger", None), getattr(self, "socket", None)):
                try:
                    if opened is not None:
                        opened.close()
                except OSError:
                    pass
            raise

    def readable(self):
        if self.accepting and time.monotonic() < self._paused_until:
            return False
        return super().readable()

    def handle_accept(self):
        try:
            accepted = self.accept()
        except OSError as error:
            if error.errno in _OUT_OF_FILES:
                self._paused_until = time.monotonic() + _ACCEPT_PAUSE
                if time.monotonic() - self._last_complaint > 10:
                    self._last_complaint = time.monotonic()
                    log.error("out of file descriptors (%s): not accepting for %.1f s", error.strerror, _ACCEPT_PAUSE)
            return
        if accepted is None:
            return
        conn, addr = accepted
        source = str(addr[0]) if addr else "unknown"
        if not self.caps.admit(source):
            conn.close()
            return
        try:
            self.set_socket_options(conn)
            self.channel_class(self, conn, self.fix_addr(addr), self.adj, map=self._map)
        except OSError:
            self.caps.release(source)
            conn.close()


class WsgiServer:
    """`app` served by waitress on host:port (0: any free port); `start()` runs it in a thread."""

    def __init__(self, app, host: str, port: int, *, threads: int = 16, idle_seconds: float = 30,
                 max_connections: int = 512, max_connections_per_source: int = 32,
                 max_body_bytes: int = 1 << 30, name: str = "wsgi"):
        self.name = name
        self.server = _CappedServer(
            app, caps=ConnectionCaps(max_connections, max_connections_per_source),
            host=host, port=port, threads=threads,
            channel_timeout=max(1, int(idle_seconds)), cleanup_interval=max(1, min(30, int(idle_seconds))),
            # Our caps close what is beyond max_connections; waitress would leave it in the backlog.
            connection_limit=max_connections + 16, max_request_body_size=max_body_bytes,
            ident="",                               # no "Server:" banner
            expose_tracebacks=False, clear_untrusted_proxy_headers=False,  # the apps read X-Forwarded-For themselves
            log_socket_errors=False)
        self.port = self.server.effective_port
        self._thread: threading.Thread | None = None

    def start(self) -> "WsgiServer":
        self._thread = threading.Thread(target=self.server.run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.run()

    def stop(self) -> None:
        self.server.task_dispatcher.shutdown(timeout=5)
        done = threading.Event()

        def close_all():   # in the I/O loop's own thread: the loop ends once its map is empty
            trigger = self.server.trigger
            try:
                for dispatcher in list(self.server._map.values()):
                    if dispatcher is not trigger:
                        try:
                            dispatcher.close()
                        except OSError:
                            pass
                try:
                    trigger.close()
                except OSError:   # waitress's pipe trigger closes its descriptor twice
                    pass
            finally:
                done.set()
        try:
            self.server.trigger.pull_trigger(close_all)
        except OSError:     # stopped already: the loop has closed its trigger (EBADF), nothing left to close
            done.set()
        done.wait(5)
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
