"""DNS names as label tuples: the one place that splits names and says which labels may be identifiers.

Shared by the DNS listener and the HTTP listener (a URL's host is a DNS name); suffix
matching on labels, not `endswith`, so `evilcanary.test` is not below `canary.test`.
"""
from __future__ import annotations

Labels = tuple[bytes, ...]
MAX_NAME = 253             # bytes of a name in text, without its final dot


def labels_of(name: str) -> Labels:
    """'Www.Canary.Test.' -> (b'www', b'canary', b'test')."""
    return tuple(part.encode("ascii") for part in name.lower().rstrip(".").split("."))


def candidates(labels: Labels, zone: Labels) -> list[str]:
    """Identifier values a name below `zone` may carry: itself and its parents, then each label + zone.

    'www.AbC.canary.test' -> www.abc.canary.test, abc.canary.test, www.canary.test.
    """
    below = labels[:len(labels) - len(zone)]
    zone_text = b".".join(zone).decode("ascii")
    # Whole names, from the longest: only a tail of plain labels within MAX_NAME bytes can be an
    # identifier, so this is linear in the name whatever its length (a 32 KB HTTP Host of
    # 16,000 labels made every suffix of every suffix: 28 s and 615 MB).
    suffixes: list[str] = []
    name = zone_text
    for part in reversed(below):
        if not plain(part) or len(name) + len(part) + 1 > MAX_NAME:
            break
        name = part.decode("ascii") + "." + name
        suffixes.append(name)
    found = suffixes[::-1]
    for part in below:
        if plain(part):
            found.append(part.decode("ascii") + "." + zone_text)
    return list(dict.fromkeys(found))


def plain(label: bytes) -> bool:
    """A label an identifier can have: letters, digits, hyphen, at most 63 bytes."""
    return 0 < len(label) <= 63 and all(c in b"abcdefghijklmnopqrstuvwxyz0123456789-" for c in label)
