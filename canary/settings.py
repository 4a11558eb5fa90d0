"""Deployment settings: defaults < canary.toml < environment (CANARY_*) < flags."""
from __future__ import annotations

import copy
import os
import pathlib
import secrets
import socket
import tomllib
from typing import Any

import tomli_w

SETTINGS_FILE = "canary.toml"
STORE_FILE = "canary.db"

DEFAULTS: dict[str, dict[str, Any]] = {
    "deployment": {
        "name": "canary",
        "zones": [],
        "mail_domains": [],
        # "per-canary": the mail domain carries the canary's own DNS label, so an MX
        # lookup alone identifies it; "shared": one realistic domain for all.
        "mail_mode": "per-canary",
        "phone_pool": "",
        "secret": "",
        # Ed25519 private key (base64 of 32 bytes) that signs reports and evidence checkpoints;
        # created by `canary init`, or on first use for a deployment made before it existed.
        "signing_key": "",
    },
    "timestamping": {
        # RFC 3161 timestamping authority: every report and every `canary evidence anchor`
        # checkpoint gets a token from it ("" = none, reports say they are not timestamped).
        "url": "",
        # The TSA's CA certificate (PEM), to check its tokens; published by the TSA.
        "ca_file": "",
        "timeout_seconds": 10,
    },
    "store": {
        # Where contacts, plantings and the evidence log live: "" is canary.db beside this
        # file (SQLite, one host); postgresql://host/db when listeners run on several hosts
        # (the password in ~/.pgpass, not here).
        "url": "",
        # This host's name on the contacts it records and in `canary hosts`; "" is the
        # machine's host name.
        "host": "",
        # How often `canary serve` tells the store it is alive (`canary hosts`).
        "heartbeat_seconds": 10,
    },
    "dns": {
        "listen": "127.0.0.1:5353",
        "addresses": ["127.0.0.1"],
        "addresses6": [],
        "ttl": 300,
        # Name servers announced at the apex; default ns1.<zone>.
        "nameservers": [],
        # Per-source response rate limit (answers per second) and slip.
        "rrl_rate": 20,
        "rrl_slip": 2,
        "tcp_idle_seconds": 10,
    },
    "smtp": {
        "listen": "127.0.0.1:2525",
        # Name the MX records point at; default mx.<first zone>.
        "hostname": "",
        # Postfix's default message_size_limit: what EHLO announces as SIZE.
        "max_message_bytes": 10_240_000,
        # Of a message, this much is stored as evidence (its sha256 covers all of it).
        "max_stored_bytes": 262_144,
        "max_recipients": 20,
        "idle_seconds": 60,
        # `canary init` writes a self-signed pair here (STARTTLS, as every MTA offers); replace at will.
        "tls_cert": "",
        "tls_key": "",
        # Every RCPT is answered this long after it arrived, a canary's (stored first) or not:
        # answer times must not tell canaries apart. Above the store's commit time.
        "rcpt_answer_ms": 30,
    },
    "mailboxes": {
        # The mailbox pool: addresses the operator owns at ordinary mail providers, given to
        # canaries when deployment.mail_mode = "mailboxes"; mail to them is read over IMAP.
        "addresses": [],
        "imap_host": "",
        "imap_port": 993,
        # "tls" (port 993), "starttls" or "none" (a server on this machine only).
        "imap_security": "tls",
        "imap_user": "",
        # A file holding the IMAP password (relative to the deployment): never canary.toml.
        "imap_password_file": "",
        "imap_folder": "INBOX",
        "poll_seconds": 60,
    },
    "http": {
        "listen": "127.0.0.1:8080",
        # Trust X-Forwarded-For from this proxy address only ("" trusts nobody).
        "trusted_proxy": "",
        # A connection that sends nothing for this long is closed.
        "idle_seconds": 30,
    },
    "webhooks": {
        "twilio_auth_token": "",
        "hmac_secret": "",
        # Public URL Twilio is configured with; its signature covers the URL.
        "public_url": "",
    },
    "dashboard": {
        "listen": "127.0.0.1:8000",
        "public_url": "http://127.0.0.1:8000",
        "max_upload_bytes": 200 * 1024 * 1024,
    },
    "scan": {
        # Bounds on what one leaked file may cost (docs/limits.md): beyond one, the scan of
        # that file stops with a one-line error naming the setting.
        "max_seconds": 3600,
        # Temporary disk: standard input, or a zip inside a gzip/bzip2/xz, is spooled to a file.
        "max_temp_bytes": 1 << 30,
        # One line, JSON element or SQL row held in memory at once.
        "max_record_bytes": 16 << 20,
        # An .xlsx part openpyxl reads whole (shared strings, styles); worksheets are streamed.
        "max_xlsx_part_bytes": 16 << 20,
    },
    "attribution": {
        # Conservative probability that one canary reached a file some other way.
        "p": 0.01,
    },
    "planting": {
        # Canaries `canary rotate` plants in each target per run.
        "rotate_count": 2,
    },
    "alerts": {
        # At most one alert per canary (or token) and contact channel in this many seconds;
        # what is held back is summarised in the next alert.
        "throttle_seconds": 300,
        "poll_seconds": 2,
        # A failed delivery is retried after retry_base_seconds, doubling up to retry_max_seconds.
        "retry_base_seconds": 5,
        "retry_max_seconds": 600,
        "timeout_seconds": 10,
        "webhook_url": "",
        # When set, webhook bodies carry X-Canary-Signature: sha256=HMAC(secret, body).
        "webhook_secret": "",
        "slack_url": "",
        "email_to": "",
        "email_from": "",
        "smtp_relay": "",
        "smtp_starttls": False,
        "smtp_username": "",
        "smtp_password": "",
        "jsonl_path": "",
    },
}


class SettingsError(Exception):
    """A deployment that cannot be found or whose settings are wrong."""


def find_home(home: str | os.PathLike | None = None) -> pathlib.Path:
    """The deployment directory: --home, then CANARY_HOME, then the current directory."""
    if home is None:
        home = os.environ.get("CANARY_HOME") or os.getcwd()
    path = pathlib.Path(home).expanduser().resolve()
    if not (path / SETTINGS_FILE).is_file():
        raise SettingsError(
            f"no deployment in {path} (no {SETTINGS_FILE}): create one with "
            f"`canary init --home {path} --zone ZONE`, or pass --home / set CANARY_HOME"
        )
    return path


def _merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _from_environment(environ) -> dict:
    """CANARY_DNS_LISTEN=... becomes {"dns": {"listen": ...}}; values parse as TOML when they can."""
    found: dict[str, dict] = {}
    for name, raw in environ.items():
        if not name.startswith("CANARY_") or name == "CANARY_HOME":
            continue
        rest = name[len("CANARY_"):].lower()
        for section in DEFAULTS:
            if rest.startswith(section + "_") and rest[len(section) + 1:] in DEFAULTS[section]:
                key = rest[len(section) + 1:]
                try:
                    value = tomllib.loads(f"v = {raw}")["v"]
                except tomllib.TOMLDecodeError:
                    value = raw
                found.setdefault(section, {})[key] = value
    return found


class Settings:
    """Settings of one deployment; `settings["dns"]["listen"]` or `settings.zones`."""

    def __init__(self, home: pathlib.Path, values: dict):
        self.home = home
        self.values = values

    @classmethod
    def load(cls, home=None, environ=None, overrides: dict | None = None) -> "Settings":
        path = find_home(home)
        try:
            from_file = tomllib.loads((path / SETTINGS_FILE).read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise SettingsError(f"{path / SETTINGS_FILE}: {error}") from None
        values = _merge(DEFAULTS, from_file)
        values = _merge(values, _from_environment(os.environ if environ is None else environ))
        values = _merge(values, overrides or {})
        return cls(path, values)

    def __getitem__(self, section: str) -> dict:
        return self.values[section]

    @property
    def store_path(self) -> pathlib.Path:
        """The SQLite store beside canary.toml (used when [store] url is empty)."""
        return self.home / STORE_FILE

    @property
    def store_location(self) -> str | pathlib.Path:
        """What `Store()` opens: [store] url, or canary.db beside canary.toml."""
        return self.values["store"]["url"] or self.store_path

    @property
    def host_name(self) -> str:
        """This host's name on its contacts: [store] host, or the machine's host name."""
        return self.values["store"]["host"] or socket.gethostname()

    @property
    def zones(self) -> list[str]:
        return list(self.values["deployment"]["zones"])

    @property
    def mail_domains(self) -> list[str]:
        return list(self.values["deployment"]["mail_domains"]) or self.zones[:1]

    @property
    def secret(self) -> str:
        return self.values["deployment"]["secret"]

    @property
    def phone_pool_path(self) -> pathlib.Path | None:
        pool = self.values["deployment"]["phone_pool"]
        return (self.home / pool) if pool else None

    @property
    def smtp_hostname(self) -> str:
        return self.values["smtp"]["hostname"] or f"mx.{self.zones[0]}"


def write_new_settings(home: pathlib.Path, deployment: dict, store: dict | None = None,
                       sections: dict | None = None) -> pathlib.Path:
    """Write canary.toml for a new deployment, with freshly generated secrets (and any other `sections`)."""
    from .signing_keys import new_private_key_text
    values = {
        "deployment": {**deployment, "secret": secrets.token_urlsafe(32), "signing_key": new_private_key_text()},
        **({"store": store} if store else {}),
        **(sections or {}),
        "webhooks": {
            "twilio_auth_token": secrets.token_hex(16),
            "hmac_secret": secrets.token_urlsafe(32),
        },
    }
    path = home / SETTINGS_FILE
    with open(path, "xb") as handle:  # "x": never overwrite an existing deployment
        handle.write(b"# canary deployment settings. Keep this file secret: it holds the signing key.\n")
        tomli_w.dump(values, handle)
    os.chmod(path, 0o600)
    return path


def save_setting(home: pathlib.Path, section: str, key: str, value) -> None:
    """Set one value in canary.toml (a secret created after `canary init`): written whole to a
    temporary file, then renamed over, so a crash leaves the old file or the new one."""
    path = home / SETTINGS_FILE
    values = tomllib.loads(path.read_text("utf-8"))
    values.setdefault(section, {})[key] = value
    temporary = path.with_name(path.name + ".new")
    with open(temporary, "wb") as handle:
        os.chmod(temporary, 0o600)
        handle.write(b"# canary deployment settings. Keep this file secret: it holds the signing key.\n")
        tomli_w.dump(values, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def parse_listen(text: str) -> tuple[str, int]:
    """'127.0.0.1:5353' or '[::1]:53' -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise SettingsError(f"bad listen address {text!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)
