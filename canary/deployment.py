"""Creating and opening a deployment: its settings file and its store, side by side."""
from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass

from . import identifiers as ids
from .settings import SETTINGS_FILE, STORE_FILE, Settings, SettingsError, write_new_settings
from .store import Store

MAIL_MODES = ("per-canary", "shared", "mailboxes")


@dataclass
class Deployment:
    settings: Settings
    store: Store

    @classmethod
    def open(cls, home=None, overrides: dict | None = None) -> "Deployment":
        """The deployment at --home / CANARY_HOME / the current directory."""
        settings = Settings.load(home, overrides=overrides)
        if not settings.zones:
            raise SettingsError(f"{settings.home / SETTINGS_FILE}: deployment.zones is empty")
        return cls(settings, Store(settings.store_path))

    def close(self) -> None:
        self.store.close()


SMTP_CERT, SMTP_KEY = "smtp-cert.pem", "smtp-key.pem"


def init_deployment(home: str | os.PathLike, zones: list[str], mail_domains: list[str] | None = None,
                    phone_pool: str | None = None, mail_mode: str = "per-canary",
                    name: str | None = None) -> Deployment:
    """Create canary.toml (with fresh secrets) and the store; everything is checked before anything is written."""
    home = pathlib.Path(home).expanduser().resolve()
    for existing in (SETTINGS_FILE, STORE_FILE):
        if (home / existing).exists():
            raise SettingsError(f"{home / existing} exists: refusing to overwrite a deployment")
    if not zones:
        raise SettingsError("give at least one --zone")
    zones = [ids.check_zone(zone) for zone in zones]
    mail_domains = [ids.check_zone(domain) for domain in (mail_domains or zones[:1])]
    if mail_mode not in MAIL_MODES:
        raise SettingsError(f"bad mail mode {mail_mode!r} (one of {', '.join(MAIL_MODES)})")
    if mail_mode == "per-canary":
        for domain in mail_domains:
            if not any(ids.labels_below(domain, zone) is not None for zone in zones):
                raise SettingsError(
                    f"mail domain {domain} is not inside a zone ({', '.join(zones)}): per-canary mail "
                    "domains need our DNS to answer for them; use --mail-mode shared or add the zone")
    pool_path = ""
    if phone_pool:
        pool_path = str(pathlib.Path(phone_pool).expanduser().resolve())
        from .phones import load_phone_pool
        load_phone_pool(pool_path)  # raises, naming the file and line, before anything is written
    home.mkdir(parents=True, exist_ok=True)
    # STARTTLS as every mail server offers it: a self-signed certificate for the MX name.
    from .tls import write_self_signed
    write_self_signed(home / SMTP_CERT, home / SMTP_KEY, f"mx.{zones[0]}")
    write_new_settings(home, {"name": name or home.name, "zones": zones, "mail_domains": mail_domains,
                              "mail_mode": mail_mode, "phone_pool": pool_path},
                       {"smtp": {"tls_cert": SMTP_CERT, "tls_key": SMTP_KEY}})
    store = Store.create(home / STORE_FILE)
    store.append_event("deployment.created", {"zones": zones, "mail_domains": mail_domains,
                                              "mail_mode": mail_mode, "phone_pool": pool_path})
    store.close()
    return Deployment.open(home)
