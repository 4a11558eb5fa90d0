"""mkdocs hook: the CLI and settings references are generated at build time, so they cannot drift.

A page holding the line `<!-- generated: NAME -->` gets it replaced by the generated text.
"""
from __future__ import annotations


def _generated(name: str) -> str:
    if name == "cli-reference":
        from canary.cli import main
        from canary.cli.reference import cli_reference_markdown
        return cli_reference_markdown(main)
    from canary.settings_reference import sample_settings_toml, settings_reference_markdown
    if name == "settings-reference":
        return settings_reference_markdown()
    if name == "sample-canary-toml":
        return "```toml\n" + sample_settings_toml() + "```"
    raise ValueError(f"unknown generated block {name!r}")


def on_page_markdown(markdown, page, config, files):
    lines = []
    for line in markdown.split("\n"):
        if line.startswith("<!-- generated: ") and line.endswith(" -->"):
            lines.append(_generated(line[len("<!-- generated: "):-len(" -->")]))
        else:
            lines.append(line)
    return "\n".join(lines)
