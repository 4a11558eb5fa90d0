"""Value formats (dates, case, phone spacing, key schemes) and learning them from a sample of host rows."""
from __future__ import annotations

import collections
import functools
import datetime as dt
import re
import unicodedata

from .base import PlantingError

# Date formats labs type, most specific first so that '2020-01-02 10:00' is not read as a date alone.
DATE_FORMATS = ("YYYY-MM-DD HH:MM:SS.ffffff", "YYYY-MM-DDTHH:MM:SS.ffffff", "YYYY-MM-DD HH:MM:SS", "YYYY-MM-DDTHH:MM:SS", "YYYY-MM-DD HH:MM", "DD/MM/YYYY HH:MM:SS",
                "DD/MM/YYYY HH:MM", "YYYY-MM-DD", "DD/MM/YYYY", "DD-MM-YYYY", "DD.MM.YYYY", "YYYYMMDD",
                "DD/MM/YY")
PHONE_STYLES = {
    "spaced": "06 12 34 56 78",
    "compact": "0612345678",
    "dotted": "06.12.34.56.78",
    "dashed": "06-12-34-56-78",
    "e164": "+33612345678",
    "international": "+33 6 12 34 56 78",
}
CASES = ("upper", "lower", "as-is")
# Enough agreement to call it the host's habit; below it we keep the generator's own form.
_MAJORITY = 0.8


@functools.lru_cache(maxsize=256)
def strftime_pattern(form: str) -> str:
    """'DD/MM/YYYY HH:MM' -> '%d/%m/%Y %H:%M' (MM after an hour is minutes)."""
    out, i = "", 0
    while i < len(form):
        for token, code in (("YYYY", "%Y"), ("YY", "%y"), ("DD", "%d"), ("HH", "%H"), ("SS", "%S"), ("MI", "%M"),
                            ("ffffff", "%f"), ("fff", "%f")):
            if form.startswith(token, i):
                out += code
                i += len(token)
                break
        else:
            if form.startswith("MM", i):
                out += "%M" if "%H" in out else "%m"
                i += 2
            else:
                out += form[i].replace("%", "%%")
                i += 1
    return out


def format_date(value: dt.date | dt.datetime, form: str):
    """A date or datetime in a host format; 'native' keeps the object for typed columns."""
    if form == "native":
        return value
    if form == "ISO":
        return value.isoformat()
    if form.endswith(".fff"):           # milliseconds: strftime only knows microseconds
        return value.strftime(strftime_pattern(form))[:-3]
    return value.strftime(strftime_pattern(form))


def fraction_digits(form: str) -> int:
    """Digits of the second a text format writes: 6 for '...SS.ffffff', 3 for '...SS.fff', else 0."""
    return 6 if form.endswith("ffffff") else 3 if form.endswith("fff") else 0


def learn_fraction_digits(values) -> int:
    """Digits of the second a typed timestamp column's host values carry: 0, 3 (milliseconds) or 6."""
    moments = [v for v in values if isinstance(v, dt.datetime)]
    if not moments:
        return 0
    fractional = [m.microsecond for m in moments if m.microsecond]
    # Half the rows with a fraction: a clock that writes them (one in a million lands on .000000).
    if len(fractional) < 0.5 * len(moments):
        return 0
    return 3 if all(us % 1000 == 0 for us in fractional) else 6


def parse_date(text: str, form: str) -> dt.datetime:
    return dt.datetime.strptime(text, strftime_pattern(form))


@functools.lru_cache(maxsize=64)
def _shape_regex(form: str) -> re.Pattern:
    """What a date in `form` looks like, digits for fields: a quick filter before strptime."""
    out, i = "", 0
    for token, regex in (("YYYY", r"\d{4}"), ("ffffff", r"\d{1,6}"), ("fff", r"\d{1,6}"), ("YY", r"\d\d"),
                         ("DD", r"\d\d"), ("MM", r"\d\d"), ("HH", r"\d\d"), ("SS", r"\d\d"), ("MI", r"\d\d")):
        form = form.replace(token, "\0" + regex + "\0")
    parts = form.split("\0")
    out = "".join(part if index % 2 else re.escape(part) for index, part in enumerate(parts))
    return re.compile(out + "$")


def learn_date_format(values) -> str | None:
    """The format most of the host's values are written in, or None if they are no dates."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    if all(isinstance(v, (dt.date, dt.datetime)) for v in values):
        return "native"
    texts = [v for v in values if isinstance(v, str)]
    best, best_count = None, 0
    for form in DATE_FORMATS:
        pattern = strftime_pattern(form)
        shape = _shape_regex(form)
        count = 0
        for text in texts:
            # The shape first (cheap), strptime only for what has it: a plant learns from 1,000 rows per column.
            if not shape.match(text):
                continue
            try:
                dt.datetime.strptime(text, pattern)
                count += 1
            except ValueError:
                pass
        if count > best_count:
            best, best_count = form, count
    if best and best.endswith("ffffff"):
        # '%f' reads 3 digits as well as 6: a host that writes milliseconds gets milliseconds.
        widths = collections.Counter(len(t.rpartition(".")[2]) for t in texts if "." in t)
        if widths and widths.most_common(1)[0][0] == 3:
            best = best[:-6] + "fff"
    return best if best_count >= _MAJORITY * len(values) else None


def apply_case(text: str, case: str) -> str:
    if case == "upper":
        return text.upper()
    if case == "lower":
        return text.lower()
    return text


def learn_case(values) -> str:
    """'upper' if the host writes this column in capitals, 'lower' if in small letters, else 'as-is'."""
    texts = [v for v in values if isinstance(v, str) and any(c.isalpha() for c in v)]
    if not texts:
        return "as-is"
    upper = sum(t == t.upper() for t in texts)
    lower = sum(t == t.lower() for t in texts)
    if upper >= _MAJORITY * len(texts) and upper > lower:
        return "upper"
    if lower >= _MAJORITY * len(texts):
        return "lower"
    return "as-is"


# Enough of the host's text to say it never writes an accent: 100 values (one in three of the
# example lab's street lines has one, one in thirty of its communes).
_ASCII_EVIDENCE = 100


def learn_ascii_only(values) -> bool:
    """True when a host column holds many words and not one accent: legacy systems that strip them."""
    texts = [v for v in values if isinstance(v, str) and any(c.isalpha() for c in v)]
    return len(texts) >= _ASCII_EVIDENCE and all(v.isascii() for v in texts)


def strip_accents(text: str) -> str:
    """'GUÉRIN' -> 'GUERIN', 'Œuvre' -> 'OEuvre'; other characters as they are."""
    text = text.replace("Œ", "OE").replace("œ", "oe").replace("Æ", "AE").replace("æ", "ae")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def format_phone(e164: str, style: str) -> str:
    """'+33612345678' in a host's style; numbers outside France stay E.164."""
    if not e164.startswith("+33") or len(e164) != 12:
        return e164
    national = "0" + e164[3:]
    pairs = [national[i:i + 2] for i in range(0, 10, 2)]
    if style == "spaced":
        return " ".join(pairs)
    if style == "compact":
        return national
    if style == "dotted":
        return ".".join(pairs)
    if style == "dashed":
        return "-".join(pairs)
    if style == "international":
        return "+33 " + e164[3] + " " + " ".join(e164[i:i + 2] for i in range(4, 12, 2))
    if style == "e164":
        return e164
    raise PlantingError(f"unknown phone style {style!r} (one of {', '.join(PHONE_STYLES)})")


_PHONE_SHAPES = {
    "spaced": re.compile(r"^0\d( \d\d){4}$"),
    "compact": re.compile(r"^0\d{9}$"),
    "dotted": re.compile(r"^0\d(\.\d\d){4}$"),
    "dashed": re.compile(r"^0\d(-\d\d){4}$"),
    "e164": re.compile(r"^\+33\d{9}$"),
    "international": re.compile(r"^\+33 \d( \d\d){4}$"),
}


def learn_phone_style(values) -> str | None:
    """The spacing of the host's phone numbers; values that are no phone (emails) are ignored."""
    counts = collections.Counter()
    for value in values:
        if isinstance(value, str):
            for style, shape in _PHONE_SHAPES.items():
                if shape.match(value):
                    counts[style] += 1
                    break
    return counts.most_common(1)[0][0] if counts else None


# NIR as typed: '185057800608436' or grouped '1 85 05 78 006 084 36' (sex, year, month, place, order, key).
_NIR_GROUPS = (1, 2, 2, 2, 3, 3, 2)
NIR_STYLES = ("compact", "spaced")


def format_nir(nir: str, style: str) -> str:
    if style == "compact" or len(nir) != 15:
        return nir
    parts, start = [], 0
    for width in _NIR_GROUPS:
        parts.append(nir[start:start + width])
        start += width
    return " ".join(parts)


def learn_nir_style(values) -> str:
    """'spaced' if most of the host's NIRs are written in groups, else 'compact'."""
    texts = [str(v) for v in values if v]
    spaced = sum(" " in t for t in texts)
    return "spaced" if texts and spaced >= _MAJORITY * len(texts) else "compact"


# -- key schemes ------------------------------------------------------------------------------
# A pattern is literal text with fields: {yyyy} {yy} {mm} {dd} {mmdd} {seq:N} (N digits, zero-padded).
_FIELD = re.compile(r"\{(yyyy|yy|mm|dd|mmdd|seq)(?::(\d+))?\}")
_FIELD_REGEX = {"yyyy": r"(?:19|20)\d\d", "yy": r"\d\d", "mm": r"\d\d", "dd": r"\d\d", "mmdd": r"\d{4}"}


def pattern_regex(pattern: str) -> re.Pattern:
    """The regex that matches a key pattern's values, with the sequence as group 'seq'."""
    out, last = "", 0
    for match in _FIELD.finditer(pattern):
        out += re.escape(pattern[last:match.start()])
        name, width = match.group(1), match.group(2)
        if name == "seq":
            # At least N digits: a padded counter that outgrows its width ('9999', '10000') is still counted.
            out += rf"(?P<seq>\d{{{width},}})" if width else r"(?P<seq>\d+)"
        else:
            out += f"(?:{_FIELD_REGEX[name]})"
        last = match.end()
    if not any(m.group(1) == "seq" for m in _FIELD.finditer(pattern)):
        raise PlantingError(f"key pattern {pattern!r} has no {{seq}} field")
    return re.compile(out + re.escape(pattern[last:]) + "$")


def next_sequence(pattern: str, existing) -> int:
    """One more than the highest sequence number among the host's keys of this pattern."""
    regex = pattern_regex(pattern)
    highest = 0
    for value in existing:
        match = regex.match(str(value)) if value is not None else None
        if match:
            highest = max(highest, int(match.group("seq")))
    return highest + 1


def render_key(pattern: str, seq: int, moment: dt.datetime) -> str:
    def field(match):
        name, width = match.group(1), match.group(2)
        if name == "seq":
            text = str(seq)
            return text.zfill(int(width)) if width else text
        return {"yyyy": f"{moment:%Y}", "yy": f"{moment:%y}", "mm": f"{moment:%m}", "dd": f"{moment:%d}",
                "mmdd": f"{moment:%m%d}"}[name]
    return _FIELD.sub(field, pattern)


def _key_shape(parts: list[str], loose: bool) -> tuple:
    """('d4', '-', 'd6') for '2019-004512'; loose: the last number of any width ('d+'), for unpadded counters."""
    shape = ["d" + str(len(p)) if p.isdigit() else p for p in parts]
    if loose:
        last = max((i for i, part in enumerate(parts) if part.isdigit()), default=None)
        if last is not None:
            shape[last] = "d+"
    return tuple(shape)


def _last_number(parts: list[str]) -> int:
    return max(i for i, part in enumerate(parts) if part.isdigit())


def learn_key_pattern(values) -> str | None:
    """Guess the host's key scheme from its keys: '2019004512' -> '{yyyy}{seq:6}', '20-1107-000042' -> '{yy}-{mmdd}-{seq:6}'."""
    keys = [re.findall(r"\d+|\D+", str(v)) for v in values if v is not None]
    if not keys:
        return None
    # Zero-padded counters keep one width; '98', '99', '100' (no padding) only agree once the width is let go.
    for loose in (False, True):
        shape, count = collections.Counter(_key_shape(k, loose) for k in keys).most_common(1)[0]
        samples = [k for k in keys if _key_shape(k, loose) == shape]
        if count >= _MAJORITY * len(keys) and not (
                loose and any(k[_last_number(k)].startswith("0") and len(k[_last_number(k)]) > 1 for k in samples)):
            break
    else:
        return None
    digit_positions = [i for i, part in enumerate(shape) if part.startswith("d")]
    if not digit_positions:
        return None
    fields = {}
    seq_at = digit_positions[-1]
    # A bare number with a year in front ('2019004512'): split the year from the sequence.
    if len(digit_positions) == 1 and shape[seq_at] != "d+" and int(shape[seq_at][1:]) >= 8 and all(
            1990 <= int(s[seq_at][:4]) <= 2099 for s in samples):
        width = int(shape[seq_at][1:]) - 4
        pattern = "".join(p if not p.startswith("d") else "" for p in shape[:seq_at])
        return pattern + "{yyyy}{seq:" + str(width) + "}" + "".join(shape[seq_at + 1:])
    for position in digit_positions[:-1]:
        width = int(shape[position][1:])
        column = [s[position] for s in samples]
        if width == 4 and all(1990 <= int(v) <= 2099 for v in column):
            fields[position] = "{yyyy}"
        elif width == 2 and position == digit_positions[0] and len(set(column)) <= 30:
            fields[position] = "{yy}"
        elif width == 4 and all(1 <= int(v[:2]) <= 12 and 1 <= int(v[2:]) <= 31 for v in column):
            fields[position] = "{mmdd}"
        elif width == 2 and all(1 <= int(v) <= 12 for v in column):
            fields[position] = "{mm}"
        else:
            return None  # a fixed code we do not understand: let the mapping say
    out = ""
    for i, part in enumerate(shape):
        if i == seq_at:
            out += "{seq}" if part == "d+" else "{seq:" + part[1:] + "}"
        elif i in fields:
            out += fields[i]
        else:
            out += part
    return out
