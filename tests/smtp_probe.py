"""A line-level SMTP client that sends a scripted conversation and keeps every reply, for comparisons."""
from __future__ import annotations

import re
import socket
import ssl


def _reply(stream) -> list[str]:
    lines = []
    while True:
        try:
            line = stream.readline()
        except ConnectionResetError:
            line = b""
        if not line:
            return lines or ["<closed>"]
        lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))
        if line[3:4] != b"-":
            return lines


def converse(port: int, steps: list, timeout: float = 10) -> list[tuple[str, list[str]]]:
    """Send each step (a command line, or bytes sent as they are) and read one reply to it.

    After a 220 to STARTTLS the conversation goes on over TLS (no certificate check:
    senders do not check an MX's certificate either).
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    stream = sock.makefile("rb")
    transcript = [("<connect>", _reply(stream))]
    try:
        for step in steps:
            data = step if isinstance(step, bytes) else step.encode() + b"\r\n"
            try:
                sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                transcript.append((step if isinstance(step, str) else "<data>", ["<closed>"]))
                break
            replies = _reply(stream)
            transcript.append((step if isinstance(step, str) else "<data>", replies))
            if replies[0] == "<closed>":
                break
            if step == "STARTTLS" and replies[0].startswith("220"):
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                sock = context.wrap_socket(sock)
                stream = sock.makefile("rb")
    finally:
        sock.close()
    return transcript


def normalised(transcript, replacements: dict[str, str]) -> list[tuple[str, list[str]]]:
    """Host names, addresses and queue ids made comparable between two servers."""
    out = []
    for step, replies in transcript:
        lines = []
        for line in replies:
            for old, new in replacements.items():
                line = line.replace(old, new)
            lines.append(re.sub(r"queued as [0-9A-F]{10,11}\b", "queued as QUEUEID", line))
        out.append((step, lines))
    return out
