"""How fast the DNS listener reads and sheds a UDP flood beyond what it can answer (issue 11).

Two sender processes blast queries for names under a DNS token from one /24 (127.2.0.0/24) as
fast as they can for a few seconds at a real `canary serve`: beyond `dns.udp_queries_per_network`
(100 a second) the listener reads each datagram and drops it (counted as shed); what it cannot
read the kernel drops (its receive queue full). Read rate = sent - kernel drops (the socket's
counter in /proc/net/udp). Baseline, same run: a Python process doing nothing but recvfrom() on a
socket with the same receive queue, the ceiling of any Python reader. A listener reading slower
than a flood comes lets the queue fill and everybody's queries wait or drop.

    .venv/bin/python bench/dns_shed.py [--seconds 5]
"""
from __future__ import annotations

import argparse
import multiprocessing
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

from _load import _query, dns_only_serve

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BARE_READER = """
import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(sys.argv[1]))
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
while True:
    sock.recvfrom(4096)
"""


def kernel_drops(port: int) -> int:
    with open("/proc/net/udp") as table:
        for line in list(table)[1:]:
            fields = line.split()
            if fields[1] == f"0100007F:{port:04X}":
                return int(fields[-1])
    raise RuntimeError(f"no UDP socket on port {port}")


def blast(port: int, suffix: str, seconds: float, source: str, result) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((source, 0))
    sock.setblocking(False)
    packets = [_query(f"x{n}.{suffix}", n) for n in range(1000)]
    sent, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            sock.sendto(packets[sent % 1000], ("127.0.0.1", port))
            sent += 1
        except BlockingIOError:
            pass
        if sent % 64 == 0:
            time.sleep(0.0005)   # leave the receiver a core now and then: a flood, not a livelock
    result.put(sent)


def read_rate(port: int, suffix: str, seconds: float) -> tuple[float, float]:
    """(datagrams read a second, datagrams sent a second) under two senders for `seconds`."""
    results = multiprocessing.Queue()
    before = kernel_drops(port)
    senders = [multiprocessing.Process(target=blast, args=(port, suffix, seconds, f"127.2.0.{n + 2}", results))
               for n in range(2)]
    for sender in senders:
        sender.start()
    sent = sum(results.get(timeout=seconds + 60) for _ in senders)
    for sender in senders:
        sender.join()
    time.sleep(0.5)      # what is still queued gets read
    dropped = kernel_drops(port) - before
    return (sent - dropped) / seconds, sent / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    from canary.deployment import init_deployment
    from canary.generation.issuing import Issuer
    with tempfile.TemporaryDirectory() as folder:
        home = pathlib.Path(folder) / "deployment"
        made = init_deployment(home, ["canary.test"])
        token = Issuer(made.store, made.settings).issue_token("dns")["value"]
        queue_bytes = int(made.settings["dns"]["udp_receive_buffer_bytes"])
        made.close()
        with dns_only_serve(str(pathlib.Path(sys.executable).with_name("canary")), str(home)) as port:
            listener, listener_sent = read_rate(port, token, args.seconds)
    bare = subprocess.Popen([sys.executable, "-c", BARE_READER, str(queue_bytes)], stdout=subprocess.PIPE, text=True)
    try:
        baseline, baseline_sent = read_rate(int(bare.stdout.readline()), token, args.seconds)
    finally:
        bare.kill()
        bare.wait()
    print(f"canary serve (DNS): read and shed {listener:9,.0f} datagrams/s of {listener_sent:9,.0f} sent/s")
    print(f"bare recvfrom loop: read          {baseline:9,.0f} datagrams/s of {baseline_sent:9,.0f} sent/s")
    print(f"listener / bare reader: {listener / baseline:.2f}x; bench/hostile.py's flood: 1,667 names/s "
          f"({listener / 1667:.0f}x headroom on this machine now)")


if __name__ == "__main__":
    main()
