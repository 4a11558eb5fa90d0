"""The CLI reference, generated from the click commands themselves (docs/reference/cli.md)."""
from __future__ import annotations

import click


def walk(command: click.Command, path: tuple[str, ...] = ("canary",)):
    """(path, command) for the root and every subcommand, depth first, in name order."""
    yield path, command
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from walk(command.commands[name], path + (name,))


def cli_reference_markdown(root: click.Command) -> str:
    """Every command's --help, as the terminal prints it, under a heading of its own."""
    out = []
    for path, command in walk(root):
        context = click.Context(command, info_name=" ".join(path))
        level = "#" * min(len(path) + 1, 4)
        out += [f"{level} `{' '.join(path)}`", "", "```text", command.get_help(context), "```", ""]
    return "\n".join(out)
