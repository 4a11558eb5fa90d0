"""SMTP, receive only: a contact at RCPT (and VRFY) for known addresses, the message as evidence at DATA.

aiosmtpd speaks the protocol; `CanaryHandler` holds the policy. Address-verification
tools stop after RCPT, so the contact is recorded (durably) before the 250 goes out.
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
from aiosmtpd.smtp import SMTP

from canary import clock
from canary.generation.identifiers import IdentifierError, normalise_email

from listeners.caps import ConnectionCaps
from listeners.contact import host_port, make_contact

log = logging.getLogger("canary.listeners.smtp")

NO_SUCH_USER = "550 5.1.1 No such user here"
TOO_MANY = "452 4.5.3 Too many recipients"
LOCAL_ERROR = "451 4.3.0 Requested action aborted: local error in processing"
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


class CanaryHandler:
    """aiosmtpd hooks: accept only our addresses, record every contact, never relay."""

    def __init__(self, recorder, *, max_recipients: int = 20, max_stored_bytes: int = 262_144):
        self.recorder = recorder
        self.max_recipients = max_recipients
        self.max_stored_bytes = max_stored_bytes

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        try:
            contact = recipient_contact(address, session, envelope, self.recorder.resolve)
            if contact is None:
                self.recorder.count_unknown("smtp", "rcpt")
                return NO_SUCH_USER
            if len(envelope.rcpt_tos) >= self.max_recipients:
                # Counted (tallied), not stored whole: 1,100 RCPTs in one session made 1,000 contacts.
                await self.recorder.arecord(contact, over_budget="recipients")
                return TOO_MANY
            await self.recorder.arecord(contact)
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.append(rcpt_options)
            envelope.canary_recipients = getattr(envelope, "canary_recipients", []) + [contact]
            return "250 2.1.5 OK"
        except Exception:
            log.exception("RCPT failed")
            return LOCAL_ERROR

    async def handle_VRFY(self, server, session, envelope, address):
        try:
            contact = recipient_contact(address or "", session, envelope, self.recorder.resolve, stage="vrfy")
            if contact is None:
                self.recorder.count_unknown("smtp", "vrfy")
                return NO_SUCH_USER
            await self.recorder.arecord(contact)
            return "252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery"
        except Exception:
            log.exception("VRFY failed")
            return LOCAL_ERROR

    async def handle_DATA(self, server, session, envelope):
        try:
            recipients = getattr(envelope, "canary_recipients", [])
            contacts = message_contacts(session, envelope, recipients, self.max_stored_bytes)
            await asyncio.gather(*(self.recorder.arecord(contact) for contact in contacts))  # one commit
            return "250 2.0.0 OK: queued"
        except Exception:
            log.exception("DATA failed")
            return LOCAL_ERROR

    async def handle_exception(self, error):
        # Never show the client our exception (aiosmtpd's default names it).
        log.error("SMTP session error: %r", error)
        return "421 4.3.0 Service not available, closing transmission channel"


class _CappedSMTP(SMTP):
    """aiosmtpd's SMTP session, refused with a 421 beyond the listener's connection caps."""

    def __init__(self, handler, caps: ConnectionCaps, **kwargs):
        super().__init__(handler, **kwargs)
        self._caps, self._slot = caps, None

    def connection_made(self, transport) -> None:
        peer = transport.get_extra_info("peername")
        source = str(peer[0]) if isinstance(peer, (tuple, list)) and peer else "unknown"
        if self._slot is None and self.transport is None:   # not the STARTTLS re-entry
            if not self._caps.admit(source):
                transport.write(TOO_BUSY.encode() + b"\r\n")
                transport.close()
                return
            self._slot = source
        super().connection_made(transport)

    def connection_lost(self, error) -> None:
        if self._slot is None:
            return   # refused: aiosmtpd never set this session up
        self._caps.release(self._slot)
        self._slot = None
        super().connection_lost(error)

    def data_received(self, data) -> None:
        if self._slot is not None:
            super().data_received(data)

    def eof_received(self):
        if self._slot is not None:
            return super().eof_received()
        return False


class _Controller(Controller):
    """aiosmtpd's Controller, able to bind port 0 (tests) and tell which port it got, and capping connections."""

    def __init__(self, handler, *, caps: ConnectionCaps, **kwargs):
        super().__init__(handler, **kwargs)
        self.caps = caps

    def factory(self):
        return _CappedSMTP(self.handler, self.caps, **self.SMTP_kwargs)

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
                 max_message_bytes: int = 1_048_576, max_stored_bytes: int = 262_144, max_recipients: int = 20,
                 idle_seconds: float = 60, tls_cert: str = "", tls_key: str = "", max_commands: int = 1000,
                 max_connections: int = 400, max_connections_per_source: int = 20):
        self.handler = CanaryHandler(recorder, max_recipients=max_recipients, max_stored_bytes=max_stored_bytes)
        tls_context = None
        if tls_cert:
            tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls_context.load_cert_chain(tls_cert, tls_key or None)
        self.controller = _Controller(
            self.handler, caps=ConnectionCaps(max_connections, max_connections_per_source),
            hostname=host, port=port, server_hostname=hostname,
            ident="ESMTP",                      # banner "220 <hostname> ESMTP": no software name
            data_size_limit=max_message_bytes,
            timeout=idle_seconds,
            tls_context=tls_context, require_starttls=False,
            # Per session: bounds a client that loops on one command (thousands of RCPTs).
            command_call_limit=max_commands,
        )

    @classmethod
    def from_settings(cls, settings, recorder, host: str, port: int) -> "SmtpServer":
        smtp = settings["smtp"]
        home = settings.home
        cert = str(home / smtp["tls_cert"]) if smtp["tls_cert"] else ""
        key = str(home / smtp["tls_key"]) if smtp["tls_key"] else ""
        return cls(recorder, host, port, hostname=settings.smtp_hostname,
                   max_message_bytes=int(smtp["max_message_bytes"]), max_stored_bytes=int(smtp["max_stored_bytes"]),
                   max_recipients=int(smtp["max_recipients"]), idle_seconds=float(smtp["idle_seconds"]),
                   tls_cert=cert, tls_key=key, max_connections=int(smtp["max_connections"]),
                   max_connections_per_source=int(smtp["max_connections_per_source"]))

    @property
    def port(self) -> int:
        return self.controller.port

    def start(self) -> "SmtpServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
