"""`canary config check`: a deployment's settings checked beyond their names and types."""
from __future__ import annotations

import pathlib

from .alerts.channels import channels_from_settings
from .settings import Settings, SettingsError, parse_listen

LISTENERS = ("dns", "smtp", "http", "dashboard")


def check_settings(settings: Settings) -> tuple[list[str], list[str]]:
    """(problems, notes): every problem found, and what the deployment is set to do."""
    problems: list[str] = []
    notes: list[str] = []
    if not settings.zones:
        problems.append("[deployment] zones is empty: canaries need at least one DNS zone")
    for name in LISTENERS:
        listen = str(settings[name]["listen"])
        if listen == "off" and name != "dashboard":
            notes.append(f"{name} listener: off")
            continue
        try:
            parse_listen(listen)
            notes.append(f"{name}: {listen}")
        except SettingsError as error:
            problems.append(f"[{name}] listen: {error}")
    pool = settings.phone_pool_path
    if pool is not None and not pool.is_file():
        problems.append(f"[deployment] phone_pool: no such file {pool}")
    for key in ("tls_cert", "tls_key"):
        value = settings["smtp"][key]
        if value and not (settings.home / pathlib.Path(value)).is_file():
            problems.append(f"[smtp] {key}: no such file {settings.home / value}")
    try:
        channels = channels_from_settings(settings)
        notes.append("alerts: " + (", ".join(channels) or "none configured"))
    except (SettingsError, ValueError) as error:
        problems.append(f"[alerts] {error}")
    return problems, notes
