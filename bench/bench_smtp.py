"""SMTP messages per second: ours (RCPT and DATA each recorded durably) beside a bare aiosmtpd server.

Bounded: CONNECTIONS client processes send small messages for SECONDS each, on 127.0.0.1.
Run: .venv/bin/python bench/bench_smtp.py
"""
from __future__ import annotations

import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from aiosmtpd.controller import Controller  # noqa: E402

from _load import in_processes, smtp_load  # noqa: E402
from canary.deployment import init_deployment  # noqa: E402
from canary.generation.issuing import Issuer  # noqa: E402
from listeners.recorder import Recorder  # noqa: E402
from listeners.smtp import SmtpServer  # noqa: E402

SECONDS = 3.0
CONNECTIONS = 4


class BareHandler:
    """The baseline: aiosmtpd accepting every recipient and message, storing nothing."""

    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def measure(port: int, recipient: str) -> tuple[float, int]:
    results = in_processes(smtp_load, [(port, recipient, SECONDS)] * CONNECTIONS)
    sent = sum(r["sent"] for r in results)
    return sent / max(r["seconds"] for r in results), sent


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        deployment = init_deployment(pathlib.Path(home) / "bench", ["canary.test"])
        address = Issuer(deployment.store, deployment.settings).issue_token("email")["value"]

        bare = Controller(BareHandler(), hostname="127.0.0.1", port=0)
        bare.port = _free_port()
        bare.start()
        bare_rate, _ = measure(bare.port, address)
        bare.stop()

        recorder = Recorder(deployment.store).start()
        ours = SmtpServer(recorder, "127.0.0.1", 0, hostname="mx.canary.test").start()
        our_rate, sent = measure(ours.port, address)
        ours.stop()
        recorder.stop()
        stored = len(deployment.store.contacts())
        deployment.close()

    print(f"bare aiosmtpd              {bare_rate:8.0f} messages/s")
    print(f"canary (RCPT + DATA kept)  {our_rate:8.0f} messages/s  ratio {our_rate / bare_rate:.2f}  "
          f"({sent} messages, {stored} contacts stored, {2 * sent} expected)")
    if stored != 2 * sent:
        sys.exit("FAIL: accepted messages missing from the store")


def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    main()
