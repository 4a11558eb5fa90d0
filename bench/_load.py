"""Load generators the benches run in a separate process, so client and server do not share a GIL."""
from __future__ import annotations

import multiprocessing
import smtplib
import socket
import struct
import time


def _query(name: str, ident: int) -> bytes:
    wire = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + wire + struct.pack("!HH", 1, 1)


def udp_load(port: int, names: list[str], seconds: float, window: int, result) -> None:
    """Keep `window` queries in flight for `seconds` (or until `names` run out); count the answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    sock.settimeout(1.0)
    sent = answered = 0
    start = time.perf_counter()
    deadline = start + seconds
    outstanding = 0
    while sent < len(names) and outstanding < window:
        sock.sendto(_query(names[sent], sent & 0xFFFF), ("127.0.0.1", port))
        sent += 1
        outstanding += 1
    while outstanding:
        try:
            sock.recv(4096)
            answered += 1
            outstanding -= 1
        except TimeoutError:
            outstanding = 0  # the rest are lost; refill the window
        if sent < len(names) and time.perf_counter() < deadline:
            while outstanding < window and sent < len(names):
                sock.sendto(_query(names[sent], sent & 0xFFFF), ("127.0.0.1", port))
                sent += 1
                outstanding += 1
    elapsed = time.perf_counter() - start
    result.put({"sent": sent, "answered": answered, "seconds": elapsed})


def smtp_load(port: int, recipient: str, seconds: float, result) -> None:
    """Send small messages for `seconds`, 200 per connection (as a bulk sender would)."""
    sent = 0
    start = time.perf_counter()
    try:
        while time.perf_counter() - start < seconds:
            client = smtplib.SMTP("127.0.0.1", port, timeout=10)
            client.ehlo("bench.example.org")
            for _ in range(200):
                client.sendmail("bench@example.org", [recipient], b"Subject: bench\r\n\r\nhello %d\r\n" % sent)
                sent += 1
                if time.perf_counter() - start >= seconds:
                    break
            client.quit()
    except Exception as error:
        result.put({"error": repr(error), "sent": sent, "seconds": time.perf_counter() - start})
        return
    result.put({"sent": sent, "seconds": time.perf_counter() - start})


def in_processes(target, args_list: list[tuple]) -> list[dict]:
    """Run `target(*args, result_queue)` in one process per args tuple and collect their results."""
    context = multiprocessing.get_context("fork")
    result = context.Queue()
    processes = [context.Process(target=target, args=(*args, result)) for args in args_list]
    for process in processes:
        process.start()
    results = [result.get(timeout=120) for _ in processes]
    for process in processes:
        process.join()
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise RuntimeError(f"load generator failed: {errors[0]}")
    return results
