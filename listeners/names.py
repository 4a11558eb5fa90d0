"""DNS names as label tuples: the one place that splits names and says which labels may be identifiers.

Shared by the DNS listener and the HTTP listener (a URL's host is a DNS name); suffix
matching on labels, not `endswith`, so `evilcanary.test` is not below `canary.test`.
"""
from __future__ import annotations

Labels = tuple[bytes, ...]


def labels_of(name: str) -> Labels:
    """'Www.Canary.Test.' -> (b'www', b'canary', b'test')."""
    return tuple(part.encode("ascii") for part in name.lower().rstrip(".").split("."))


def candidates(labels: Labels, zone: Labels) -> list[str]:
    """Identifier values a name below `zone` may carry: itself and its parents, then each label + zone.

    'www.AbC.canary.test' -> www.abc.canary.test, abc.canary.test, www.canary.test.
    """
    below = labels[:len(labels) - len(zone)]
    zone_text = b".".join(zone).decode("ascii")
    found: list[str] = []
    for start in range(len(below)):
        parts = below[start:]
        if all(plain(part) for part in parts):
            found.append(".".join(part.decode("ascii") for part in parts) + "." + zone_text)
    for part in below:
        if plain(part):
            found.append(part.decode("ascii") + "." + zone_text)
    return list(dict.fromkeys(found))


def plain(label: bytes) -> bool:
    """A label an identifier can have: letters, digits, hyphen, at most 63 bytes."""
    return 0 < len(label) <= 63 and all(c in b"abcdefghijklmnopqrstuvwxyz0123456789-" for c in label)
