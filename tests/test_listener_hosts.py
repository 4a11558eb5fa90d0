"""Several `canary serve` processes, one store: every acknowledged contact stored once, one chain,
tallies merged, a SIGKILLed host loses nothing it acknowledged, and `canary hosts` tells who is alive."""
import json
import smtplib
import socket
import threading

import dns.message
import pytest
from storemode import ON_POSTGRES
from test_runner import drain, start_serve, tokens  # noqa: F401 - the fixture

from canary.deployment import Deployment

multi_host = pytest.mark.skipif(not ON_POSTGRES, reason="several listener hosts share a PostgreSQL store "
                                                        "(CANARY_TEST_STORE=postgresql; CI runs it)")


def dns_load(port: int, prefix: str, zone_name: str, windows: int, acknowledged: list, stop=None) -> None:
    """Windows of 25 queries in flight; every answered name goes into `acknowledged`."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        for window in range(windows):
            if stop is not None and stop.is_set():
                return
            names = [f"{prefix}w{window}n{n}.{zone_name}" for n in range(25)]
            for name in names:
                sock.sendto(dns.message.make_query(name, "A").to_wire(), ("127.0.0.1", port))
            for _ in names:
                try:
                    answer = dns.message.from_wire(sock.recv(4096))
                except (TimeoutError, OSError):
                    return  # the host died: what it acknowledged so far is what counts
                acknowledged.append(answer.question[0].name.to_text().rstrip(".").lower())


def smtp_load(port: int, address: str, count: int, acknowledged: list) -> None:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            client.ehlo("load.example.org")
            for n in range(count):
                client.mail(f"sender{n}@example.org")
                if client.rcpt(address)[0] == 250:
                    acknowledged.append(n)
                client.rset()
    except (OSError, smtplib.SMTPException):
        return


def hosts_named(home) -> dict:
    deployment = Deployment.open(home)
    try:
        from canary.hosts import listener_hosts
        return {row["name"]: row for row in listener_hosts(deployment.store, 1.0)}
    finally:
        deployment.close()


@multi_host
def test_two_listener_hosts_one_store_under_load_and_a_sigkill(home, tokens):  # noqa: F811
    zone_name = tokens["dns"]["value"]
    # Durability under load is under test, not the storage budget: every contact is stored whole.
    unbudgeted = {"CANARY_BUDGET_CONTACTS_PER_IDENTIFIER": "1000000", "CANARY_BUDGET_CONTACTS_PER_SOURCE": "1000000",
                  "CANARY_BUDGET_CONTACTS_PER_PERIOD": "1000000", "CANARY_DNS_UDP_QUERIES_PER_NETWORK": "1000000"}
    alpha, alpha_ports = start_serve(home, CANARY_DNS_RRL_RATE="0", CANARY_STORE_HOST="alpha",
                                     CANARY_STORE_HEARTBEAT_SECONDS="1", **unbudgeted)
    beta, beta_ports = start_serve(home, CANARY_DNS_RRL_RATE="0", CANARY_STORE_HOST="beta",
                                   CANARY_STORE_HEARTBEAT_SECONDS="1", **unbudgeted)
    readers = [drain(alpha), drain(beta)]
    acked = {"alpha-dns": [], "beta-dns": [], "alpha-smtp": [], "beta-smtp": [], "beta-after": []}
    try:
        assert {"alpha", "beta"} <= {name for name, row in hosts_named(home).items() if row["state"] == "alive"}
        loads = [threading.Thread(target=dns_load, args=(alpha_ports["dns"], "a", zone_name, 8, acked["alpha-dns"])),
                 threading.Thread(target=dns_load, args=(beta_ports["dns"], "b", zone_name, 8, acked["beta-dns"])),
                 threading.Thread(target=smtp_load, args=(alpha_ports["smtp"], tokens["email"]["value"], 20,
                                                          acked["alpha-smtp"])),
                 threading.Thread(target=smtp_load, args=(beta_ports["smtp"], tokens["email"]["value"], 20,
                                                          acked["beta-smtp"]))]
        for load in loads:
            load.start()
        # Unknown names on both hosts: tallies, merged in the store.
        for port in (alpha_ports["dns"], beta_ports["dns"]):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(5)
                for n in range(5):
                    sock.sendto(dns.message.make_query(f"nobody{n}.example.org", "A").to_wire(), ("127.0.0.1", port))
                    sock.recv(4096)
        for load in loads:
            load.join(60)
        # SIGKILL alpha while both are under load: beta keeps answering, alpha's acknowledged contacts stay.
        killer_load = threading.Thread(target=dns_load, args=(alpha_ports["dns"], "k", zone_name, 40,
                                                              acked["alpha-dns"]))
        killer_load.start()
        while len([n for n in acked["alpha-dns"] if n.startswith("k")]) < 50:
            killer_load.join(0.01)
            assert killer_load.is_alive(), "alpha stopped answering before the kill"
        alpha.kill()
        alpha.wait(10)
        killer_load.join(30)
        dns_load(beta_ports["dns"], "z", zone_name, 4, acked["beta-after"])
        assert len(acked["beta-after"]) == 100
    finally:
        for process in (alpha, beta):
            if process.poll() is None:
                process.terminate()
            process.wait(20)
        for reader in readers:
            reader.join(10)
    assert beta.returncode == 0

    deployment = Deployment.open(home)
    try:
        contacts = deployment.store.contacts()
        dns_contacts = [c for c in contacts if c["channel"] == "dns"]
        names = [c["details"]["qname"].rstrip(".").lower() for c in dns_contacts]
        for host, key in (("alpha", "alpha-dns"), ("beta", "beta-dns"), ("beta", "beta-after")):
            assert set(acked[key]) <= {n for n, c in zip(names, dns_contacts) if c["host"] == host}
        assert len(names) == len(set(names))                       # none stored twice
        smtp = [c for c in contacts if c["channel"] == "smtp"]
        assert len(smtp) >= len(acked["alpha-smtp"]) + len(acked["beta-smtp"]) >= 40
        assert {c["host"] for c in contacts} == {"alpha", "beta"}
        assert deployment.store.verify_evidence().ok               # one chain, whatever the interleaving
        assert deployment.store.audit_tables() == []
        tallies = {(r["channel"], r["kind"]): r["count"] for r in deployment.store.unknown_counts()}
        assert sum(count for (channel, _), count in tallies.items() if channel == "dns") >= 5  # beta's, flushed on stop
    finally:
        deployment.close()
    hosts = hosts_named(home)
    assert hosts["beta"]["state"] == "stopped" and hosts["beta"]["last_write"]
    assert hosts["alpha"]["state"] in ("alive", "silent") and hosts["alpha"]["stopped_at"] is None


def test_hosts_lists_a_serving_host_then_its_clean_stop(home, invoke, tokens):  # noqa: F811
    process, ports = start_serve(home, CANARY_STORE_HOST="ns1.example.org")
    try:
        dns_load(ports["dns"], "h", tokens["dns"]["value"], 1, [])
        [row] = json.loads(invoke("hosts", "--json").output)
        assert row["name"] == "ns1.example.org" and row["state"] == "alive" and row["pid"] == process.pid
        assert row["listeners"].startswith("dns 127.0.0.1:")
    finally:
        process.terminate()
        process.communicate(timeout=20)
    [row] = json.loads(invoke("hosts", "--json").output)
    assert row["state"] == "stopped" and row["last_write"] is not None
    contacts = Deployment.open(home)
    try:
        assert {c["host"] for c in contacts.store.contacts()} == {"ns1.example.org"}
    finally:
        contacts.close()
    assert "ns1.example.org" in invoke("hosts").output
