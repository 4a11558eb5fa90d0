"""The SMTP conversation as Debian's Postfix holds it: its EHLO, wording, codes and error limits.

aiosmtpd keeps the connection, TLS and timeouts; every command is answered here, with
the replies a stock Postfix 3.7 gives (`disable_vrfy_command = yes`, no AUTH, no
fast-flush domains). A verifier that knows aiosmtpd's own phrasing ("500 Error: command
"XYZZY" not recognized", a HELP listing AUTH) would otherwise see a honeypot.
tests/test_smtp_reference.py holds the same probe set against a real Postfix.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import re

from aiosmtpd.smtp import MISSING, SMTP

log = logging.getLogger("canary.listeners.smtp")

# Replies aiosmtpd writes from code we do not override (its command loop, STARTTLS).
_TRANSLATED = {
    "500 Error: bad syntax": "500 5.5.2 Error: bad syntax",
    "500 Command line too long": "500 5.5.2 Error: command not recognized",
    "220 Ready to start TLS": "220 2.0.0 Ready to start TLS",
}
UNKNOWN_COMMAND = "500 5.5.2 Error: command not recognized"
SOFT_ERROR_LIMIT = 10        # Postfix smtpd_soft_error_limit: errors after this are answered slowly
HARD_ERROR_LIMIT = 20        # smtpd_hard_error_limit: then 421 and the connection is closed
ERROR_SLEEP_SECONDS = 1.0    # smtpd_error_sleep_time
_PATH = re.compile(r"^(FROM|TO):\s*(.*)$", re.IGNORECASE | re.DOTALL)
_BDAT = re.compile(r"^(\d{1,9})(?:\s+(LAST))?$", re.IGNORECASE)
_RCPT_OPTIONS = ("NOTIFY", "ORCPT")
_MAIL_OPTIONS = ("SIZE", "BODY", "SMTPUTF8", "RET", "ENVID")


def split_path(arg: str | None, keyword: str) -> tuple[str, list[str]] | None:
    """'TO:<a@b> NOTIFY=NEVER' -> ('a@b', ['NOTIFY=NEVER']); None when the keyword is missing."""
    match = _PATH.match((arg or "").strip())
    if match is None or match.group(1).upper() != keyword:
        return None
    rest = match.group(2).strip()
    if not rest:
        return None
    if rest.startswith("<"):
        end = rest.find(">")
        if end < 0:
            return rest, []          # unbalanced: a bad address, reported by the caller
        return rest[1:end], rest[end + 1:].split()
    address, _, options = rest.partition(" ")
    return address, options.split()


def bad_address(address: str) -> bool:
    """What Postfix refuses as address syntax: spaces, brackets or controls in it, an empty side of '@'."""
    if any(c.isspace() or c in "<>()[],;\\" or ord(c) < 32 for c in address):
        return True
    local, at, domain = address.rpartition("@")
    return bool(at) and (not local or not domain or ".." in domain)


def queue_id(rng) -> str:
    """A short Postfix queue id (enable_long_queue_ids = no): 10 or 11 upper-case hex digits."""
    return "".join(rng.choice("0123456789ABCDEF") for _ in range(rng.choice((10, 11))))


class _Commands(dict):
    """aiosmtpd's command table: a command we have no method for gets Postfix's answer."""

    def __init__(self, table, unknown):
        super().__init__(table)
        self.unknown = unknown

    def get(self, command, default=None):
        return super().get(command) or functools.partial(self.unknown, command)


class PostfixSMTP(SMTP):
    """aiosmtpd's protocol with every reply in Postfix's words; the handler decides RCPT and DATA."""

    def __init__(self, handler, *, rng=None, error_sleep_seconds: float = ERROR_SLEEP_SECONDS, **kwargs):
        import random
        kwargs["enable_SMTPUTF8"] = True
        super().__init__(handler, **kwargs)
        self.rng = rng or random.SystemRandom()
        self._smtp_methods = _Commands({name: method for name, method in self._smtp_methods.items()
                                        if name not in ("HELP", "EXPN")}, self._unrecognised)
        self.errors = 0
        self.error_sleep_seconds = error_sleep_seconds

    async def push(self, status) -> None:
        if isinstance(status, str):
            status = _TRANSLATED.get(status, status)
            if status[:1] in "45" and not status.startswith("421"):
                self.errors += 1
                if self.errors > SOFT_ERROR_LIMIT and self.error_sleep_seconds:
                    await asyncio.sleep(self.error_sleep_seconds)
        await super().push(status)
        if self.errors >= HARD_ERROR_LIMIT and self.transport is not None:
            await super().push(f"421 4.7.0 {self.hostname} Error: too many errors")
            self.transport.close()

    async def _unrecognised(self, command, arg) -> None:
        log.warning("%r unrecognised: %s", self.session.peer, command)   # escaped by the serve log
        await self.push(UNKNOWN_COMMAND)

    def _in_transaction(self) -> bool:
        return bool(self.envelope.mail_from is not None)

    # -- greeting ----------------------------------------------------------------------
    async def smtp_HELO(self, hostname):
        if not hostname:
            await self.push("501 Syntax: HELO hostname")
            return
        self._set_rset_state()
        self.session.extended_smtp = False
        self.session.host_name = hostname
        await self.push(f"250 {self.hostname}")

    async def smtp_EHLO(self, hostname):
        if not hostname:
            await self.push("501 Syntax: EHLO hostname")
            return
        self._set_rset_state()
        self.session.extended_smtp = True
        self.session.host_name = hostname
        keywords = ["PIPELINING", f"SIZE {self.data_size_limit}", "ETRN"]
        if self.tls_context and not self._tls_protocol:
            keywords.append("STARTTLS")
        keywords += ["ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"]
        lines = [self.hostname, *keywords]
        for line in lines[:-1]:
            await self.push(f"250-{line}")
        await self.push(f"250 {lines[-1]}")

    async def smtp_STARTTLS(self, arg):
        if arg:
            await self.push("501 5.5.4 Syntax: STARTTLS")
        elif self._tls_protocol:
            await self.push("554 5.5.1 Error: TLS already active")
        elif not self.tls_context:
            await self.push("502 5.5.1 Error: command not implemented")
        else:
            await super().smtp_STARTTLS(arg)

    async def smtp_AUTH(self, arg):
        await self.push("503 5.5.1 Error: authentication not enabled")

    async def smtp_VRFY(self, arg):
        # disable_vrfy_command = yes: the same answer for every address, so VRFY enumerates nothing.
        await self.push("502 5.5.1 VRFY command is disabled")

    async def smtp_ETRN(self, arg):
        if not arg:
            await self.push("500 Syntax: ETRN domain")
        elif self._in_transaction():
            await self.push("503 Error: MAIL transaction in progress")
        else:
            await self.push(f"459 <{arg.strip()}>: service unavailable")

    async def smtp_NOOP(self, arg):
        await self.push("250 2.0.0 Ok")

    async def smtp_RSET(self, arg):
        if arg:
            await self.push("501 5.5.4 Syntax: RSET")
            return
        self._set_rset_state()
        await self.push("250 2.0.0 Ok")

    async def smtp_QUIT(self, arg):
        await self.push("221 2.0.0 Bye")
        self._handler_coroutine.cancel()
        self.transport.close()

    # -- the transaction ---------------------------------------------------------------
    async def smtp_MAIL(self, arg):
        if self._in_transaction():
            await self.push("503 5.5.1 Error: nested MAIL command")
            return
        path = split_path(arg, "FROM")
        if path is None:
            await self.push("501 5.5.4 Syntax: MAIL FROM:<address>")
            return
        address, options = path
        if bad_address(address):
            await self.push("501 5.1.7 Bad sender address syntax")
            return
        for option in options:
            name, _, value = option.partition("=")
            name = name.upper()
            if name not in _MAIL_OPTIONS:
                await self.push(f"555 5.5.4 Unsupported option: {option}")
                return
            if name == "SIZE" and (not value.isdigit()):
                await self.push("501 5.5.4 Bad message size syntax")
                return
            if name == "SIZE" and int(value) > self.data_size_limit:
                await self.push("552 5.3.4 Message size exceeds fixed limit")
                return
            if name == "BODY" and value.upper() not in ("7BIT", "8BITMIME"):
                await self.push(f"555 5.5.4 Unsupported option: {option}")
                return
        self.envelope.mail_from = address
        self.envelope.mail_options.extend(options)
        self.envelope.smtp_utf8 = any(option.upper() == "SMTPUTF8" for option in options)
        await self.push("250 2.1.0 Ok")

    async def smtp_RCPT(self, arg):
        if not self._in_transaction():
            await self.push("503 5.5.1 Error: need MAIL command")
            return
        path = split_path(arg, "TO")
        if path is None:
            await self.push("501 5.5.4 Syntax: RCPT TO:<address>")
            return
        address, options = path
        if not address or bad_address(address):
            await self.push("501 5.1.3 Bad recipient address syntax")
            return
        for option in options:
            if option.partition("=")[0].upper() not in _RCPT_OPTIONS:
                await self.push(f"555 5.5.4 Unsupported option: {option}")
                return
        status = await self._call_handler_hook("RCPT", address, options)
        await self.push("250 2.1.5 Ok" if status in (MISSING, None) else status)

    async def smtp_DATA(self, arg):
        if not self.envelope.rcpt_tos:
            await self.push("503 5.5.1 Error: need RCPT command")
            return
        if arg:
            await self.push("501 5.5.4 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        lines, size, too_big = [], 0, False
        while True:
            line = await self._read_data_line()
            if line == b".\r\n":
                break
            if line.startswith(b"."):
                line = line[1:]
            size += len(line)
            if size > self.data_size_limit:
                too_big = True
                lines.clear()        # keep reading to the dot, holding nothing
            elif not too_big:
                lines.append(line)
        await self._deliver(b"".join(lines), too_big, "")

    async def _read_data_line(self) -> bytes:
        """One line of the message; a line longer than the reader's buffer comes in pieces."""
        try:
            return await self._reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError as error:
            return await self._reader.read(error.consumed)

    async def smtp_BDAT(self, arg):
        match = _BDAT.match((arg or "").strip())
        if match is None:
            await self.push("521 5.5.4 Syntax: BDAT count [LAST]")
            self.transport.close()
            return
        count, last = int(match.group(1)), bool(match.group(2))
        chunks = getattr(self.envelope, "chunks", None)
        if chunks is None:
            chunks = self.envelope.chunks = []
            self.envelope.chunk_bytes = 0
        # Read in pieces, keeping nothing past the size limit: a client may announce a gigabyte.
        keep = self.envelope.chunk_bytes + count <= self.data_size_limit
        remaining = count
        while remaining:
            piece = await self._reader.readexactly(min(remaining, 65536))
            remaining -= len(piece)
            if keep:
                chunks.append(piece)
        if not self.envelope.rcpt_tos:
            await self.push("503 5.5.1 Error: need RCPT command")
            return
        self.envelope.chunk_bytes += count
        if not last:
            await self.push(f"250 2.0.0 Ok: {count} bytes")
            return
        total = self.envelope.chunk_bytes
        await self._deliver(b"".join(chunks), total > self.data_size_limit, f"{total} bytes ")

    async def _deliver(self, content: bytes, too_big: bool, chunked: str) -> None:
        if too_big:
            self._set_post_data_state()
            await self.push("552 5.3.4 Error: message file too big")
            return
        self.envelope.content = self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push(f"250 2.0.0 Ok: {chunked}queued as {queue_id(self.rng)}" if status in (MISSING, None) else status)
