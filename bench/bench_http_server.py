"""Sequential token hits per second: the HTTP listener on waitress (now) vs werkzeug's development
server (before), each a process of its own, in the same run.

The client reads each answer until the server closes (HTTP/1.0, as a tracking-pixel fetcher or
a curl loop does): werkzeug waited ~10 ms after each response before closing. Every hit is a
contact stored durably. Run: .venv/bin/python bench/bench_http_server.py [--quick]
"""
from __future__ import annotations

import argparse
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = """
import sys, threading
from canary.deployment import Deployment
from listeners.http import HttpServer, create_app
from listeners.recorder import Recorder
kind, home = sys.argv[1], sys.argv[2]
deployment = Deployment.open(home)
recorder = Recorder(deployment.store).start()
if kind == "waitress":
    server = HttpServer(deployment.settings, recorder, "127.0.0.1", 0).start()
    port = server.port
else:
    import logging
    from werkzeug.serving import make_server
    logging.getLogger("werkzeug").setLevel(logging.WARNING)   # as the old runner did
    server = make_server("127.0.0.1", 0, create_app(deployment.settings, recorder), threaded=True)
    port = server.server_port
    threading.Thread(target=server.serve_forever, daemon=True).start()
print(port, flush=True)
sys.stdin.read()
"""


def hits_per_second(port: int, path: str, count: int) -> float:
    request = f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode()
    started = time.perf_counter()
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(request)
            answer = b""
            while chunk := sock.recv(65536):   # until the server closes
                answer += chunk
            assert answer.startswith(b"HTTP/1.") and b" 200 " in answer.split(b"\r\n", 1)[0], answer[:80]
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 hits per server instead of 2,000")
    count = 200 if parser.parse_args().quick else 2000
    from canary.deployment import init_deployment
    from canary.generation.issuing import Issuer
    with tempfile.TemporaryDirectory() as folder:
        home = pathlib.Path(folder) / "deployment"
        made = init_deployment(home, ["canary.test"])
        token = Issuer(made.store, made.settings).issue_token("dns")["token"]
        made.close()
        rates = {}
        for kind in ("werkzeug", "waitress"):
            process = subprocess.Popen([sys.executable, "-c", SERVER, kind, str(home)], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True, cwd=ROOT)
            try:
                port = int(process.stdout.readline())
                hits_per_second(port, f"/{token}", 20)   # warm up
                rates[kind] = hits_per_second(port, f"/{token}", count)
            finally:
                process.stdin.close()
                process.wait(10)
    for kind, rate in rates.items():
        print(f"{kind:9s} {rate:8.1f} token hits/s (sequential, read until close, {count} hits, stored durably)")
    print(f"waitress / werkzeug: {rates['waitress'] / rates['werkzeug']:.2f}x")


if __name__ == "__main__":
    main()
