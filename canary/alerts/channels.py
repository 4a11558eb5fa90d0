"""Where alerts go: a JSON webhook, a Slack-compatible webhook, email through a relay, a JSON-lines file."""
from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import pathlib
import smtplib
import urllib.error
import urllib.request
from email.message import EmailMessage

from ..settings import Settings, SettingsError, parse_listen
from .message import alert_text, alert_title


class DeliveryError(Exception):
    """One delivery attempt failed; the worker retries with backoff."""


class AlertChannel:
    name = "channel"

    def send(self, alert: dict) -> None:
        raise NotImplementedError


def _post_json(url: str, body: bytes, timeout: float, headers: dict | None = None) -> None:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "canary-alerts",
                                              **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(65536)
    except urllib.error.HTTPError as error:
        raise DeliveryError(f"{url}: HTTP {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        raise DeliveryError(f"{url}: {getattr(error, 'reason', error)}") from None
    except http.client.HTTPException as error:  # a receiver that answers garbage or hangs up mid-reply
        raise DeliveryError(f"{url}: bad HTTP reply ({type(error).__name__}: {error})") from None


class WebhookChannel(AlertChannel):
    """POSTs the alert as JSON; signed with HMAC-SHA256 when a secret is configured."""

    name = "webhook"

    def __init__(self, url: str, secret: str = "", timeout: float = 10):
        self.url, self.secret, self.timeout = url, secret, timeout

    def send(self, alert: dict) -> None:
        body = json.dumps(alert, sort_keys=True, ensure_ascii=False).encode("utf-8")
        headers = {}
        if self.secret:
            digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Canary-Signature"] = f"sha256={digest}"
        _post_json(self.url, body, self.timeout, headers)


def slack_escape(text: str) -> str:
    """Slack's own escaping: without it, '<!channel>' or '<https://evil|label>' in a contact would be live."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackChannel(AlertChannel):
    """Slack (or Mattermost, Rocket.Chat) incoming webhook: {"text": ...}."""

    name = "slack"

    def __init__(self, url: str, timeout: float = 10):
        self.url, self.timeout = url, timeout

    def send(self, alert: dict) -> None:
        text = slack_escape(alert_text(alert))
        body = json.dumps({"text": text, "unfurl_links": False, "unfurl_media": False}).encode("utf-8")
        _post_json(self.url, body, self.timeout)


class EmailChannel(AlertChannel):
    """Plain-text email through an SMTP relay."""

    name = "email"

    def __init__(self, relay: str, sender: str, recipients: list[str], *, starttls: bool = False,
                 username: str = "", password: str = "", timeout: float = 10):
        self.host, self.port = parse_listen(relay)
        self.sender, self.recipients = sender, recipients
        self.starttls, self.username, self.password, self.timeout = starttls, username, password, timeout

    def send(self, alert: dict) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Subject"] = alert_title(alert)
        message.set_content(alert_text(alert) + "\n")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as client:
                if self.starttls:
                    client.starttls()
                if self.username:
                    client.login(self.username, self.password)
                client.send_message(message)
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"SMTP relay {self.host}:{self.port}: {error}") from None


class JsonlChannel(AlertChannel):
    """One JSON object per line, appended and synced: a file a SIEM agent can tail."""

    name = "jsonl"

    def __init__(self, path: pathlib.Path):
        self.path = path

    def send(self, alert: dict) -> None:
        line = json.dumps(alert, sort_keys=True, ensure_ascii=False) + "\n"
        try:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            raise DeliveryError(f"{self.path}: {error}") from None


def _recipients(value) -> list[str]:
    items = value if isinstance(value, list) else str(value).split(",")
    return [item.strip() for item in items if item.strip()]


def channels_from_settings(settings: Settings) -> dict[str, AlertChannel]:
    """The channels configured in [alerts]; a half-configured one is a SettingsError naming the key."""
    config = settings["alerts"]
    timeout = float(config["timeout_seconds"])
    channels: dict[str, AlertChannel] = {}
    for key, name in (("webhook_url", "webhook"), ("slack_url", "slack")):
        url = str(config[key])
        if url and not url.startswith(("http://", "https://")):
            raise SettingsError(f"alerts.{key} must be an http:// or https:// URL, not {url!r}")
    if config["webhook_url"]:
        channels["webhook"] = WebhookChannel(config["webhook_url"], config["webhook_secret"], timeout)
    if config["slack_url"]:
        channels["slack"] = SlackChannel(config["slack_url"], timeout)
    if config["email_to"] or config["smtp_relay"]:
        missing = [key for key in ("email_to", "email_from", "smtp_relay") if not config[key]]
        if missing:
            raise SettingsError(f"email alerts need alerts.{', alerts.'.join(missing)} too")
        channels["email"] = EmailChannel(config["smtp_relay"], config["email_from"], _recipients(config["email_to"]),
                                         starttls=bool(config["smtp_starttls"]), username=config["smtp_username"],
                                         password=config["smtp_password"], timeout=timeout)
    if config["jsonl_path"]:
        channels["jsonl"] = JsonlChannel(settings.home / config["jsonl_path"])
    return channels
