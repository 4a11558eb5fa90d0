"""Load generators the benches run in a separate process, so client and server do not share a GIL."""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import smtplib
import socket
import struct
import subprocess
import threading
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


def in_processes(target, args_list: list[tuple], timeout: float = 120) -> list[dict]:
    """Run `target(*args, result_queue)` in one process per args tuple and collect their results."""
    context = multiprocessing.get_context("fork")
    result = context.Queue()
    processes = [context.Process(target=target, args=(*args, result)) for args in args_list]
    for process in processes:
        process.start()
    results = [result.get(timeout=timeout) for _ in processes]
    for process in processes:
        process.join()
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise RuntimeError(f"load generator failed: {errors[0]}")
    return results


def rcpt_timing_load(port: int, plan: list[list[tuple[str, str]]], concurrency: int, result) -> None:
    """Time RCPT answers: each session of `plan` is [(kind, address), ...] on one connection.

    Sessions run `concurrency` at a time (asyncio), kinds interleaved at random by the
    caller, so whatever load there is falls on both kinds alike. Returns {kind: [seconds]}.
    """
    import asyncio

    async def reply(reader) -> bytes:
        while True:
            line = await reader.readline()
            if not line or line[3:4] != b"-":
                return line

    async def session(steps, times, gate):
        async with gate:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            await reply(reader)
            for command in (b"EHLO bench.example.org\r\n", b"MAIL FROM:<bench@example.org>\r\n"):
                writer.write(command)
                await reply(reader)
            for kind, address in steps:
                writer.write(b"RCPT TO:<%s>\r\n" % address.encode())
                start = time.perf_counter()
                line = await reply(reader)
                times.setdefault(kind, []).append(time.perf_counter() - start)
                times.setdefault(kind + " codes", []).append(int(line[:3] or 0))
            writer.write(b"QUIT\r\n")
            await reply(reader)
            writer.close()

    async def run():
        times: dict[str, list] = {}
        gate = asyncio.Semaphore(concurrency)
        await asyncio.gather(*(session(steps, times, gate) for steps in plan))
        return times

    try:
        result.put(asyncio.run(run()))
    except Exception as error:
        result.put({"error": repr(error)})


@contextlib.contextmanager
def dns_only_serve(canary: str, home: str, **environment: str):
    """A real `canary serve` of `home` answering DNS only on a free 127.0.0.1 port: yields the port once it
    says it is ready, its output drained by a thread (a full pipe would stall its contact writer)."""
    serve = subprocess.Popen([canary, "serve", "--home", home, "--dns", "127.0.0.1:0", "--smtp", "off",
                              "--http", "off"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env={**os.environ, "PYTHONUNBUFFERED": "1", **environment})
    try:
        port = None
        for line in serve.stdout:
            found = re.match(r"dns listening on 127\.0\.0\.1:(\d+)", line)
            port = int(found[1]) if found else port
            if line.startswith("ready"):
                break
        if port is None:
            raise RuntimeError(f"canary serve exited before answering DNS (exit {serve.wait(30)})")
        threading.Thread(target=lambda: [None for _ in serve.stdout], daemon=True).start()
        yield port
    finally:
        serve.terminate()
        serve.wait(30)
