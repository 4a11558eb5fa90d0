"""What a buyer of a leaked file runs on its addresses: three verification libraries from PyPI.

Each runs with deliverability checks on, its resolver pointed at our DNS listener and its
SMTP port at our SMTP listener (the addresses' MX host is ours). Every validation of a
canary address is recorded with that canary's token; unknown addresses are undeliverable.
"""
import os
import smtplib
import socket

import dns.resolver
import pytest

# py3-validate-email fetches a blacklist from the network when imported, unless told not to.
os.environ.setdefault("PY3VE_IGNORE_UPDATER", "1")

from canary.generation.issuing import Issuer  # noqa: E402
from listeners.dns_server import DnsServer  # noqa: E402
from listeners.smtp import SmtpServer  # noqa: E402


@pytest.fixture
def listening(deployment, recorder, monkeypatch):
    """DNS and SMTP listeners from the deployment's settings; resolvers and SMTP clients pointed at them."""
    dns_server = DnsServer.from_settings(deployment.settings, recorder, "127.0.0.1", 0).start()
    smtp_server = SmtpServer.from_settings(deployment.settings, recorder, "127.0.0.1", 0).start()
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = ["127.0.0.1"], dns_server.port
    monkeypatch.setattr(dns.resolver, "default_resolver", resolver)
    monkeypatch.setattr(smtplib.SMTP, "default_port", smtp_server.port)
    # The MX host name resolves (as the system resolver would, through our DNS) to our listener.
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".canary.test"):
            host = "127.0.0.1"
        return real_getaddrinfo(host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield resolver, dns_server.port
    smtp_server.stop()
    dns_server.stop()


@pytest.fixture
def token(deployment):
    return Issuer(deployment.store, deployment.settings).issue_token("email")


def contacts_of(deployment, token):
    return [(c["channel"], c["details"].get("qtype") or c["details"].get("stage")) for c in deployment.store.contacts()
            if c.get("token") == token["token"]]


def test_email_validator(deployment, listening, token, monkeypatch):
    import email_validator
    resolver, _ = listening
    # A real deployment's zone is an ordinary domain; ours is .test, which it refuses outright.
    monkeypatch.setattr(email_validator, "SPECIAL_USE_DOMAIN_NAMES",
                        [name for name in email_validator.SPECIAL_USE_DOMAIN_NAMES if name != "test"])
    valid = email_validator.validate_email(token["value"], check_deliverability=True, dns_resolver=resolver)
    assert valid.normalized == token["value"] and valid.mx
    with pytest.raises(email_validator.EmailNotValidError):
        email_validator.validate_email("someone@nolabel.canary.test", check_deliverability=True,
                                       dns_resolver=resolver)
    # DNS only: the MX lookup of the canary's own domain is what gives it away.
    assert ("dns", "MX") in contacts_of(deployment, token)
    assert len(deployment.store.contacts()) == len(contacts_of(deployment, token))


def test_py3_validate_email(deployment, listening, token):
    from validate_email import validate_email
    assert validate_email(token["value"], check_blacklist=False, dns_timeout=5, smtp_timeout=5) is True
    unknown = "x" + token["value"]
    assert validate_email(unknown, check_blacklist=False, dns_timeout=5, smtp_timeout=5) is False
    assert validate_email("someone@nolabel.canary.test", check_blacklist=False, dns_timeout=5) is False
    recorded = contacts_of(deployment, token)
    assert ("dns", "MX") in recorded and recorded.count(("smtp", "rcpt")) == 1
    assert len(deployment.store.contacts()) == len(recorded)


@pytest.mark.filterwarnings("ignore:query\\(\\) is deprecated:DeprecationWarning")   # verify-email's own call
def test_verify_email(deployment, listening, token, monkeypatch):
    import aiodns
    import asyncio
    from verify_email import verify_email
    _, dns_port = listening
    real_resolver = aiodns.DNSResolver

    def pointed(*args, **kwargs):
        return real_resolver(nameservers=[f"127.0.0.1:{dns_port}"], **kwargs)
    monkeypatch.setattr(aiodns, "DNSResolver", pointed)
    asyncio.set_event_loop(asyncio.new_event_loop())
    try:
        assert verify_email(token["value"], timeout=5) is True
        assert verify_email("x" + token["value"], timeout=5) is False
    finally:
        asyncio.get_event_loop().close()
        asyncio.set_event_loop(None)
    recorded = contacts_of(deployment, token)
    assert ("dns", "MX") in recorded and ("smtp", "rcpt") in recorded
