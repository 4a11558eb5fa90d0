"""The DNS listener and Debian's NSD, sent the same queries, give the same answers; genreport all ok.

Flags, rcode and every section (names, types, TTLs, data) and the OPT record are compared
byte for byte after parsing. Differences that remain are listed in docs/listeners.md.
"""
import struct

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import pytest

from canary.generation.issuing import Issuer
from genreport import exchange, genreport
from listeners.dns import Authority
from listeners.dns_server import DnsServer
from reference_servers import private_nsd

ZONE, SERIAL = "canary.test", 2026113000


def described(reply: bytes | None):
    """What a careful client compares: header flags and counts, each section's records, the OPT."""
    if reply is None:
        return None
    flags, counts = struct.unpack("!H", reply[2:4])[0], struct.unpack("!HHHH", reply[4:12])
    message = dns.message.from_wire(reply, one_rr_per_rrset=True)
    sections = [sorted(rrset.to_text() for rrset in section)
                for section in (message.question, message.answer, message.authority, message.additional)]
    opt = (message.edns, message.payload, message.ednsflags, [o.to_text() for o in message.options])
    return flags, counts, sections, opt


def make(qname, qtype="A", *, rdclass="IN", edns=-1, payload=1232, ednsflags=0, options=(), flags=0,
         opcode=0, qid=4242) -> bytes:
    message = dns.message.make_query(qname, qtype, rdclass, use_edns=edns, payload=payload, ednsflags=ednsflags,
                                     options=list(options))
    message.id = qid
    message.flags = flags
    message.set_opcode(opcode)
    return message.to_wire()


def probes(token: str) -> dict[str, tuple[bytes, bool]]:
    """Odd and ordinary queries, each (bytes, over TCP)."""
    header_only = struct.pack("!HHHHHH", 7, 0, 0, 0, 0, 0)
    two_questions = bytearray(make(ZONE, "SOA"))
    two_questions[4:6] = b"\x00\x02"
    two_questions += make(ZONE, "NS")[12:]
    cases = {f"{qtype} apex": make(ZONE, qtype) for qtype in ("SOA", "NS", "MX", "A", "AAAA", "TXT", "DNSKEY",
                                                               "TYPE666", "CAA", "DS")}
    cases.update({f"{qtype} token": make(token, qtype) for qtype in ("A", "AAAA", "MX", "TXT", "SOA", "NS")})
    cases.update({
        "A ns1": make(f"ns1.{ZONE}"), "AAAA ns1": make(f"ns1.{ZONE}", "AAAA"), "A mx": make(f"mx.{ZONE}"),
        "mixed case": make(token.upper()[:3] + token[3:], "A"),
        "nxdomain": make(f"nobody.{ZONE}"), "nxdomain deeper": make(f"a.b.nobody.{ZONE}", "MX"),
        "outside the zone": make("example.com"), "outside, recursion desired": make("example.com", flags=0x100),
        "chaos version.bind": make("version.bind", "TXT", rdclass="CH"),
        "edns 512 do": make(ZONE, "SOA", edns=0, payload=512, ednsflags=dns.flags.DO),
        "edns version 1": make(ZONE, "SOA", edns=1),
        "edns unknown option": make(ZONE, "SOA", edns=0, options=[dns.edns.GenericOption(100, b"")]),
        "edns client subnet": make(token, "A", edns=0, options=[dns.edns.ECSOption("192.0.2.0", 24)]),
        "no question": header_only, "two questions": bytes(two_questions),
        "recursion desired": make(token, "A", flags=0x100), "checking disabled": make(token, "A", flags=0x10),
        "iquery": make(ZONE, "SOA", opcode=1), "status": make(ZONE, "SOA", opcode=2),
        "update": make(ZONE, "SOA", opcode=5), "notify": make(ZONE, "SOA", opcode=4),
        "unassigned opcode": make(ZONE, "SOA", opcode=15), "unassigned opcode, rd": make(ZONE, "SOA", opcode=15,
                                                                                       flags=0x100),
        "ANY apex": make(ZONE, "ANY"), "ANY token": make(token, "ANY"),
        "a response": make(ZONE, "SOA", flags=0x8000), "tc set": make(ZONE, "SOA", flags=0x200),
        "z set": make(ZONE, "SOA", flags=0x40), "aa set": make(ZONE, "SOA", flags=0x400),
        "ad set": make(ZONE, "SOA", flags=0x20), "ra set": make(ZONE, "SOA", flags=0x80),
        "small edns payload": make(ZONE, "NS", edns=0, payload=100),
        "ns over edns": make(ZONE, "NS", edns=0),
    })
    probes = {name: (data, False) for name, data in cases.items()}
    probes["SOA over tcp"] = (make(ZONE, "SOA"), True)
    probes["token over tcp"] = (make(token, "A"), True)
    probes["axfr over tcp"] = (make(ZONE, "AXFR"), True)
    return probes


@pytest.fixture
def servers(tmp_path, deployment, recorder):
    token = Issuer(deployment.store, deployment.settings).issue_token("dns")["value"]
    label = token.split(".")[0]
    authority = Authority(zones=[ZONE], mail_host=f"mx.{ZONE}", mail_domains=[ZONE], serial=SERIAL)
    records = [f"@ IN NS ns1.{ZONE}.", f"@ IN MX 10 mx.{ZONE}.", "ns1 IN A 127.0.0.1", "mx IN A 127.0.0.1",
               f"{label} IN A 127.0.0.1", f"{label} IN MX 10 mx.{ZONE}."]
    ours = DnsServer(authority, recorder, "127.0.0.1", 0, rrl_rate=10_000).start()
    try:
        with private_nsd(tmp_path / "nsd", ZONE, records, SERIAL) as nsd_port:
            yield token, ours.port, nsd_port
    finally:
        ours.stop()


# Where NSD is not what a careful client expects, we follow genreport (see docs/listeners.md).
KNOWN_DIFFERENCES = {
    # NSD copies RD into a NOTIMP for an opcode it does not know; genreport's "opcodeflg"
    # counts that as a fault (RD belongs to QUERY) and BIND clears it: so do we.
    "unassigned opcode, rd",
}


def test_answers_match_nsd(servers, deployment):
    token, ours, nsd = servers
    differences = {}
    for name, (data, tcp) in probes(token).items():
        mine, theirs = described(exchange(data, ours, tcp)), described(exchange(data, nsd, tcp))
        if mine != theirs and name not in KNOWN_DIFFERENCES:
            differences[name] = (mine, theirs)
    assert differences == {}, "\n".join(f"{name}:\n  ours {m}\n  nsd  {t}" for name, (m, t) in differences.items())
    assert {c["details"]["qtype"] for c in deployment.store.contacts()} >= {"A", "AAAA", "MX", "TXT"}


def test_genreport_cases_are_all_ok(servers):
    token, ours, nsd = servers
    assert genreport(ZONE, ours) == {name: ["ok"] for name in genreport(ZONE, ours)}
