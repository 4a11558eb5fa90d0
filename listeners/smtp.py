"""SMTP, receive only: a contact at RCPT for known addresses, the message as evidence at DATA.

aiosmtpd carries the connection, `smtp_dialect.PostfixSMTP` answers as Postfix does and
`CanaryHandler` holds the policy. Address-verification tools stop after RCPT, so the
contact is recorded (durably) before the 250 goes out; and every RCPT, ours or not, is
answered at the same moment after it arrived, so answer times do not tell a canary apart.
"""
from __future__ import annotations

import asyncio
import base64
import email.parser
import email.policy
import hashlib
import logging
import ssl

from aiosmtpd.controller import Controller

from canary import clock
from canary.generation.identifiers import IdentifierError, normalise_email

from listeners.caps import ConnectionCaps
from listeners.contact import host_port, make_contact
from listeners.smtp_dialect import PostfixSMTP

log = logging.getLogger("canary.listeners.smtp")

# Postfix's words (see smtp_dialect.py): an unknown user of our domains, a relay attempt.
UNKNOWN_USER = "550 5.1.1 <{}>: Recipient address rejected: User unknown in local recipient table"
RELAY_DENIED = "454 4.7.1 <{}>: Relay access denied"
TOO_MANY = "452 4.5.3 Error: too many recipients"
LOCAL_ERROR = "451 4.3.0 Error: queue file write error"
# Every mail server takes these (RFC 5321 4.5.1, RFC 2142); they are counted, not canary contacts.
ROLE_ACCOUNTS = ("postmaster", "abuse")
TOO_BUSY = "421 4.7.0 Too many connections, try again later"


def _clean(text) -> str | None:
    """Attacker text made safe to store as JSON: odd bytes replaced, NULs kept visible."""
    if text is None:
        return None
    if isinstance(text, bytes):
        return text.decode("utf-8", "replace")
    return str(text).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _peer(peer) -> str:
    if isinstance(peer, (tuple, list)) and len(peer) >= 2:
        return host_port(peer[0], peer[1])
    return _clean(peer) or "unknown"


def recipient_contact(address: str, session, envelope, resolve, stage: str = "rcpt") -> dict | None:
    """The contact a RCPT TO (or VRFY) for `address` makes, or None when it is not ours."""
    try:
        value = normalise_email(_clean(address))
    except IdentifierError:
        return None
    resolved = resolve([value])
    if resolved is None or resolved.get("kind", "email") != "email":
        return None
    details = {"stage": stage, "rcpt_to": _clean(address), "mail_from": _clean(envelope.mail_from),
               "helo": _clean(session.host_name), "peer": _peer(session.peer), "tls": session.ssl is not None}
    return make_contact("smtp", resolved, _peer(session.peer), details)


def message_contacts(session, envelope, rcpt_contacts: list[dict], max_stored_bytes: int) -> list[dict]:
    """One contact per known recipient of a message: the raw message (up to a limit) and its sha256."""
    raw: bytes = envelope.original_content or b""
    kept = raw[:max_stored_bytes]
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(kept)
    summary = {name.lower(): _clean(headers.get(name)) for name in ("Subject", "From", "To", "Date", "Message-ID")
               if headers.get(name) is not None}
    details = {
        "stage": "data",
        "mail_from": _clean(envelope.mail_from),
        "rcpt_tos": [_clean(r) for r in envelope.rcpt_tos],
        "helo": _clean(session.host_name),
        "peer": _peer(session.peer),
        "tls": session.ssl is not None,
        "size": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "headers": summary,
        "raw_base64": base64.b64encode(kept).decode("ascii"),
        "truncated": len(raw) > len(kept),
    }
    now = clock.utc_now()
    by_identifier = {contact["identifier_id"]: contact for contact in rcpt_contacts}
    return [{**{k: v for k, v in contact.items() if k != "id"}, "time": now,
             "details": {**details, "rcpt_to": contact["identifier"]}}
            for contact in by_identifier.values()]


def role_account(address: str, local_domains) -> str | None:
    """'postmaster' for a bare postmaster or postmaster@/abuse@ one of our domains, else None."""
    local, at, domain = address.rpartition("@")
    if not at:
        return "postmaster" if address.lower() == "postmaster" else None
    if local.lower() in ROLE_ACCOUNTS and is_local_domain(domain, local_domains):
        return local.lower()
    return None


def is_local_domain(domain: str, local_domains) -> bool:
    """A domain we receive mail for: one of ours or below it, compared label by label."""
    labels = domain.lower().rstrip(".").split(".")
    return any(labels[len(labels) - len(zone):] == zone for zone in local_domains if len(labels) >= len(zone))


class CanaryHandler:
    """aiosmtpd hooks: accept only our addresses, record every contact, never relay."""

    def __init__(self, recorder, *, max_recipients: int = 20, max_stored_bytes: int = 262_144,
                 local_domains=(), answer_seconds: float = 0.03):
        self.recorder = recorder
        self.max_recipients = max_recipients
        self.max_stored_bytes = max_stored_bytes
        self.local_domains = [domain.lower().rstrip(".").split(".") for domain in local_domains]
        self.answer_seconds = answer_seconds

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # The answer goes out at the same moment after the command, whatever the address:
        # a canary's commit (well under answer_seconds) is hidden inside that wait.
        loop = asyncio.get_running_loop()
        answer_at = loop.time() + self.answer_seconds
        try:
            status = await self._recipient(session, envelope, address, rcpt_options)
        except Exception:
            log.exception("RCPT failed")
            status = LOCAL_ERROR
        late = loop.time() - answer_at
        if late > 0:
            self.recorder.count_unknown("smtp", "late-answer")   # the operator sees it in the tallies
        else:
            await asyncio.sleep(-late)
        return status

    async def _recipient(self, session, envelope, address, rcpt_options) -> str | None:
        contact = recipient_contact(address, session, envelope, self.recorder.resolve)
        if contact is None:
            # Counted through the same group commit a canary's contact waits for: under load
            # too, an unknown address is answered after the same work as a canary.
            role = role_account(address, self.local_domains)
            if role is not None:
                await self.recorder.atally("smtp", role)
                envelope.rcpt_tos.append(address)
                envelope.rcpt_options.append(rcpt_options)
                return None
            domain = address.rpartition("@")[2]
            if is_local_domain(domain, self.local_domains):
                await self.recorder.atally("smtp", "rcpt")
                return UNKNOWN_USER.format(address)
            await self.recorder.atally("smtp", "relay")
            return RELAY_DENIED.format(address)
        if len(envelope.rcpt_tos) >= self.max_recipients:
            # Counted (tallied), not stored whole: 1,100 RCPTs in one session made 1,000 contacts.
            await self.recorder.arecord(contact, over_budget="recipients")
            return TOO_MANY
        await self.recorder.arecord(contact)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(rcpt_options)
        envelope.canary_recipients = getattr(envelope, "canary_recipients", []) + [contact]
        return None

    async def handle_DATA(self, server, session, envelope):
        try:
            recipients = getattr(envelope, "canary_recipients", [])
            contacts = message_contacts(session, envelope, recipients, self.max_stored_bytes)
            if not contacts:
                self.recorder.count_unknown("smtp", "role-message")
            await asyncio.gather(*(self.recorder.arecord(contact) for contact in contacts))  # one commit
            return None     # the dialect answers "250 2.0.0 Ok: queued as <queue id>"
        except Exception:
            log.exception("DATA failed")
            return LOCAL_ERROR

    async def handle_exception(self, error):
        # Never show the client our exception (aiosmtpd's default names it).
        log.error("SMTP session error: %r", error)
        return "421 4.3.0 Service not available, closing transmission channel"


class _CappedSMTP(PostfixSMTP):
    """aiosmtpd's SMTP session on a slot of the listener's connection caps (taken by _Gate)."""

    def __init__(self, handler, caps: ConnectionCaps, slot: str, **kwargs):
        super().__init__(handler, **kwargs)
        self._caps, self._slot = caps, slot

    def connection_lost(self, error) -> None:
        if self._slot is not None:
            self._caps.release(self._slot)
            self._slot = None
        super().connection_lost(error)


class _Gate(asyncio.Protocol):
    """A new connection's first protocol: refused with a 421 beyond the caps, else handed to a session.

    The decision comes before aiosmtpd's session is made: making one costs ~0.6 ms of CPU under
    the GIL (it inspects its own and the handler's members), and 1,100 connections refused one
    after the other delayed DNS and HTTP answers of the same process by up to 300 ms."""

    def __init__(self, caps: ConnectionCaps, session):
        self._caps, self._session = caps, session

    def connection_made(self, transport) -> None:
        peer = transport.get_extra_info("peername")
        source = str(peer[0]) if isinstance(peer, (tuple, list)) and peer else "unknown"
        if not self._caps.admit(source):
            transport.write(TOO_BUSY.encode() + b"\r\n")
            transport.close()
            return
        try:
            session = self._session(source)
        except BaseException:
            self._caps.release(source)
            raise
        transport.set_protocol(session)       # from here on the transport talks to the session alone
        session.connection_made(transport)

    def data_received(self, data) -> None:   # only a refused connection's, before it closes
        pass

    def eof_received(self):
        return False


class _Controller(Controller):
    """aiosmtpd's Controller, able to bind port 0 (tests) and tell which port it got, and capping connections."""

    def __init__(self, handler, *, caps: ConnectionCaps, **kwargs):
        super().__init__(handler, **kwargs)
        self.caps = caps

    def factory(self):
        def session(slot):
            return _CappedSMTP(self.handler, self.caps, slot, **self.SMTP_kwargs, **getattr(self, "dialect_options", {}))
        if self.smtpd is None:   # the first call, at start: options aiosmtpd refuses fail start(), as before
            session(None)
        return _Gate(self.caps, session)

    def _create_server(self):
        return self._bind()

    async def _bind(self):
        server = await self.loop.create_server(self._factory_invoker, host=self.hostname, port=self.port,
                                               ssl=self.ssl_context)
        self.port = server.sockets[0].getsockname()[1]
        return server


class SmtpServer:
    """The SMTP listener: `start()` binds (port 0: any free port) and serves in a thread."""

    def __init__(self, recorder, host: str = "127.0.0.1", port: int = 2525, *, hostname: str = "localhost",
                 max_message_bytes: int = 10_240_000, max_stored_bytes: int = 262_144, max_recipients: int = 20,
                 idle_seconds: float = 60, tls_cert: str = "", tls_key: str = "", max_commands: int = 1000,
                 local_domains=(), answer_seconds: float = 0.03, error_sleep_seconds: float = 1.0,
                 max_connections: int = 400, max_connections_per_source: int = 20):
        self.handler = CanaryHandler(recorder, max_recipients=max_recipients, max_stored_bytes=max_stored_bytes,
                                     local_domains=local_domains, answer_seconds=answer_seconds)
        tls_context = None
        if tls_cert:
            tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls_context.load_cert_chain(tls_cert, tls_key or None)
        self.controller = _Controller(
            self.handler, caps=ConnectionCaps(max_connections, max_connections_per_source),
            hostname=host, port=port, server_hostname=hostname,
            ident="ESMTP",                      # banner "220 <hostname> ESMTP": Postfix's, less its name
            data_size_limit=max_message_bytes,
            timeout=idle_seconds,
            tls_context=tls_context, require_starttls=False,
            # Per session: bounds a client that loops on one command (thousands of RCPTs).
            command_call_limit=max_commands,
        )
        self.controller.dialect_options = {"error_sleep_seconds": error_sleep_seconds}

    @classmethod
    def from_settings(cls, settings, recorder, host: str, port: int) -> "SmtpServer":
        smtp = settings["smtp"]
        home = settings.home
        cert = str(home / smtp["tls_cert"]) if smtp["tls_cert"] else ""
        key = str(home / smtp["tls_key"]) if smtp["tls_key"] else ""
        return cls(recorder, host, port, hostname=settings.smtp_hostname,
                   max_message_bytes=int(smtp["max_message_bytes"]), max_stored_bytes=int(smtp["max_stored_bytes"]),
                   max_recipients=int(smtp["max_recipients"]), idle_seconds=float(smtp["idle_seconds"]),
                   tls_cert=cert, tls_key=key, local_domains=[*settings.zones, *settings.mail_domains],
                   answer_seconds=float(smtp["rcpt_answer_ms"]) / 1000,
                   max_connections=int(smtp["max_connections"]),
                   max_connections_per_source=int(smtp["max_connections_per_source"]))

    @property
    def port(self) -> int:
        return self.controller.port

    def start(self) -> "SmtpServer":
        try:
            self.controller.start()
        except BaseException:
            # aiosmtpd made its event loop in __init__: a start that fails (port in use) must close it.
            if not self.controller.loop.is_closed():
                self.controller.loop.close()
            raise
        return self

    def stop(self) -> None:
        self.controller.stop()
