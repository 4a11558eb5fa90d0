"""The settings reference and a commented sample canary.toml, generated from the schema (DEFAULTS, HELP)."""
from __future__ import annotations

import textwrap

import tomli_w

from .settings import DEFAULTS, HELP, environment_name

# Values `canary init` writes itself: the sample shows where they go, never a real secret.
_WRITTEN_BY_INIT = {("deployment", "zones"): ["canary.example.org"], ("deployment", "secret"): "(set by canary init)",
                    ("webhooks", "twilio_auth_token"): "(set by canary init)",
                    ("webhooks", "hmac_secret"): "(set by canary init)",
                    ("deployment", "signing_key"): "(set by canary init)"}


def _toml_value(value) -> str:
    """A value as TOML on one line (tomli_w spreads lists over several)."""
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


def settings_reference_markdown() -> str:
    """One table per section: key, default, environment variable, what it does."""
    out = []
    for section, keys in DEFAULTS.items():
        out += [f"## `[{section}]`", "", "| key | default | environment | what it does |", "| --- | --- | --- | --- |"]
        for key, default in keys.items():
            shown = _toml_value(default).replace("|", "\\|")
            out.append(f"| `{key}` | `{shown}` | `{environment_name(section, key)}` | {HELP[section][key]} |")
        out.append("")
    return "\n".join(out)


def sample_settings_toml() -> str:
    """A canary.toml with every setting commented out at its default, each with its help above it."""
    out = ["# canary.toml: every setting at its default, commented out. `canary init` writes the",
           "# deployment's own values and secrets; uncomment and change what you need, then run",
           "# `canary config check`. Environment variables (CANARY_SECTION_KEY) override this file.", ""]
    for section, keys in DEFAULTS.items():
        out.append(f"[{section}]")
        for key, default in keys.items():
            out += ["# " + line for line in textwrap.wrap(HELP[section][key], 96)]
            value = _WRITTEN_BY_INIT.get((section, key), default)
            out.append(f"# {key} = {_toml_value(value)}")
        out.append("")
    return "\n".join(out)
