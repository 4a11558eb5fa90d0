"""Alert workers on several hosts: one leader sends; a leader killed mid-delivery hands over at once,
and every alert is acknowledged by the receiver exactly once."""
import http.server
import json
import os
import pathlib
import subprocess
import sys
import threading

import pytest
from test_alerts import lab, touch  # noqa: F401 - the fixture

from canary.deployment import Deployment


class HangingReceiver:
    """A webhook receiver whose first request hangs (the sender is mid-delivery) until released."""

    def __init__(self):
        self.acknowledged: list[dict] = []     # bodies answered 200 (what a sender saw delivered)
        self.first_arrived, self.release = threading.Event(), threading.Event()
        self.requests = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.requests += 1
                if receiver.requests == 1:
                    receiver.first_arrived.set()
                    receiver.release.wait(30)
                    return  # its sender is dead by now: no answer, the connection just closes
                self.send_response(200)
                self.end_headers()
                receiver.acknowledged.append(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def alert_worker(home, url):
    canary = pathlib.Path(sys.executable).parent / "canary"
    return subprocess.Popen([str(canary), "alerts", "run", "--home", str(home)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            env={**os.environ, "CANARY_ALERTS_WEBHOOK_URL": url, "CANARY_ALERTS_POLL_SECONDS": "0.1",
                                 "CANARY_ALERTS_TIMEOUT_SECONDS": "30", "CANARY_ALERTS_THROTTLE_SECONDS": "0"})


def test_a_leader_killed_mid_delivery_neither_loses_nor_repeats_an_alert(home, deployment, lab):  # noqa: F811
    receiver = HangingReceiver()
    first = touch(deployment.store, lab[0])
    leader = alert_worker(home, receiver.url)
    follower = None
    try:
        assert receiver.first_arrived.wait(60), "the first worker never sent"
        follower = alert_worker(home, receiver.url)      # not the leader: the first one holds the lock
        second = touch(deployment.store, lab[1])
        leader.kill()                                     # SIGKILL mid-delivery
        leader.wait(10)
        receiver.release.set()
        deadline = threading.Event()
        for _ in range(600):
            if len(receiver.acknowledged) >= 2:
                break
            deadline.wait(0.1)
        deadline.wait(1.0)                                # anything sent twice would arrive by now
    finally:
        for process in (leader, follower):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(20)
        receiver.close()
    assert sorted(body["contact_id"] for body in receiver.acknowledged) == [first, second]
    reopened = Deployment.open(home)
    try:
        deliveries = reopened.store.alert_deliveries()
        assert sorted(d["contact_id"] for d in deliveries) == [first, second]  # each queued once
        assert {d["state"] for d in deliveries} == {"sent"}
    finally:
        reopened.close()


@pytest.mark.parametrize("holders", [2])
def test_only_one_store_leads_the_alerts(home, holders):
    stores = [Deployment.open(home) for _ in range(holders)]
    try:
        assert [d.store.try_alert_leadership() for d in stores] == [True, False]
        assert stores[0].store.try_alert_leadership()          # the leader keeps it
        stores[0].close()
        assert stores[1].store.try_alert_leadership()          # and it passes on when the leader goes
    finally:
        for opened in stores[1:]:
            opened.close()
