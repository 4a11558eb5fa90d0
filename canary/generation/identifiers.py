"""Identifier values: unguessable DNS labels, DNS name rules, and the normal form of each kind."""
from __future__ import annotations

import re
import secrets
import string

KINDS = ("email", "phone", "hostname", "url", "nir")

# 11 base-36 characters: log2(36**11) ~ 56.9 random bits, well above the 40 the design
# asks for, and short enough to pass for a hosting provider's machine name.
LABEL_ALPHABET = string.ascii_lowercase + string.digits
LABEL_LENGTH = 11

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


class IdentifierError(ValueError):
    """A value that is not a valid identifier of its kind."""


def new_label() -> str:
    """A fresh DNS label from `secrets`: starts with a letter, lowercase letters and digits."""
    first = secrets.choice(string.ascii_lowercase)
    return first + "".join(secrets.choice(LABEL_ALPHABET) for _ in range(LABEL_LENGTH - 1))


def check_dns_name(name: str, what: str = "DNS name") -> str:
    """Lowercase `name`, drop a trailing dot, and check labels <= 63 bytes and name <= 253."""
    name = name.strip().lower().rstrip(".")
    if not name or len(name.encode("ascii", "replace")) > 253:
        raise IdentifierError(f"bad {what} {name!r}: empty or longer than 253 bytes")
    labels = name.split(".")
    for label in labels:
        if not _LABEL.match(label):
            raise IdentifierError(
                f"bad {what} {name!r}: label {label!r} must be 1-63 letters, digits or inner hyphens")
    return name


def check_zone(zone: str) -> str:
    """A zone the operator owns: a valid DNS name of at least two labels."""
    zone = check_dns_name(zone, "zone name")
    if "." not in zone:
        raise IdentifierError(f"bad zone name {zone!r}: give a domain you control, e.g. canary.example.org")
    return zone


def labels_below(name: str, zone: str) -> list[str] | None:
    """The labels of `name` below `zone`, compared label by label; None when outside the zone.

    'a.B.canary.test' below 'canary.test' is ['a', 'b']; 'evilcanary.test' is None.
    """
    name_labels = name.lower().rstrip(".").split(".")
    zone_labels = zone.lower().rstrip(".").split(".")
    if len(name_labels) < len(zone_labels) or name_labels[len(name_labels) - len(zone_labels):] != zone_labels:
        return None
    return name_labels[:len(name_labels) - len(zone_labels)]


def normalise_email(text: str) -> str:
    text = text.strip().strip("<>").strip().lower()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise IdentifierError(f"bad email address {text!r}")
    return f"{local}@{domain.rstrip('.')}"


def normalise_url(text: str) -> str:
    text = text.strip().lower()
    if not text.startswith(("http://", "https://")):
        raise IdentifierError(f"bad URL {text!r}: expected http:// or https://")
    return text


def normalise(kind: str, text: str) -> str:
    """The stored form of an identifier: lowercase email/hostname/URL, E.164 phone, bare NIR."""
    if kind == "email":
        return normalise_email(text)
    if kind == "hostname":
        return check_dns_name(text, "hostname")
    if kind == "url":
        return normalise_url(text)
    if kind == "phone":
        from .phones import normalise_phone
        phone = normalise_phone(text)
        if phone is None:
            raise IdentifierError(f"bad phone number {text!r}")
        return phone
    if kind == "nir":
        from .nir import normalise_nir
        nir = normalise_nir(text)
        if nir is None or len(nir) != 15:
            raise IdentifierError(f"bad NIR {text!r}")
        return nir
    raise IdentifierError(f"unknown identifier kind {kind!r} (one of {', '.join(KINDS)})")
