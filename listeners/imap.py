"""Mailboxes the operator owns at ordinary providers, watched over IMAP: mail arriving there is a contact.

A canary whose address is `jeanne.martin1961@<a big provider>` looks like any patient's;
nobody can reach our SMTP listener through it, so we read the mailbox instead. Pure:
`message_contact(raw, resolve, ...)` turns one message into a contact (or None); the thin
`ImapWatcher` polls the folder, records each new message durably with its headers, and
only then flags it `$CanaryRecorded` (a crash in between records it twice, never loses it).
"""
from __future__ import annotations

import base64
import email.errors
import email.header
import email.parser
import email.policy
import email.utils
import hashlib
import imaplib
import logging
import re
import ssl
import threading

from canary.generation.identifiers import IdentifierError, normalise_email
from canary.settings import SettingsError

from listeners.contact import make_contact

log = logging.getLogger("canary.listeners.imap")

RECORDED_FLAG = "$CanaryRecorded"
# Where a provider leaves the address a message was delivered to: the envelope first.
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc", "Resent-To")
_RECEIVED_FOR = re.compile(r"\bfor\s+<?([^\s<>;]+@[^\s<>;]+)>?", re.IGNORECASE)
SECURITY = ("tls", "starttls", "none")


def _clean(text) -> str:
    """A header value as a person reads it: RFC 2047 words decoded, odd bytes replaced."""
    text = str(text).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except (ValueError, LookupError, email.errors.HeaderParseError):
        return text


def _parse_headers(raw: bytes):
    # Read as UTF-8 text first: compat32 would turn an 8-bit header into U+FFFD.
    return email.parser.Parser(policy=email.policy.compat32).parsestr(raw.decode("utf-8", "surrogateescape"),
                                                                      headersonly=True)


def _raw_text(text) -> str:
    """A header as it was sent (encoded words kept): evidence, not display."""
    return str(text).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def recipient_candidates(headers) -> list[str]:
    """Every address the message says it was delivered to, normalised, envelope headers first."""
    found = []
    for name in RECIPIENT_HEADERS:
        for _, address in email.utils.getaddresses([_clean(v) for v in headers.get_all(name, [])]):
            found.append(address)
    for received in headers.get_all("Received", []):
        found += _RECEIVED_FOR.findall(_clean(received))
    candidates = []
    for address in found:
        try:
            candidates.append(normalise_email(address))
        except IdentifierError:
            continue
    return list(dict.fromkeys(candidates))


def message_contact(raw: bytes, resolve, *, mailbox: str, uid: int, uidvalidity: int | None = None,
                    max_stored_bytes: int = 262_144) -> dict | None:
    """The contact a message in the watched mailbox makes, or None when it names no canary address."""
    headers = _parse_headers(raw)
    candidates = recipient_candidates(headers)
    resolved = resolve(candidates) if candidates else None
    if resolved is None or resolved.get("kind", "email") != "email":
        return None
    kept = raw[:max_stored_bytes]
    sender = email.utils.parseaddr(_clean(headers.get("From", "")))[1] or None
    details = {
        "stage": "imap",
        "mailbox": mailbox,
        "uid": uid,
        "uidvalidity": uidvalidity,
        "subject": _clean(headers.get("Subject", "")),
        "from": _clean(headers.get("From", "")),
        "date": _clean(headers.get("Date", "")),
        "message_id": _clean(headers.get("Message-ID", "")),
        # Every header, in order: the Received chain is where the sender's path shows.
        "headers": [[_raw_text(name), _raw_text(value)] for name, value in headers.items()],
        "size": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "raw_base64": base64.b64encode(kept).decode("ascii"),
        "truncated": len(raw) > len(kept),
    }
    return make_contact("imap", resolved, sender, details)


class ImapWatcher:
    """Polls one IMAP folder; each new message is recorded (durably) and then flagged."""

    def __init__(self, recorder, host: str, port: int, user: str, password: str, *, security: str = "tls",
                 folder: str = "INBOX", poll_seconds: float = 60, max_stored_bytes: int = 262_144,
                 timeout: float = 30):
        if security not in SECURITY:
            raise ValueError(f"imap security {security!r}: one of {', '.join(SECURITY)}")
        self.recorder = recorder
        self.host, self.port, self.user, self.password = host, port, user, password
        self.security, self.folder = security, folder
        self.poll_seconds, self.max_stored_bytes, self.timeout = poll_seconds, max_stored_bytes, timeout
        self.mailbox = f"{user}@{host}:{port}/{folder}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.recorded = 0

    @classmethod
    def from_settings(cls, settings, recorder) -> "ImapWatcher | None":
        """The watcher of the deployment's mailbox pool; None when no IMAP host is set."""
        pool = settings["mailboxes"]
        if not pool["imap_host"]:
            return None
        password_file = pool["imap_password_file"]
        try:
            password = (settings.home / password_file).read_text("utf-8").strip() if password_file else ""
        except OSError as error:
            raise SettingsError(f"mailboxes.imap_password_file: cannot read {settings.home / password_file}: "
                                f"{error.strerror}") from None
        return cls(recorder, pool["imap_host"], int(pool["imap_port"]), pool["imap_user"], password,
                   security=pool["imap_security"], folder=pool["imap_folder"],
                   poll_seconds=float(pool["poll_seconds"]),
                   max_stored_bytes=int(settings["smtp"]["max_stored_bytes"]))

    def _connect(self) -> imaplib.IMAP4:
        if self.security == "tls":
            client = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=ssl.create_default_context(),
                                       timeout=self.timeout)
        else:
            client = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                client.starttls(ssl.create_default_context())
        client.login(self.user, self.password)
        return client

    def poll_once(self) -> int:
        """Read the folder once: record every message not yet flagged; returns how many contacts."""
        client = self._connect()
        recorded = 0
        try:
            status, data = client.select(_quoted(self.folder))
            if status != "OK":
                raise imaplib.IMAP4.error(f"cannot select {self.folder}: {data}")
            uidvalidity = _uidvalidity(client)
            status, data = client.uid("SEARCH", None, "UNKEYWORD", RECORDED_FLAG)
            for uid in (data[0] or b"").split():
                status, fetched = client.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next((part[1] for part in fetched if isinstance(part, tuple)), None)
                if status != "OK" or raw is None:
                    continue
                contact = message_contact(raw, self.recorder.resolve, mailbox=self.mailbox, uid=int(uid),
                                          uidvalidity=uidvalidity, max_stored_bytes=self.max_stored_bytes)
                if contact is None:
                    self.recorder.count_unknown("imap", "message")
                else:
                    self.recorder.record(contact)       # on disk before the message is flagged
                    recorded += 1
                client.uid("STORE", uid, "+FLAGS", f"({RECORDED_FLAG})")
        finally:
            try:
                client.logout()
            except (imaplib.IMAP4.error, OSError):
                pass
        self.recorded += recorded
        return recorded

    # -- beside the listeners (canary serve) -----------------------------------------------
    def start(self) -> "ImapWatcher":
        self._thread = threading.Thread(target=self._run, name="imap-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        delay = self.poll_seconds
        while not self._stop.is_set():
            try:
                self.poll_once()
                delay = self.poll_seconds
            except Exception as error:   # the provider is down or refuses us: say so, retry later
                log.error("IMAP %s: %s", self.mailbox, error)
                delay = min(max(delay * 2, self.poll_seconds), 3600)
            self._stop.wait(delay)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _uidvalidity(client) -> int | None:
    _, data = client.response("UIDVALIDITY")
    try:
        return int(data[0]) if data and data[0] else None
    except (TypeError, ValueError):
        return None
