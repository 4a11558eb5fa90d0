"""Registering canaries and issuing standalone tokens with identifiers nobody else has."""
from __future__ import annotations

import random
import secrets

from . import identifiers as ids
from ..settings import Settings
from ..store import Conflict, Store

TOKEN_KINDS = ("dns", "email", "url", "phone")
_LABEL_ATTEMPTS = 8  # 57-bit labels collide only by a miracle; a loop bound keeps a bug from spinning


class Issuer:
    """Hands out identifiers for one deployment: labels, addresses, URLs, numbers."""

    def __init__(self, store: Store, settings: Settings, rng: random.Random | None = None):
        self.store = store
        self.settings = settings
        self.rng = rng or random.Random(secrets.randbits(64))
        self._phones = None

    @property
    def zone(self) -> str:
        return self.settings.zones[0]

    @property
    def mail_domain(self) -> str:
        return self.settings.mail_domains[0]

    @property
    def phones(self):
        if self._phones is None:
            from .phones import PhoneAllocator, load_phone_pool
            pool_path = self.settings.phone_pool_path
            pool = load_phone_pool(pool_path) if pool_path else None
            self._phones = PhoneAllocator(pool, self.store.identifier_values("phone"), self.rng)
        return self._phones

    def _email_for(self, local: str, label: str) -> str:
        if self.settings["deployment"]["mail_mode"] == "mailboxes":
            return self.pool_mailbox()
        if self.settings["deployment"]["mail_mode"] == "shared":
            # One realistic shared domain: the local part alone must be unique.
            return ids.normalise_email(f"{local}{self.rng.randint(10, 9999)}@{self.mail_domain}")
        return ids.normalise_email(f"{local}@{label}.{self.mail_domain}")

    def pool_mailbox(self) -> str:
        """A mailbox of the operator's pool (mailboxes.addresses) that no canary has yet."""
        pool = [ids.normalise_email(address) for address in self.settings["mailboxes"]["addresses"]]
        free = [address for address in pool if not self.store.identifier_exists(address)]
        if not free:
            raise Conflict(f"the mailbox pool is used up ({len(pool)} addresses in mailboxes.addresses, "
                           "each given to one canary): add mailboxes or use another mail_mode")
        return self.rng.choice(free)

    def _hostnames_for(self, label: str) -> list[str]:
        names = [f"{label}.{self.zone}"]
        mail_host = f"{label}.{self.mail_domain}"
        if self.settings["deployment"]["mail_mode"] == "per-canary" and mail_host not in names and any(
                ids.labels_below(mail_host, zone) is not None for zone in self.settings.zones):
            names.append(mail_host)
        return [ids.check_dns_name(name, "hostname") for name in names]

    def register_canary(self, patient: dict, target_id: int | None = None, *, keep_contacts: bool = False) -> dict:
        """Give a generated patient its own identifiers and store it; returns the canary."""
        registered, label, identifiers = self.prepare_canary(patient, keep_contacts=keep_contacts)
        canary_id = self.store.add_canary(registered, label, identifiers, target_id=target_id)
        return self.store.get_canary(canary_id)

    def prepare_canary(self, patient: dict, taken: set[str] = frozenset(), *,
                       keep_contacts: bool = False) -> tuple[dict, str, list[tuple[str, str]]]:
        """The patient with identifiers of its own (none in the store nor in `taken`), not stored yet:
        (patient as registered, DNS label, [(kind, value)]). Only reads the store.

        With `keep_contacts` the patient's email and phone are kept as drawn (a pool address
        and a number from this issuer's allocator, or None when the canary has none), so
        that they look like the host's; otherwise each is made the canary's own here.
        """
        nir = ids.normalise("nir", patient["nir"]) if patient.get("nir") else None
        if nir and (nir in taken or self.store.identifier_exists(nir)):
            raise Conflict(f"NIR {nir} is already registered; generate another patient")
        keep_email = keep_contacts and self.settings["deployment"]["mail_mode"] not in ("per-canary", "shared")
        local = (patient.get("email") or "").partition("@")[0] or ids.new_label()[:8]
        for _ in range(_LABEL_ATTEMPTS):
            label = ids.new_label()
            hostnames = self._hostnames_for(label)
            if keep_email:
                email = ids.normalise_email(patient["email"]) if patient.get("email") else None
            elif keep_contacts and not patient.get("email"):
                email = None
            else:
                email = self._email_for(local, label)
            if not any(value in taken or self.store.identifier_exists(value) for value in (*hostnames, email)
                       if value):
                break
        else:
            raise Conflict("could not find a free DNS label / email address")
        if keep_contacts:
            phone = patient.get("phone")
        else:
            phone = self.phones.allocate(patient.get("phone_kind", "mobile"),
                                         patient.get("address", {}).get("department"))
        from .phones import phone_kind
        # The allocator may fall back to another kind when a range runs out: keep the record true.
        registered = {**patient, "email": email, "phone": phone, "phone_kind": phone_kind(phone) if phone else None,
                      "nir": nir}
        identifiers = [(kind, value) for kind, value in (("email", email), ("phone", phone), ("nir", nir)) if value]
        identifiers += [("url", f"http://{hostnames[0]}/")] + [("hostname", name) for name in hostnames]
        return registered, label, identifiers

    def issue_token(self, kind: str, note: str | None = None) -> dict:
        """A standalone token of `kind` (dns, email, url, phone), registered like a canary's identifiers."""
        if kind not in TOKEN_KINDS:
            raise ids.IdentifierError(f"unknown token kind {kind!r} (one of {', '.join(TOKEN_KINDS)})")
        for _ in range(_LABEL_ATTEMPTS):
            label = ids.new_label()
            hostname = ids.check_dns_name(f"{label}.{self.zone}", "hostname")
            if kind == "dns":
                value, identifiers = hostname, [("hostname", hostname)]
            elif kind == "url":
                value = f"http://{hostname}/"
                identifiers = [("url", value), ("hostname", hostname)]
            elif kind == "email":
                mail_host = f"{label}.{self.mail_domain}"
                value = self._email_for(ids.new_label()[:8], label)
                identifiers = [("email", value)] + [("hostname", name) for name in self._hostnames_for(label)
                                                    if name.endswith(mail_host)]
            else:
                value = self.phones.allocate("mobile", None)
                identifiers = [("phone", value)]
            if not any(self.store.identifier_exists(v) for _, v in identifiers):
                return self.store.add_token(label, kind, value, note, identifiers)
        raise Conflict("could not find a free token name")
