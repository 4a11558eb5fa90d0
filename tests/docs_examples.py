"""Running the docs' console examples (the convention is in docs/README-docs.md).

A ```console block is a session: `$ ` lines are commands (a trailing backslash continues a
command), the lines after one are its expected output. Every page runs in a fresh sandbox:
`/tmp/` in commands is the sandbox's own tmp directory, the listener ports 5353, 2525, 8080
and 8000 are free ports, and `canary` is the one of this virtual environment.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import shlex
import socket
import subprocess
import sys

PORTS = (5353, 2525, 8080, 8000)
TIMEOUT = 180


@dataclasses.dataclass
class Command:
    line: int           # of the page, 1-based
    text: str
    expected: list[str]
    exit_status: int = 0


def console_commands(markdown: str) -> list[Command]:
    commands: list[Command] = []
    inside = False
    continuing = False
    for number, line in enumerate(markdown.split("\n"), 1):
        if line.startswith("```"):
            inside = line.strip() == "```console"
            continuing = False
            continue
        if not inside:
            continue
        if continuing:
            commands[-1].text += "\n" + line
            continuing = line.endswith("\\")
        elif line.startswith("$ "):
            commands.append(Command(number, line[2:], []))
            continuing = line.endswith("\\")
        elif commands:
            status = re.fullmatch(r"\[exit (\d+)\]", line.strip())
            if status:
                commands[-1].exit_status = int(status.group(1))
            elif line.strip():
                commands[-1].expected.append(line)
    return commands


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _squash(text: str) -> str:
    return " ".join(text.split())


def _matches(expected: str, actual: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in _squash(expected).split("..."))
    return re.fullmatch(pattern, _squash(actual)) is not None


def missing_lines(expected: list[str], output: str) -> list[str]:
    """Expected lines not found in the output, in order (loosely: spaces squashed, `...` matches anything)."""
    actual = output.split("\n")
    position, missing = 0, []
    for line in expected:
        if line.strip() == "...":
            continue
        for index in range(position, len(actual)):
            if _matches(line, actual[index]):
                position = index + 1
                break
        else:
            missing.append(line)
    return missing


class Sandbox:
    """One page's session: exports and the working directory carry from one command to the next."""

    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        self.tmp = folder / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.state = folder / "session.sh"
        self.state.write_text(f"cd {shlex.quote(str(folder))}\n")
        self.ports = {port: _free_port() for port in PORTS}
        bin_dir = str(pathlib.Path(sys.executable).parent)
        self.environ = {key: value for key, value in os.environ.items() if not key.startswith("CANARY_")}
        self.environ.update(PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""), HOME=str(folder),
                            LC_ALL="C.UTF-8", COLUMNS="100", VIRTUAL_ENV=str(pathlib.Path(bin_dir).parent))

    def to_sandbox(self, text: str) -> str:
        text = re.sub(r"(?<![\w./])/tmp/", str(self.tmp) + "/", text)
        for port, free in self.ports.items():
            text = re.sub(rf"(?<=[:\s]){port}\b", str(free), text)
        return text

    def from_sandbox(self, text: str) -> str:
        text = text.replace(str(self.tmp) + "/", "/tmp/")
        for port, free in self.ports.items():
            text = re.sub(rf"\b{free}\b", str(port), text)
        return text

    def run(self, command: Command) -> tuple[int, str]:
        script = (f"source {shlex.quote(str(self.state))}\n{self.to_sandbox(command.text)}\n"
                  f"status=$?\n{{ export -p; echo \"cd $(printf %q \"$PWD\")\"; }} > {shlex.quote(str(self.state))}\n"
                  "exit $status\n")
        done = subprocess.run(["bash", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, env=self.environ, timeout=TIMEOUT)
        return done.returncode, self.from_sandbox(done.stdout.decode("utf-8", "replace"))
