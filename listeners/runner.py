"""Starting the listeners together from a deployment's settings, and stopping them cleanly."""
from __future__ import annotations

import logging
import os
import resource
import signal
import sys
import threading
import time
from typing import Callable, Protocol

from canary.summaries.contacts import one_line
from canary.settings import parse_listen
from canary.store import Store

from listeners.budget import BudgetLimits, ContactBudget
from listeners.contact_log import ContactLog
from listeners.dns_server import DnsServer
from listeners.heartbeat import Heartbeat
from listeners.http import HttpServer
from listeners.imap import ImapWatcher
from listeners.recorder import Recorder
from listeners.smtp import SmtpServer

SERVERS = {"dns": DnsServer, "smtp": SmtpServer, "http": HttpServer}


class Worker(Protocol):
    """Anything that runs beside the listeners (e.g. the alerts worker): start() and stop()."""

    def start(self): ...

    def stop(self): ...


def contact_line(contact: dict) -> str:
    """One log line per contact: when, channel, identifier, owner, source and the gist.

    Names, paths, hosts, callers and bodies come from whoever made the contact: a newline
    there would forge a second contact line, an ESC would rewrite the operator's terminal.
    """
    owner = (f"canary {contact['canary_id']} ({contact.get('site') or '-'}/{contact.get('target') or '-'})"
             if contact.get("canary_id") else f"token {contact.get('token') or contact.get('token_id')}")
    details = contact.get("details") or {}
    gist = {"dns": lambda: f"{details.get('qtype')} {details.get('qname')} {details.get('transport')}",
            "smtp": lambda: f"{details.get('stage')} from {details.get('mail_from')!r} helo {details.get('helo')!r}",
            "http": lambda: f"{details.get('method')} {details.get('host')}{details.get('path')}",
            "imap": lambda: f"message {details.get('subject')!r} from {details.get('from')!r}",
            "sms": lambda: f"to {details.get('to')}: {details.get('body', '')[:60]!r}",
            "call": lambda: f"call to {details.get('to')} ({details.get('CallStatus') or details.get('provider')})",
            }.get(contact["channel"], lambda: "")()
    return one_line(f"{contact['time']} {contact['channel']} {contact['identifier']} {owner} "
                    f"from {contact.get('source')}: {gist}")


class EscapingFormatter(logging.Formatter):
    """Log messages quote what clients sent (aiosmtpd logs an unknown SMTP command as is): spelled out, one line."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = one_line(record.message)
        return super().formatMessage(record)


class Listeners:
    """The recorder, the enabled listeners and extra workers, started and stopped as one."""

    def __init__(self, settings, store, *, listen: dict[str, str | None] | None = None,
                 workers: list[Worker] = (), log: Callable[[str], None] | None = None):
        self.settings = settings
        self.log = log or (lambda line: print(line, flush=True))
        # A connection of the listeners' own: resolving names never waits behind a
        # transaction of the alert worker or the dashboard on the caller's connection.
        self.store = Store(store.location)
        self.host = settings.host_name
        # Contact lines are written off the contact writer's thread: output nobody reads must not stop it.
        self.contact_log = ContactLog(contact_line, self.log)
        self.recorder = Recorder(self.store, on_recorded=self.contact_log, host=self.host,
                                 budget=ContactBudget(BudgetLimits.from_settings(settings)))
        self.heartbeat: Heartbeat | None = None
        listen = listen or {}
        # None: the address from settings; "" or "off": that listener is not started.
        self.addresses = {name: (settings[name]["listen"] if listen.get(name) is None else listen[name])
                          for name in SERVERS}
        self.servers: dict[str, object] = {}
        # The mailbox pool's watcher records through the same recorder, so it runs in here.
        watcher = ImapWatcher.from_settings(settings, self.recorder)
        self.workers = ([watcher] if watcher is not None else []) + list(workers)

    def start(self) -> "Listeners":
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # we log contacts, not every request
        self.contact_log.start()
        self.recorder.start()
        bound: list[str] = []
        try:
            for name, server_class in SERVERS.items():
                address = self.addresses[name]
                if not address or address == "off":
                    continue
                host, port = parse_listen(address)
                try:
                    self.servers[name] = server_class.from_settings(self.settings, self.recorder, host, port).start()
                except OSError as error:   # "Address already in use" alone does not say which of three
                    reason = os.strerror(error.errno) if error.errno else str(error)
                    raise OSError(f"{name} listener cannot listen on {address}: {reason}") from None
                bound.append(f"{name} {host}:{self.servers[name].port}")
                self.log(f"{name} listening on {host}:{self.servers[name].port}"
                         + (" (udp, tcp)" if name == "dns" else ""))
            self.heartbeat = Heartbeat(self.store.location, self.host, ", ".join(bound),
                                       float(self.settings["store"]["heartbeat_seconds"])).start()
            for worker in self.workers:
                worker.start()
                if isinstance(worker, ImapWatcher):
                    self.log(f"imap watching {worker.mailbox} every {worker.poll_seconds:g}s")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop taking requests, then commit whatever is queued."""
        for worker in reversed(self.workers):
            try:
                worker.stop()
            except Exception as error:
                print(f"worker {worker!r} did not stop cleanly: {error}", file=sys.stderr)
        for server in self.servers.values():
            server.stop()
        self.servers.clear()
        self.recorder.stop()
        self.contact_log.stop()
        if self.heartbeat is not None:
            self.heartbeat.stop()
            self.heartbeat = None
        self.store.close()


def raise_file_limit() -> int:
    """Soft limit of open files up to the hard one (systemd's LimitNOFILE): the connection caps
    of the three listeners together need more than the usual 1,024. Returns the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


class _QuietAcceptErrors(logging.Filter):
    """Out of file descriptors, asyncio logs a traceback each time it retries accept(), and up to 100
    times per retry (its accept loop goes on after the error: 637 lines in 15 s under a limit of 128
    descriptors, tests/test_listeners_descriptors.py): one line per listening socket every
    `every` seconds instead, without the traceback."""

    def __init__(self, every: float = 10.0, clock=time.monotonic):
        super().__init__()
        self.every, self.clock = every, clock
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "out of system resource" not in message:
            return True
        record.exc_info, record.exc_text = None, None
        now = self.clock()
        if now - self._last.get(message, -self.every) < self.every:
            return False
        self._last[message] = now
        return True


def serve(listeners: Listeners, stop: threading.Event | None = None) -> None:
    """Run until SIGINT or SIGTERM (or `stop` is set), then stop everything cleanly."""
    raise_file_limit()
    logging.getLogger("asyncio").addFilter(_QuietAcceptErrors())
    stop = stop or threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        listeners.start()
        listeners.log("ready; stop with Ctrl-C or SIGTERM")
        while not stop.wait(1.0):
            pass
        listeners.log("stopping")
    finally:
        listeners.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    listeners.log("stopped")
