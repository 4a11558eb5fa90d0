"""`canary serve` out of file descriptors (issue 11, defect 4), as a real process under a low limit.

Before, ~1,000 idle SMTP connections used up the process's 1,024 descriptors: every TCP listener
(SMTP, DNS over TCP, HTTP) stopped accepting and asyncio logged a traceback at each retry of
accept() (239,391 of them, 101 MB). Now the caps keep the three listeners within the limit that
`canary serve` raises itself to (the units set LimitNOFILE), and should descriptors run out all
the same (here a hard limit of 128 that it cannot raise), each listener logs a line now and then,
no traceback, and accepts again once connections are gone.
"""
import resource
import smtplib
import socket
import struct
import time

import dns.message
import requests

from canary.deployment import Deployment
from canary.generation.issuing import Issuer

LIMIT = 128


def low_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


def hold_connections(port: int, sources: int, each: int) -> list[socket.socket]:
    held = []
    for n in range(sources):
        for _ in range(each):
            try:
                held.append(socket.create_connection(("127.0.0.1", port), timeout=2,
                                                     source_address=(f"127.6.{n}.1", 0)))
            except OSError:
                break
    return held


def test_out_of_descriptors_the_listeners_log_no_traceback_and_recover(home):
    deployment = Deployment.open(home)
    try:
        issuer = Issuer(deployment.store, deployment.settings)
        dns_token, mail_token, url_token = (issuer.issue_token(kind) for kind in ("dns", "email", "dns"))
    finally:
        deployment.close()
    process, ports = _start_low(home)
    held = []
    try:
        # 8 sources x 20 (the per-source cap) on SMTP and x 32 on HTTP: more than 128 descriptors.
        held += hold_connections(ports["smtp"], 8, 20)
        held += hold_connections(ports["http"], 8, 32)
        probe = socket.create_connection(("127.0.0.1", ports["smtp"]), timeout=2)
        probe.settimeout(1.5)
        try:
            probe.recv(100)      # a greeting, a 421, or nothing (the server out of descriptors)
        except OSError:
            pass
        probe.close()
        for sock in held:
            sock.close()
        held = []
        answered = _answers_again(ports, dns_token["value"], mail_token["value"], url_token["token"])
    finally:
        for sock in held:
            sock.close()
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "out of system resource" in output or "out of file descriptors" in output, output[-3000:]   # it did run out
    assert "Traceback" not in output, output[-3000:]
    assert len(output.splitlines()) < 100, output[-3000:]
    assert answered == {"dns": True, "smtp": True, "http": True}, output[-3000:]


def _start_low(home):
    """start_serve under a hard limit of LIMIT open files (it cannot raise it)."""
    import os
    import pathlib
    import re
    import subprocess
    import sys
    canary = pathlib.Path(sys.executable).parent / "canary"
    process = subprocess.Popen([str(canary), "serve", "--home", str(home), "--dns", "127.0.0.1:0",
                                "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, preexec_fn=low_file_limit,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    ports = {}
    for line in process.stdout:
        found = re.match(r"(dns|smtp|http) listening on 127\.0\.0\.1:(\d+)", line)
        if found:
            ports[found[1]] = int(found[2])
        if line.startswith("ready"):
            return process, ports
    raise AssertionError("canary serve did not start")


def _answers_again(ports, dns_name, address, url_token, within: float = 10) -> dict:
    """Each listener answers a legitimate contact again (tried until `within` seconds)."""
    answered = {"dns": False, "smtp": False, "http": False}
    deadline = time.monotonic() + within
    while not all(answered.values()) and time.monotonic() < deadline:
        if not answered["dns"]:
            try:
                with socket.create_connection(("127.0.0.1", ports["dns"]), timeout=2) as sock:
                    wire = dns.message.make_query(dns_name, "A").to_wire()
                    sock.sendall(struct.pack("!H", len(wire)) + wire)
                    answered["dns"] = len(sock.recv(4096)) > 2
            except OSError:
                pass
        if not answered["smtp"]:
            try:
                with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=2) as client:
                    client.ehlo("client.example.org")
                    client.mail("someone@example.org")
                    answered["smtp"] = client.rcpt(address)[0] == 250
            except (OSError, smtplib.SMTPException):
                pass
        if not answered["http"]:
            try:
                answered["http"] = requests.get(f"http://127.0.0.1:{ports['http']}/{url_token}", timeout=2).ok
            except requests.RequestException:
                pass
        if not all(answered.values()):
            time.sleep(0.2)      # the listeners pause accept() for a moment after running out
    return answered
