"""Output nobody reads never stops the listeners (issue 11, found by bench/hostile.py).

`canary serve` prints one line per contact. These lines were printed by the contact writer
itself: once the pipe to a reader that had stopped reading was full, print() blocked the
writer, no contact could be stored, and no DNS, SMTP or HTTP answer went out (every one of
them waits for its contact to be on disk): 45 s of silence in the hostile bench.
"""
import fcntl
import socket
import time

import dns.message
from test_runner import start_serve

from canary.deployment import Deployment
from canary.generation.issuing import Issuer

QUERIES = 150          # about 20 KB of contact lines: five times what the pipe below holds


def test_contacts_are_stored_and_answered_while_nobody_reads_the_output(home):
    deployment = Deployment.open(home)
    try:
        zone = Issuer(deployment.store, deployment.settings).issue_token("dns")["value"]
    finally:
        deployment.close()
    serve, ports = start_serve(home, CANARY_DNS_RRL_RATE="0", CANARY_DNS_UDP_QUERIES_PER_NETWORK="0",
                               CANARY_BUDGET_CONTACTS_PER_IDENTIFIER="1000")
    # The smallest pipe Linux makes (one page), never read from here on: a reader that stopped reading.
    fcntl.fcntl(serve.stdout.fileno(), fcntl.F_SETPIPE_SZ, 4096)
    slow, unanswered = [], 0
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(3)
            for n in range(QUERIES):
                asked = time.monotonic()
                sock.sendto(dns.message.make_query(f"q{n}.{zone}", "A").to_wire(), ("127.0.0.1", ports["dns"]))
                try:
                    sock.recv(4096)
                except TimeoutError:
                    unanswered += 1
                    if unanswered == 3:
                        break
                    continue
                if time.monotonic() - asked > 1:
                    slow.append(round(time.monotonic() - asked, 2))
    finally:
        serve.terminate()
        output = serve.communicate(timeout=30)[0]
    assert unanswered == 0 and not slow, f"{unanswered} queries unanswered, slow answers (s): {slow}"
    deployment = Deployment.open(home)
    try:
        assert len(deployment.store.contacts(channel="dns")) == QUERIES
    finally:
        deployment.close()
    # Read at last, the output holds the lines that were waiting (all of them here: fewer than 10,000).
    assert sum(f": A q{n}.{zone}. udp" in output for n in range(QUERIES)) == QUERIES
