"""Deployment settings: defaults < canary.toml < environment (CANARY_*) < flags.

`DEFAULTS` is the schema, the one place a setting is declared: a key not in it is refused
(with the closest valid name), and a value must have its default's type. To add a setting,
add its key and default to DEFAULTS and one line of help to HELP below; the settings
reference (docs/reference/settings.md) and the sample canary.toml are generated from both.
"""
from __future__ import annotations

import copy
import difflib
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
        # lookup alone identifies it; "shared": one realistic domain for all; "pool": the
        # mail_domains are a pool, each shared by several canaries (docs/realism.md).
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
        # DNS over TCP connections in all and from one address.
        "tcp_max_connections": 256,
        "tcp_connections_per_source": 16,
        # UDP queries read per second from one /24 (IPv6 /56); beyond, counted ("shed") and
        # dropped unread. Python answers a few hundred queries a second in all.
        "udp_queries_per_network": 100,
        # The UDP socket's receive queue (SO_RCVBUF; Linux doubles it for its bookkeeping): what
        # waits there waits its turn, flood and legitimate queries alike, so it is kept short:
        # ~340 small queries, read and shed in ~10 ms (docs/limits.md).
        "udp_receive_buffer_bytes": 131072,
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
        # Open sessions in all and from one address (docs/limits.md); beyond, a 421 and close.
        "max_connections": 400,
        "max_connections_per_source": 20,
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
        # Connections (one thread each) in all and from one address.
        "max_connections": 512,
        "max_connections_per_source": 32,
    },
    "budget": {
        # Storage budget of the listeners (docs/limits.md): per period, each identifier and each
        # source address stores this many contacts (and bytes) whole; beyond, contacts are counted
        # in tallies (first/last time, count, bytes), so a flood cannot fill the disk.
        "period_seconds": 3600,
        "contacts_per_identifier": 200,
        "bytes_per_identifier": 8 << 20,
        "contacts_per_source": 1000,
        "bytes_per_source": 32 << 20,
        "contacts_per_period": 100_000,
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
        # Failed logins allowed in the window, per client address, per account, and in all.
        "login_failures_per_address": 10,
        "login_failures_per_account": 30,
        "login_failures_global": 100,
        "login_failure_window_seconds": 900,
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
        # A host value (name, street, commune, insurer spelling) is learnt only when at least
        # this many distinct host patients share it.
        "k_anonymity": 5,
        # "host": phone and email present as often as on the host's patients (at least one);
        # "all": every canary has both, more ways to be touched but a presence pattern a thief can see.
        "contacts": "host",
        # Key canaries in the holes of the host's key sequences (deleted or merged patients,
        # rolled-back inserts), among the host's rows of that time, rather than after its newest.
        "fill_holes": True,
        # With fill_holes, what a canary does when no hole is left: "next-keys" takes the next
        # keys (among the newest rows); "wait" is not planted until the host leaves a new hole.
        "beyond_holes": "next-keys",
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


# One line per setting, for the generated reference and sample canary.toml (tests/test_settings.py
# fails when a key of DEFAULTS has no line here).
HELP: dict[str, dict[str, str]] = {
    "deployment": {
        "name": "A name for this deployment, shown in alerts and reports.",
        "zones": "DNS zones delegated to this deployment's name servers; canaries' hostnames live below them.",
        "mail_domains": "Mail domains of canaries' email addresses (default: the first zone).",
        "mail_mode": '"per-canary": each address\'s domain carries the canary\'s own DNS label, so an MX lookup '
                     'alone identifies it; "shared": one realistic domain for all.',
        "phone_pool": "File of phone numbers the operator owns (one a line); empty: numbers from the ranges "
                      "the French numbering plan reserves for fiction.",
        "secret": "Signs dashboard sessions; `canary init` generates it. Keep it secret.",
        "signing_key": "Ed25519 private key (base64 of 32 bytes) that signs reports and evidence checkpoints; "
                       "`canary init` creates it (or first use, for an older deployment). Keep it secret.",
    },
    "timestamping": {
        "url": "RFC 3161 timestamping authority: every report and `canary evidence anchor` checkpoint gets a "
               "token from it (empty: none; reports say they are not timestamped).",
        "ca_file": "The TSA's CA certificate (PEM), to check its tokens; published by the TSA.",
        "timeout_seconds": "Timeout of one request to the TSA.",
    },
    "store": {
        "url": 'Where contacts, plantings and the evidence log live: "" is canary.db beside canary.toml (SQLite, one '
               'host); postgresql://host/db when listeners run on several hosts (password in ~/.pgpass, not here).',
        "host": 'This host\'s name on the contacts it records and in `canary hosts` ("": the machine\'s host name).',
        "heartbeat_seconds": "How often `canary serve` tells the store it is alive (`canary hosts`).",
    },
    "dns": {
        "tcp_max_connections": 'DNS-over-TCP connections open at once, in all; beyond, new ones are closed.',
        "tcp_connections_per_source": 'DNS-over-TCP connections open at once from one address.',
        "udp_queries_per_network": 'UDP queries read per second from one /24 (IPv6 /56); beyond, counted as shed and dropped unread.',
        "udp_receive_buffer_bytes": 'UDP receive queue of the DNS socket (SO_RCVBUF): bounds how long a query waits behind a flood; beyond, the kernel drops.',
        "listen": 'HOST:PORT the DNS listener binds (UDP and TCP), or "off".',
        "addresses": "A records of token names, name servers and the MX host.",
        "addresses6": "AAAA records of token names, name servers and the MX host.",
        "ttl": "TTL of every record, and the negative TTL (SOA minimum), in seconds.",
        "nameservers": "Name servers announced at the apex (default ns1.<first zone>); must match the delegation.",
        "rrl_rate": "Response rate limit: answers per second per source network (0: no limit).",
        "rrl_slip": "Of the answers over the limit, every n-th is sent truncated (TC), so a real resolver retries over TCP.",
        "tcp_idle_seconds": "A DNS TCP connection idle this long is closed.",
    },
    "smtp": {
        "max_connections": 'SMTP sessions open at once, in all; beyond, a 421 and close.',
        "max_connections_per_source": 'SMTP sessions open at once from one address; beyond, a 421 and close.',
        "listen": 'HOST:PORT the SMTP listener binds, or "off".',
        "hostname": "Name the MX records point at and the server greets with (default mx.<first zone>).",
        "max_message_bytes": "Largest message accepted (SIZE); bigger ones are refused.",
        "max_stored_bytes": "Of a message, this much is stored as evidence (its sha256 covers all of it).",
        "max_recipients": "Recipients accepted per transaction.",
        "idle_seconds": "An SMTP connection idle this long is closed.",
        "tls_cert": "PEM certificate file: STARTTLS is offered when set (with tls_key).",
        "tls_key": "PEM private key of tls_cert.",
        "rcpt_answer_ms": "Every RCPT is answered this long after it arrived, a canary's or not (answer times "
                          "must not tell canaries apart); keep it above the store's commit time.",
    },
    "mailboxes": {
        "addresses": 'The mailbox pool: addresses you own at ordinary providers, given to canaries when '
                     'deployment.mail_mode = "mailboxes".',
        "imap_host": "IMAP server of the pool's mailbox; canary serve reads it when set.",
        "imap_port": "Its port (993 for TLS).",
        "imap_security": '"tls", "starttls" or "none" (a server on this machine only).',
        "imap_user": "IMAP login.",
        "imap_password_file": "File holding the IMAP password, relative to the deployment (never canary.toml).",
        "imap_folder": "Folder the pool's mail is delivered to.",
        "poll_seconds": "How often the folder is read.",
    },
    "http": {
        "max_connections": 'HTTP connections open at once, in all; beyond, new ones are closed.',
        "max_connections_per_source": 'HTTP connections open at once from one address.',
        "listen": 'HOST:PORT the HTTP listener (token URLs, telephony webhooks) binds, or "off".',
        "trusted_proxy": 'Trust X-Forwarded-For from this proxy address only ("" trusts nobody).',
        "idle_seconds": "A connection silent this long is closed (one thread per connection).",
    },
    "budget": {
        "period_seconds": 'Length of a storage-budget period (docs/limits.md).',
        "contacts_per_identifier": 'Contacts stored whole per identifier and period; beyond, counted in tallies.',
        "bytes_per_identifier": 'Bytes stored per identifier and period; beyond, contacts are counted in tallies.',
        "contacts_per_source": 'Contacts stored whole per source address and period; beyond, counted in tallies.',
        "bytes_per_source": 'Bytes stored per source address and period; beyond, contacts are counted in tallies.',
        "contacts_per_period": 'Contacts stored whole per period in all; beyond, counted in tallies.',
    },
    "webhooks": {
        "twilio_auth_token": "Twilio auth token: checks X-Twilio-Signature of SMS and call webhooks.",
        "hmac_secret": "Secret of the generic JSON webhook's X-Canary-Signature (HMAC-SHA256 of the body).",
        "public_url": "Public URL the provider is configured with (its signature covers the URL).",
    },
    "dashboard": {
        "login_failures_per_address": 'Failed logins allowed per client address in the window.',
        "login_failures_per_account": 'Failed logins allowed per account in the window.',
        "login_failures_global": 'Failed logins allowed in all in the window.',
        "login_failure_window_seconds": 'The window failed logins are counted in.',
        "listen": "HOST:PORT the dashboard and JSON API bind.",
        "public_url": "URL users reach the dashboard at (https:// makes session cookies Secure).",
        "max_upload_bytes": "Largest file the dashboard's scan page accepts.",
    },
    "scan": {
        "max_seconds": "A scan of one file stops, with a one-line error naming this setting, after this many seconds.",
        "max_temp_bytes": "Temporary disk one file may use: standard input, or a zip inside a gzip/bzip2/xz, "
                          "is spooled to a file.",
        "max_record_bytes": "Largest line, JSON element or SQL row held in memory at once.",
        "max_xlsx_part_bytes": "Largest .xlsx part read whole (shared strings, styles); worksheets are streamed.",
    },
    "attribution": {
        "p": "Conservative probability that one canary reached a file some other way: "
             "k canaries of a target give P(source) = 1 - p^k.",
    },
    "planting": {
        "k_anonymity": 'A host value (name, street, commune, insurer spelling) is learnt only when at least this many distinct host patients share it.',
        "contacts": '"host": phone and email present as often as on the host\'s patients (at least one); "all": every canary has both (more ways to be touched, but a presence pattern a thief can see).',
        "rotate_count": "Canaries `canary rotate` plants in each target per run.",
        "fill_holes": "Key canaries in the holes of the host's key sequences (deleted or merged patients, rolled-back "
                      "inserts), among the host's rows of that time, rather than after its newest row. A thief "
                      "holding two copies of one database taken at different times sees a key appear below the "
                      "older copy's newest: set false where that matters more than one copy's statistics.",
        "beyond_holes": 'With fill_holes, what a canary does when no hole is left in the host\'s patient keys: '
                        '"next-keys" takes the next keys, among the host\'s newest rows (a thief who keeps the '
                        'patients registered before some date drops it); "wait" is not planted, and a schedule '
                        '(`plant --over`) keeps it due until erasures or merges leave a new hole.',
    },
    "alerts": {
        "throttle_seconds": "At most one alert per canary (or token) and channel in this many seconds; "
                            "what is held back is summarised in the next alert.",
        "poll_seconds": "How often the alert worker looks for new contacts.",
        "retry_base_seconds": "A failed delivery is retried after this, doubling each time...",
        "retry_max_seconds": "... up to this.",
        "timeout_seconds": "Timeout of one delivery attempt.",
        "webhook_url": "POST each alert as JSON to this URL.",
        "webhook_secret": "When set, webhook bodies carry X-Canary-Signature: sha256=HMAC(secret, body).",
        "slack_url": "Slack (or Mattermost, Rocket.Chat) incoming webhook URL.",
        "email_to": "Send each alert by email to this address (through smtp_relay).",
        "email_from": "From address of alert emails.",
        "smtp_relay": "HOST:PORT of the relay alert emails go through.",
        "smtp_starttls": "Use STARTTLS with the relay.",
        "smtp_username": "Relay login (empty: none).",
        "smtp_password": "Relay password.",
        "jsonl_path": "Append each alert as one JSON line to this file (relative to the deployment).",
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


# CANARY_* variables that are not settings: everything else with the prefix must name one.
ENVIRONMENT_NOT_SETTINGS = ("CANARY_HOME", "CANARY_DEBUG", "CANARY_ADMIN_PASSWORD")
ENVIRONMENT_NOT_SETTINGS_PREFIXES = ("CANARY_TEST_",)   # test-suite knobs, e.g. CANARY_TEST_POSTGRES_DSN


def environment_name(section: str, key: str) -> str:
    return f"CANARY_{section}_{key}".upper()


def _closest(word: str, choices, template: str = "{}") -> str:
    """' (did you mean X?)' for the nearest valid name, or '' when nothing is near."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {template.format(found[0])}?)" if found else ""


def _type_name(value) -> str:
    return {bool: "true or false", int: "a number", float: "a number", str: "a string",
            list: "a list"}.get(type(value), type(value).__name__)


def _check_value(where: str, default, value):
    """The value if it has its default's type (an integer is a valid number); SettingsError otherwise."""
    if isinstance(default, bool) or isinstance(value, bool):
        ok = isinstance(value, bool) and isinstance(default, bool)
    elif isinstance(default, (int, float)):
        ok = isinstance(value, (int, float))   # seconds may be fractional; a count's range is its user's check
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise SettingsError(f"{where}: expected {_type_name(default)}, got {value!r}")
    return value


def check_values(values: dict, source: str) -> dict:
    """Refuse unknown sections and keys (naming the closest valid one) and values of the wrong type."""
    for section, keys in values.items():
        if section not in DEFAULTS:
            raise SettingsError(f"{source}: unknown section [{section}]"
                                + _closest(section, DEFAULTS, "[{}]"))
        if not isinstance(keys, dict):
            raise SettingsError(f"{source}: {section} must be a section ([{section}]), not a value")
        for key, value in keys.items():
            if key not in DEFAULTS[section]:
                raise SettingsError(f"{source}: unknown key {key!r} in [{section}]"
                                    + _closest(key, DEFAULTS[section]))
            _check_value(f"{source}: [{section}] {key}", DEFAULTS[section][key], value)
    return values


def _from_environment(environ) -> dict:
    """CANARY_DNS_LISTEN=... becomes {"dns": {"listen": ...}}; values parse as TOML when they can.

    A CANARY_* variable that names no setting is refused: a typo would otherwise be ignored."""
    names = {environment_name(section, key): (section, key) for section in DEFAULTS for key in DEFAULTS[section]}
    found: dict[str, dict] = {}
    for name, raw in environ.items():
        if not name.startswith("CANARY_") or name in ENVIRONMENT_NOT_SETTINGS \
                or name.startswith(ENVIRONMENT_NOT_SETTINGS_PREFIXES):
            continue
        if name not in names:
            raise SettingsError(f"environment variable {name} is not a setting" + _closest(name, names))
        section, key = names[name]
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        if isinstance(DEFAULTS[section][key], str) and not isinstance(value, str):
            value = raw   # CANARY_DEPLOYMENT_NAME=2026 is the string "2026"
        _check_value(f"environment variable {name}", DEFAULTS[section][key], value)
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
        values = _merge(DEFAULTS, check_values(from_file, str(path / SETTINGS_FILE)))
        values = _merge(values, _from_environment(os.environ if environ is None else environ))
        values = _merge(values, check_values(overrides or {}, "settings given by flags"))
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
