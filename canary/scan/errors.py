"""What a scan reports about a file it cannot read: always one line, naming the file."""
from __future__ import annotations


def shown_name(name: str) -> str:
    """A name taken from the leaker's file (a zip member, an xlsx part) as an error line may show it:
    no terminal escapes or newlines; an empty one is named."""
    return "".join(c if c.isprintable() else "?" for c in name) or "(no name)"


class ScanInputError(ValueError):
    """A file the scan cannot read: says which file and why, in one line."""


class TruncatedInput(ScanInputError):
    """Data that ends early: what came before the cut can still be scanned (--allow-truncated)."""


class ScanLimitExceeded(ScanInputError):
    """A file that would cost more than a configured bound (scan.* in the settings)."""
