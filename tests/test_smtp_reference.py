"""The SMTP listener and Debian's Postfix, sent the same probes, answer alike (codes and wording).

What a careful buyer of a leaked file tries before using its addresses: the greeting, EHLO,
HELP, VRFY, EXPN, unknown commands, postmaster and abuse, relaying, oversize messages and
commands out of order. Differences that remain are listed in docs/listeners.md.
"""
import pytest

from canary.generation.issuing import Issuer
from listeners.smtp import SmtpServer
from reference_servers import private_postfix, self_signed
from smtp_probe import converse, normalised

HOST = "mx.canary.test"
SIZE_LIMIT = 10_240_000     # Debian's message_size_limit, and the listener's default


def sessions(canary: str, domain: str) -> dict[str, list]:
    """The probe set: one connection each, few enough errors per session to stay under the limits."""
    return {
        "out of order, unknown commands": ["HELP", "EXPN staff", "XYZZY", "", f"RCPT TO:<x@{domain}>", "DATA",
                                           "MAIL FROM:<a@example.org>", "QUIT"],
        "ehlo, help, vrfy, expn": ["EHLO probe.example.org", "HELP", "HELP MAIL", "VRFY postmaster",
                                   f"VRFY nobody@{domain}", f"VRFY <{canary}>", "VRFY", "EXPN", "NOOP", "NOOP x",
                                   "RSET", "RSET x", "QUIT"],
        "recipients": ["EHLO probe.example.org", "MAIL FROM:<a@example.org>", "MAIL FROM:<b@example.org>",
                       "RCPT TO:<postmaster>", f"RCPT TO:<postmaster@{domain}>", f"RCPT TO:<abuse@{domain}>",
                       f"RCPT TO:<Abuse@{domain.upper()}>", f"RCPT TO:<nobody@{domain}>", f"RCPT TO:<{canary}>",
                       "RCPT TO:<victim@gmail.com>", "RCPT TO:<bad address>", "RCPT TO:",
                       f"RCPT TO:<{canary}> NOTIFY=NEVER", f"RCPT TO:<{canary}> FOO=1", "QUIT"],
        "sender options": ["EHLO probe.example.org", f"MAIL FROM:<a@example.org> SIZE={SIZE_LIMIT + 1}",
                           "MAIL FROM:<a@example.org> SIZE=100 BODY=8BITMIME SMTPUTF8", "RSET",
                           "MAIL FROM:<> FOO=1", "MAIL", "MAIL FROM:<a@b.example> BODY=9BIT",
                           "MAIL FROM:<a@b.example> SIZE=abc", "QUIT"],
        "a message": ["EHLO probe.example.org", "MAIL FROM:<>", f"RCPT TO:<{canary}>", "DATA x", "DATA",
                      b"Subject: x\r\n\r\nhello\r\n.\r\n", "QUIT"],
        "an oversize message": ["EHLO probe.example.org", "MAIL FROM:<a@example.org>", f"RCPT TO:<{canary}>",
                                "DATA", b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * (SIZE_LIMIT // 1000 + 10)
                                + b".\r\n", "QUIT"],
        "helo, etrn, auth": ["HELO", "HELO a.example", "MAIL FROM:<a@b.example> SIZE=10", "RSET", "EHLO", "ETRN",
                             f"ETRN {domain}", "STARTTLS", "AUTH PLAIN", "QUIT"],
        "chunking": ["EHLO probe.example.org", "MAIL FROM:<a@example.org>", f"RCPT TO:<{canary}>",
                     b"BDAT 5\r\nHello", b"BDAT 8 LAST\r\n world\r\n", "QUIT"],
        "bad chunk": ["EHLO probe.example.org", "BDAT", "NOOP"],
    }


@pytest.fixture
def canary(deployment):
    return Issuer(deployment.store, deployment.settings).issue_token("email")["value"]


def both_transcripts(recorder, canary, steps_by_session, tls=None, tmp_path=None):
    domain = canary.partition("@")[2]
    cert = key = ""
    if tls:
        cert, key = (str(path) for path in self_signed(tmp_path, HOST))
    ours = SmtpServer(recorder, "127.0.0.1", 0, hostname=HOST, local_domains=["canary.test"], answer_seconds=0.002,
                      tls_cert=cert, tls_key=key).start()
    try:
        with private_postfix(HOST, [domain, "canary.test"], ["postmaster", "abuse", canary], tls=bool(tls)) as port:
            theirs = {name: converse(port, steps) for name, steps in steps_by_session.items()}
        mine = {name: converse(ours.port, steps) for name, steps in steps_by_session.items()}
    finally:
        ours.stop()
    return mine, theirs


def test_the_probe_set_is_answered_as_postfix_answers_it(deployment, recorder, canary):
    mine, theirs = both_transcripts(recorder, canary, sessions(canary, canary.partition("@")[2]))
    differences = [(name, step, ours, reference)
                   for name in theirs
                   for (step, ours), (_, reference) in zip(normalised(mine[name], {}), normalised(theirs[name], {}))
                   if ours != reference]
    assert differences == [], "\n".join(map(repr, differences))
    assert [len(mine[name]) for name in mine] == [len(theirs[name]) for name in mine]
    # The canary's RCPTs were recorded (an oversize message keeps only its RCPT), nothing else.
    stages = sorted(contact["details"]["stage"] for contact in deployment.store.contacts())
    assert stages.count("rcpt") == 5 and stages.count("data") == 2


def test_starttls_is_offered_and_answered_as_postfix(tmp_path, deployment, recorder, canary):
    steps = {"tls": ["EHLO probe.example.org", "STARTTLS", "EHLO probe.example.org", "STARTTLS",
                     "MAIL FROM:<a@example.org>", f"RCPT TO:<{canary}>", "QUIT"]}
    mine, theirs = both_transcripts(recorder, canary, steps, tls=True, tmp_path=tmp_path)
    assert mine == theirs
    assert "250-STARTTLS" in mine["tls"][1][1] and "250-STARTTLS" not in mine["tls"][3][1]
    assert deployment.store.contacts()[0]["details"]["tls"] is True
