"""Creating and opening a deployment: its settings file and its store, side by side."""
from __future__ import annotations

import fcntl
import os
import pathlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .generation import identifiers as ids
from . import signing_keys
from .settings import SETTINGS_FILE, STORE_FILE, Settings, SettingsError, save_setting, write_new_settings
from .store import Store
from .store.dialect import is_postgres

MAIL_MODES = ("per-canary", "shared", "pool", "mailboxes")


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
        return cls(settings, Store(settings.store_location))

    def close(self) -> None:
        self.store.close()

    def signing_key(self) -> Ed25519PrivateKey:
        """The deployment's Ed25519 key. A deployment made before keys existed gets one on first use:
        saved in canary.toml and its public half recorded in the evidence log."""
        if not self.settings["deployment"]["signing_key"]:
            with open(self.settings.home / (SETTINGS_FILE + ".lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)   # two first uses at once must not make two keys
                current = Settings.load(self.settings.home)["deployment"]["signing_key"]
                if not current:
                    current = signing_keys.new_private_key_text()
                    save_setting(self.settings.home, "deployment", "signing_key", current)
                    record_signing_key(self.store, signing_keys.load_private_key(current), "created on first use")
                self.settings.values["deployment"]["signing_key"] = current
        return signing_keys.load_private_key(self.settings["deployment"]["signing_key"])


def record_signing_key(store: Store, key: Ed25519PrivateKey, how: str) -> dict:
    """The public key in the evidence log: which key signs from this event on."""
    public = key.public_key()
    return store.append_event("signing_key.created", {"algorithm": "ed25519", "how": how,
                                                      "public_key": signing_keys.public_pem(public),
                                                      "fingerprint": signing_keys.fingerprint(public)})


SMTP_CERT, SMTP_KEY = "smtp-cert.pem", "smtp-key.pem"


def init_deployment(home: str | os.PathLike, zones: list[str], mail_domains: list[str] | None = None,
                    phone_pool: str | None = None, mail_mode: str = "per-canary",
                    name: str | None = None, store: str | None = None) -> Deployment:
    """Create canary.toml (with fresh secrets) and the store; everything is checked before anything is written.

    `store`: a postgresql:// DSN whose database holds no canary store yet; default canary.db in `home`.
    """
    home = pathlib.Path(home).expanduser().resolve()
    if store and not is_postgres(store):
        raise SettingsError(f"--store {store!r}: expected a postgresql:// URL (the default store is canary.db "
                            "beside canary.toml)")
    for existing in (SETTINGS_FILE,) if store else (SETTINGS_FILE, STORE_FILE):
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
        from .generation.phones import load_phone_pool
        load_phone_pool(pool_path)  # raises, naming the file and line, before anything is written
    home.mkdir(parents=True, exist_ok=True)
    created = Store.create(store or home / STORE_FILE)  # a database already holding a store is refused here
    try:
        # STARTTLS as every mail server offers it: a self-signed certificate for the MX name.
        from .tls import write_self_signed
        write_self_signed(home / SMTP_CERT, home / SMTP_KEY, f"mx.{zones[0]}")
        write_new_settings(home, {"name": name or home.name, "zones": zones, "mail_domains": mail_domains,
                                  "mail_mode": mail_mode, "phone_pool": pool_path},
                           {"url": store} if store else None,
                           {"smtp": {"tls_cert": SMTP_CERT, "tls_key": SMTP_KEY}})
        created.append_event("deployment.created", {"zones": zones, "mail_domains": mail_domains,
                                                    "mail_mode": mail_mode, "phone_pool": pool_path})
        deployment = Deployment(Settings.load(home), created)
        record_signing_key(created, deployment.signing_key(), "canary init")
    finally:
        created.close()
    return Deployment.open(home)


def move_store(deployment: Deployment, url: str, force: bool = False) -> dict[str, int]:
    """Copy the deployment's SQLite store into the empty PostgreSQL database at `url`, check the copy
    (rows, an intact chain with the same head), then point canary.toml at it. Returns rows per table."""
    from .hosts import listener_hosts
    if not is_postgres(url):
        raise SettingsError(f"--to {url!r}: expected a postgresql:// URL")
    if deployment.store.kind != "sqlite":
        raise SettingsError(f"this deployment's store is already {deployment.store.describe()}")
    alive = [row["name"] for row in listener_hosts(deployment.store,
                                                    float(deployment.settings["store"]["heartbeat_seconds"]))
             if row["state"] == "alive"]
    if alive and not force:
        raise SettingsError(f"listener hosts still running on this store: {', '.join(alive)}; stop them "
                            "first (contacts recorded during the move would stay behind), or pass --force")
    check = deployment.store.verify_evidence()
    if not check.ok:
        raise SettingsError(f"the evidence chain is broken at event {check.broken_at} ({check.reason}): "
                            "not moving a store that does not verify")
    destination = Store.create(url)
    try:
        counts = deployment.store.copy_into(destination)
    finally:
        destination.close()
    save_setting(deployment.settings.home, "store", "url", url)
    return counts
