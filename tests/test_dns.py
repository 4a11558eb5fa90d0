"""The DNS listener against real dnspython clients over UDP and TCP, contacts checked in the store."""
import socket
import struct

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from canary.generation.issuing import Issuer
from listeners.dns import Authority, answer_packet
from listeners.names import candidates, labels_of
from listeners.dns_server import DnsServer
from recorders import MemoryRecorder


@pytest.fixture
def server(deployment, recorder):
    started = DnsServer(Authority.from_settings(deployment.settings), recorder, "127.0.0.1", 0,
                        rrl_rate=0, tcp_idle_seconds=0.5).start()
    yield started
    started.stop()


@pytest.fixture
def token(deployment):
    return Issuer(deployment.store, deployment.settings).issue_token("dns", note="runbook")


def udp(server, name, rdtype="A", **kwargs):
    return dns.query.udp(dns.message.make_query(name, rdtype, **kwargs), "127.0.0.1", port=server.port, timeout=3)


def tcp(server, name, rdtype="A", **kwargs):
    return dns.query.tcp(dns.message.make_query(name, rdtype, **kwargs), "127.0.0.1", port=server.port, timeout=3)


def mixed_case(name):
    return "".join(c.upper() if i % 2 else c for i, c in enumerate(name))


def test_token_name_in_mixed_case_is_answered_and_recorded_over_udp(server, deployment, token):
    name = mixed_case(token["value"])
    answer = udp(server, name, use_edns=False)
    assert answer.rcode() == dns.rcode.NOERROR and answer.flags & dns.flags.AA
    assert answer.question[0].name.to_text() == name + "."     # case preserved (0x20)
    assert [r.address for r in answer.answer[0]] == ["127.0.0.1"]
    assert answer.edns == -1                                      # no OPT without one in the query
    [contact] = deployment.store.contacts(token=token["token"])
    assert contact["channel"] == "dns" and contact["identifier"] == token["value"]
    assert contact["details"]["qname"] == name + "." and contact["details"]["transport"] == "udp"
    assert contact["source"].startswith("127.0.0.1:")


def test_deeper_name_over_tcp_with_edns_and_client_subnet(server, deployment, token):
    subnet = dns.edns.ECSOption("203.0.113.0", 24)
    answer = tcp(server, "www." + token["value"].upper(), "A", use_edns=0, options=[subnet])
    assert answer.rcode() == dns.rcode.NOERROR and answer.edns == 0 and answer.payload == 1232
    [contact] = deployment.store.contacts(token=token["token"])
    assert contact["details"]["transport"] == "tcp"
    assert contact["details"]["client_subnet"] == "203.0.113.0/24"


def test_mx_of_a_mail_token_points_at_the_smtp_listener(server, deployment):
    token = Issuer(deployment.store, deployment.settings).issue_token("email")
    mail_domain = token["value"].split("@")[1]
    answer = udp(server, mail_domain, "MX", use_edns=0)
    assert [(r.preference, r.exchange.to_text()) for r in answer.answer[0]] == [(10, "mx.canary.test.")]
    assert udp(server, "mx.canary.test", "A").answer[0][0].address == "127.0.0.1"
    [contact] = deployment.store.contacts(token=token["token"])
    assert contact["details"]["qtype"] == "MX"


def test_nxdomain_and_nodata_carry_the_soa_and_record_nothing(server, deployment, token):
    missing = udp(server, "nobody.canary.test", "A", use_edns=0)
    assert missing.rcode() == dns.rcode.NXDOMAIN and missing.flags & dns.flags.AA
    assert missing.authority[0].rdtype == dns.rdatatype.SOA
    nodata = udp(server, token["value"], "TXT")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    assert nodata.authority[0].rdtype == dns.rdatatype.SOA
    assert [c["details"]["qtype"] for c in deployment.store.contacts()] == ["TXT"]


def test_apex_soa_and_ns_authoritative(server):
    soa = udp(server, "Canary.Test", "SOA")
    assert soa.flags & dns.flags.AA and soa.answer[0][0].mname.to_text() == "ns1.canary.test."
    ns = tcp(server, "canary.test", "NS")
    assert [r.target.to_text() for r in ns.answer[0]] == ["ns1.canary.test."]


def test_names_outside_the_zones_are_refused_by_label(server, deployment):
    for name in ("evilcanary.test", "example.com", "test"):
        answer = udp(server, name, "A")
        assert answer.rcode() == dns.rcode.REFUSED and not answer.answer
        assert not answer.flags & dns.flags.AA
    assert deployment.store.contacts() == []


def test_edns_version_other_than_zero_gets_badvers(server):
    answer = udp(server, "canary.test", "SOA", use_edns=1)
    assert answer.rcode() == dns.rcode.BADVERS and answer.edns == 0


def test_big_answer_sets_tc_over_udp_and_comes_whole_over_tcp(deployment, recorder, token):
    many = Authority(zones=["canary.test"], addresses=[f"192.0.2.{n}" for n in range(1, 60)])
    server = DnsServer(many, recorder, "127.0.0.1", 0, rrl_rate=0).start()
    try:
        short = udp(server, token["value"], "A", use_edns=False)
        assert short.flags & dns.flags.TC and not short.answer
        whole = tcp(server, token["value"], "A")
        assert len(whole.answer[0]) == 59 and not whole.flags & dns.flags.TC
        assert len(udp(server, token["value"], "A", use_edns=0, payload=4096).answer[0]) == 59
    finally:
        server.stop()
    assert len(deployment.store.contacts()) == 3


def test_tcp_connection_serves_several_queries_then_closes_when_idle(server, deployment, token):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        for name in (token["value"], "nobody.canary.test", token["value"].upper()):
            wire = dns.message.make_query(name, "A").to_wire()
            conn.sendall(struct.pack("!H", len(wire)) + wire)
        replies = [dns.query.receive_tcp(conn)[0] for _ in range(3)]
        assert [r.rcode() for r in replies] == [dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.NOERROR]
        assert conn.recv(1) == b""                     # closed after tcp_idle_seconds
    assert len(deployment.store.contacts()) == 2


def test_other_opcodes_are_notimp_and_responses_are_dropped(server):
    query = dns.message.make_query("canary.test", "SOA")
    query.set_opcode(dns.opcode.UPDATE)
    query.flags |= dns.flags.RD
    reply = udp_raw(server, query.to_wire())
    assert reply[3] & 0xF == dns.rcode.NOTIMP and not reply[2] & 0x01     # RD not copied (genreport)
    query.set_opcode(dns.opcode.NOTIFY)
    assert udp_raw(server, query.to_wire())[3] & 0xF == dns.rcode.REFUSED  # as NSD: no primary of ours
    response = dns.message.make_response(dns.message.make_query("canary.test", "SOA"))
    assert udp_raw(server, response.to_wire(), expect_reply=False) is None


def udp_raw(server, wire, expect_reply=True):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3 if expect_reply else 0.3)
        sock.sendto(wire, ("127.0.0.1", server.port))
        try:
            return sock.recv(65535)
        except TimeoutError:
            if expect_reply:
                raise
            return None


def test_unknown_names_are_counted_not_stored(server, deployment, recorder):
    for n in range(5):
        udp(server, f"random{n}.canary.test")
    recorder.stop()
    recorder.start()
    assert deployment.store.contacts() == []
    assert {(r["channel"], r["kind"]): r["count"] for r in deployment.store.unknown_counts()} == \
        {("dns", "nxdomain"): 5}


def test_rate_limit_slips_answers_but_records_every_query(deployment, recorder, token):
    server = DnsServer(Authority.from_settings(deployment.settings), recorder, "127.0.0.1", 0,
                       rrl_rate=2, rrl_slip=2).start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.5)
            for n in range(10):
                sock.sendto(dns.message.make_query(token["value"], "A").to_wire(), ("127.0.0.1", server.port))
            replies = []
            try:
                while True:
                    replies.append(dns.message.from_wire(sock.recv(4096)))
            except TimeoutError:
                pass
    finally:
        server.stop()
    recorder.stop()
    recorder.start()
    full = [r for r in replies if r.answer]
    slipped = [r for r in replies if r.flags & dns.flags.TC]
    assert len(full) == 2 and 3 <= len(slipped) <= 5 and len(replies) < 10
    assert len(deployment.store.contacts()) == 10


def test_candidates_compare_labels_at_any_depth():
    zone = labels_of("canary.test")
    assert candidates(labels_of("a.B.canary.test"), zone) == ["a.b.canary.test", "b.canary.test", "a.canary.test"]
    assert candidates((b"x\x00y",) + zone, zone) == []


def test_pure_answer_with_a_memory_recorder():
    known = MemoryRecorder([{"identifier_id": 1, "value": "abc.canary.test", "canary_id": 7}])
    authority = Authority(zones=["canary.test"])
    outcome = answer_packet(dns.message.make_query("x.ABC.canary.test", "AAAA").to_wire(), ("192.0.2.1", 53),
                            "udp", authority, known.resolve)
    assert outcome.contact["canary_id"] == 7 and outcome.rcode == 0
    assert dns.message.from_wire(outcome.reply).authority[0].rdtype == dns.rdatatype.SOA  # NODATA: no AAAA


class HeldRecorder(MemoryRecorder):
    """A recorder whose commits wait until the test releases them."""

    def __init__(self, known):
        super().__init__(known)
        self.held = []

    def notify(self, contact, loop, callback):
        self.record(contact)
        self.held.append((loop, callback))

    def release(self):
        for loop, callback in self.held:
            loop.call_soon_threadsafe(callback, None)


def test_a_rate_limited_slip_waits_for_the_contact_to_be_stored_like_a_full_answer():
    recorder = HeldRecorder([{"identifier_id": 1, "value": "abc.canary.test", "token_id": 1}])
    server = DnsServer(Authority(zones=["canary.test"]), recorder, "127.0.0.1", 0, rrl_rate=1, rrl_slip=1).start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.3)
            for _ in range(3):
                sock.sendto(dns.message.make_query("abc.canary.test", "A").to_wire(), ("127.0.0.1", server.port))
            with pytest.raises(TimeoutError):   # nothing is on disk yet: not even a TC goes out
                sock.recv(4096)
            assert len(recorder.contacts) == 3
            recorder.release()
            sock.settimeout(3)
            replies = [dns.message.from_wire(sock.recv(4096)) for _ in range(3)]
    finally:
        server.stop()
    assert sorted(bool(r.flags & dns.flags.TC) for r in replies) == [False, True, True]


def test_notimp_and_formerr_echo_the_querys_opt(server):
    """RFC 6891 7: a request with an OPT gets an OPT back, whatever the rcode (dig otherwise says 'retry with +noedns')."""
    for use_edns in (0, False):
        status = dns.message.make_query("canary.test", "SOA", use_edns=use_edns)
        status.set_opcode(dns.opcode.STATUS)
        notimp = dns.message.from_wire(udp_raw(server, status.to_wire()))
        two = dns.message.make_query("canary.test", "SOA", use_edns=use_edns)
        two.question.append(two.question[0])
        formerr = dns.message.from_wire(udp_raw(server, two.to_wire()))
        assert (notimp.rcode(), formerr.rcode()) == (dns.rcode.NOTIMP, dns.rcode.FORMERR)
        assert notimp.edns == formerr.edns == (0 if use_edns is not False else -1)


def test_tcp_connections_beyond_the_bound_are_closed_at_once(deployment, recorder, token):
    server = DnsServer(Authority.from_settings(deployment.settings), recorder, "127.0.0.1", 0, rrl_rate=0,
                       tcp_idle_seconds=30, max_tcp_connections=2).start()
    try:
        held = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(2)]
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as third:
            assert third.recv(1) == b""
        assert dns.query.tcp(dns.message.make_query(token["value"], "A"), "127.0.0.1", port=server.port,
                             timeout=5, sock=held[0]).answer
        for conn in held:
            conn.close()
    finally:
        server.stop()
