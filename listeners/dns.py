"""DNS: answer authoritatively for the configured zones and turn queries into contacts.

Pure: `answer_packet(data, ...)` takes the bytes of one query and returns the bytes to
send back (or None: drop) plus the contact it carries. The sockets are in dns_server.py.

A label L anywhere below a zone Z identifies the canary or token whose hostname
identifier is `L.Z` (or a longer name ending in Z, e.g. `L.mail.Z`), whatever the case
the resolver chose: every candidate is looked up in one `resolve` call.
"""
from __future__ import annotations

import base64
import ipaddress
import struct
from dataclasses import dataclass, field
from typing import Callable

from dnslib import CLASS, OPCODE, QTYPE, RCODE, DNSLabel, DNSRecord

from canary import clock

from listeners import dns_wire as wire
from listeners.contact import host_port, make_contact
from listeners.names import Labels, candidates, labels_of

EDNS_UDP_SIZE = 1232       # the DNS flag day 2020 value: no IP fragmentation
PLAIN_UDP_SIZE = 512       # RFC 1035 without EDNS
MAX_NAME = 253             # bytes of a name in text, without its final dot
BADVERS = 16
OPTION_CLIENT_SUBNET = 8   # RFC 7871
HEADER = struct.Struct("!HHHHHH")
QR, AA, TC, RD = wire.QR, wire.AA, wire.TC, wire.RD


@dataclass
class Authority:
    """What we answer for: zones, the addresses our names point at, and the names that exist."""

    zones: list[str]
    addresses: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    addresses6: list[str] = field(default_factory=list)
    ttl: int = 300
    nameservers: list[str] = field(default_factory=list)
    mail_host: str = ""
    mail_domains: list[str] = field(default_factory=list)
    serial: int = 1

    def __post_init__(self):
        # Longest zone first, so a sub-zone we also serve wins over its parent.
        self.zone_labels = sorted((labels_of(zone) for zone in self.zones), key=len, reverse=True)
        self.nameservers = self.nameservers or [f"ns1.{self.zones[0]}"]
        self.mail_host = self.mail_host or f"mx.{self.zones[0]}"
        # Names of our own (name servers, the MX host) resolve to our addresses.
        self.host_names = {labels_of(name) for name in [*self.nameservers, self.mail_host]}
        self.mail_domain_labels = {labels_of(domain) for domain in self.mail_domains}
        # Names that exist without records of their own (empty non-terminals, RFC 8020):
        # answering NXDOMAIN there would stop a QNAME-minimising resolver before it asks
        # for the canary's name below.
        self.existing = set(self.host_names) | self.mail_domain_labels
        # Record data never changes: encoded once.
        self.a_rdata = [wire.a_rdata(address) for address in self.addresses]
        self.aaaa_rdata = [wire.aaaa_rdata(address) for address in self.addresses6]
        self.ns_rdata = [wire.encode_name(name) for name in self.nameservers]
        self.mx_rdata = wire.mx_rdata(10, self.mail_host)
        # Addresses of our name servers inside our zones, sent with an NS answer (NSD does,
        # even with minimal-responses: a resolver needs them to reach the zone).
        self.glue = [wire.record(wire.encode_name(name), rtype, self.ttl, rdata)
                     for name in self.nameservers if self.zone_of(labels_of(name)) is not None
                     for rtype, rdatas in ((wire.T_A, self.a_rdata), (wire.T_AAAA, self.aaaa_rdata))
                     for rdata in rdatas]
        self.soa_rdata = {zone: wire.soa_rdata(self.nameservers[0], "hostmaster." + b".".join(zone).decode(),
                                               self.serial, 3600, 600, 86400, self.ttl)
                          for zone in self.zone_labels}
        for name in list(self.existing):
            zone = self.zone_of(name)
            if zone is not None:
                self.existing.update(name[i:] for i in range(len(name) - len(zone) + 1))

    @classmethod
    def from_settings(cls, settings) -> "Authority":
        dns = settings["dns"]
        return cls(zones=settings.zones, addresses=list(dns["addresses"]), addresses6=list(dns["addresses6"]),
                   ttl=int(dns["ttl"]), nameservers=list(dns["nameservers"]), mail_host=settings.smtp_hostname,
                   mail_domains=settings.mail_domains, serial=int(clock.utc_now()[:10].replace("-", "")) * 100)

    def zone_of(self, labels: Labels) -> Labels | None:
        """The zone a name is in, compared label by label (never a string suffix)."""
        for zone in self.zone_labels:
            if len(labels) >= len(zone) and labels[len(labels) - len(zone):] == zone:
                return zone
        return None


def _valid_name(name: DNSLabel) -> bool:
    """RFC 1035 2.3.4: labels of 63 bytes or less, 255 bytes in all."""
    return all(len(label) <= 63 for label in name.label) and sum(len(l) + 1 for l in name.label) + 1 <= 255


@dataclass
class Outcome:
    """What one packet leads to: bytes to send (None: drop), a contact, or an unknown-name tally."""

    reply: bytes | None
    contact: dict | None = None
    unknown: str | None = None
    rcode: int = 0
    truncated: bytes | None = None   # the TC form of the reply, for rate-limit slips


def answer_packet(data: bytes, source: tuple[str, int], transport: str, authority: Authority,
                  resolve: Callable[[list[str]], dict | None]) -> Outcome:
    """Answer one DNS message as an authoritative server would; never raises on bad input."""
    try:
        return _answer(data, source, transport, authority, resolve)
    except Exception:
        # Whatever dnslib or we missed: a header-only FORMERR, no contact. The store's
        # own failures do not come here: they happen later, when the contact is written.
        query_id, flags = struct.unpack_from("!HH", data)
        return _bare(query_id, flags, RCODE.FORMERR, "malformed")


def _answer(data: bytes, source, transport: str, authority: Authority, resolve) -> Outcome:
    if len(data) < HEADER.size:
        return Outcome(None, unknown="runt")                     # nothing to answer to
    query_id, flags, qdcount, _, _, _ = HEADER.unpack_from(data)
    if flags & QR:
        return Outcome(None, unknown="response")                 # a response sent to us: drop
    opcode = (flags >> 11) & 0xF
    try:
        request = DNSRecord.parse(data)
    except Exception:  # dnslib raises several kinds on garbage (and on some UPDATE bodies)
        return _bare(query_id, flags, RCODE.NOTIMP if opcode != OPCODE.QUERY else RCODE.FORMERR,
                     "opcode" if opcode != OPCODE.QUERY else "malformed")
    opts = [rr for rr in request.ar if rr.rtype == QTYPE.OPT]
    if len(opts) > 1 or any(rr.rtype == QTYPE.OPT for rr in (*request.rr, *request.auth)):
        return _bare(query_id, flags, RCODE.FORMERR, "malformed")  # RFC 6891 6.1.1
    opt = opts[0] if opts else None
    # A query with an OPT gets one back, even when refused (RFC 6891 7): without it a
    # client concludes we do not speak EDNS.
    if opcode == OPCODE.NOTIFY:   # from a primary we do not have: refused, as NSD refuses it
        return _bare(query_id, flags, RCODE.REFUSED, "opcode", opt)
    if opcode != OPCODE.QUERY:
        return _bare(query_id, flags, RCODE.NOTIMP, "opcode", opt)
    if qdcount != 1 or len(request.questions) != 1 or not _valid_name(request.q.qname):
        return _bare(query_id, flags, RCODE.FORMERR, "malformed", opt)
    q = request.q
    reply = _Reply(query_id, flags, wire.question(tuple(q.qname.label), q.qtype, q.qclass), opt, transport)
    if opt is not None and (opt.ttl >> 16) & 0xFF:
        return reply.finish(BADVERS, unknown="badvers")
    if q.qclass != CLASS.IN:
        return reply.finish(RCODE.REFUSED, unknown="class")
    labels = tuple(label.lower() for label in q.qname.label)
    zone = authority.zone_of(labels)
    if zone is None:
        return reply.finish(RCODE.REFUSED, unknown="outside")
    if q.qtype in (QTYPE.AXFR, QTYPE.IXFR):
        return reply.finish(RCODE.REFUSED, unknown="transfer")
    resolved = resolve(candidates(labels, zone)) if len(labels) > len(zone) else None
    contact = contact_details(request, source, transport, resolved) if resolved is not None else None
    rcode = _fill_answer(reply, q.qtype, labels, zone, resolved is not None, authority)
    return reply.finish(rcode, aa=True, contact=contact,
                        unknown="nxdomain" if rcode == RCODE.NXDOMAIN and contact is None else None)


def contact_details(request: DNSRecord, source: tuple[str, int], transport: str, resolved: dict) -> dict:
    """The contact a query for a known name makes: name as sent, type, transport, resolver, ECS."""
    question = request.q
    details = {
        "qname": _name_text(question.qname),
        "qtype": QTYPE.get(question.qtype, str(question.qtype)),
        "transport": transport,
        "resolver": source[0],
        "port": source[1],
        "id": request.header.id,
        "rd": bool(request.header.rd),
        "edns": any(rr.rtype == QTYPE.OPT for rr in request.ar),
    }
    subnet = client_subnet(request)
    if subnet:
        details["client_subnet"] = subnet
    return make_contact("dns", resolved, host_port(*source[:2]), details)


def client_subnet(request: DNSRecord) -> str | None:
    """The EDNS client subnet (RFC 7871) a resolver passed on, as 'address/prefix'."""
    for rr in request.ar:
        if rr.rtype != QTYPE.OPT:
            continue
        for option in rr.rdata:
            if option.code != OPTION_CLIENT_SUBNET or len(option.data) < 4:
                continue
            family, prefix = struct.unpack("!HB", option.data[:3])
            raw = option.data[4:]
            try:
                if family == 1:
                    address = ipaddress.IPv4Address(raw.ljust(4, b"\0")[:4])
                elif family == 2:
                    address = ipaddress.IPv6Address(raw.ljust(16, b"\0")[:16])
                else:
                    return f"family {family}: {base64.b64encode(option.data).decode()}"
            except ValueError:
                return None
            return f"{address}/{prefix}"
    return None


def _fill_answer(reply: "_Reply", qtype: int, labels: Labels, zone: Labels, known: bool,
                 authority: Authority) -> int:
    """Answer records, or the SOA for a negative answer; returns the rcode."""
    ttl, owner = authority.ttl, wire.pointer(wire.QUESTION_OFFSET)   # the question's name, its case kept
    mx = qtype == QTYPE.MX and (known or labels in authority.mail_domain_labels)
    if labels == zone:
        if qtype in (QTYPE.SOA, QTYPE.ANY):
            reply.answers.append(wire.record(owner, wire.T_SOA, ttl, authority.soa_rdata[zone]))
        if qtype == QTYPE.NS:   # ANY gets one RRset (the SOA here), as NSD answers it (RFC 8482)
            reply.answers += [wire.record(owner, wire.T_NS, ttl, rdata) for rdata in authority.ns_rdata]
            reply.glue += authority.glue
        exists = True
    else:
        exists = known or labels in authority.existing
        if known or labels in authority.host_names:
            if qtype in (QTYPE.A, QTYPE.ANY):
                reply.answers += [wire.record(owner, wire.T_A, ttl, rdata) for rdata in authority.a_rdata]
            if qtype in (QTYPE.AAAA, QTYPE.ANY):
                reply.answers += [wire.record(owner, wire.T_AAAA, ttl, rdata) for rdata in authority.aaaa_rdata]
    if mx:
        # A canary's mail domain: mail and address validation reach our SMTP listener.
        reply.answers.append(wire.record(owner, wire.T_MX, ttl, authority.mx_rdata))
        exists = True
    if not reply.answers:
        # NODATA or NXDOMAIN: the zone's SOA in the authority section gives the negative TTL (RFC 2308).
        zone_offset = wire.QUESTION_OFFSET + sum(len(label) + 1 for label in labels[:len(labels) - len(zone)])
        reply.authority.append(wire.record(wire.pointer(zone_offset), wire.T_SOA, ttl, authority.soa_rdata[zone]))
        return RCODE.NOERROR if exists else RCODE.NXDOMAIN
    return RCODE.NOERROR


class _Reply:
    """A reply being put together: question copied from the query, sections as bytes."""

    def __init__(self, query_id: int, query_flags: int, question: bytes, opt, transport: str):
        self.query_id, self.query_flags, self.question = query_id, query_flags, question
        self.opt, self.transport = opt, transport
        self.answers: list[bytes] = []
        self.authority: list[bytes] = []
        self.glue: list[bytes] = []
        if transport == "tcp":
            self.limit = 65535
        elif opt is not None:
            self.limit = max(PLAIN_UDP_SIZE, min(opt.rclass, EDNS_UDP_SIZE))
        else:
            self.limit = PLAIN_UDP_SIZE

    def finish(self, rcode: int, aa: bool = False, contact: dict | None = None, unknown: str | None = None) -> Outcome:
        # Opcode and RD copied; CD is not (an authoritative server does no validation: NSD clears it).
        flags = QR | (self.query_flags & (0x7800 | RD)) | (AA if aa else 0) | (rcode & 0xF)
        opt = []
        if self.opt is not None:
            opt.append(wire.opt_record(EDNS_UDP_SIZE, rcode >> 4, bool(self.opt.ttl & 0x8000)))
        data = wire.message(self.query_id, flags, self.question, self.answers, self.authority, self.glue + opt)
        truncated = wire.message(self.query_id, flags | TC, self.question, (), (), opt)
        if len(data) > self.limit:
            data = truncated     # header, question and OPT: the client retries over TCP
        return Outcome(data, contact=contact, unknown=unknown, rcode=rcode, truncated=truncated)


def _bare(query_id: int, flags: int, rcode: int, unknown: str, opt=None) -> Outcome:
    """A header-only answer (and the query's OPT echoed) for a message we cannot or will not read."""
    # RD is copied for a QUERY only: it asks for recursion, which another opcode has no use
    # for (ISC genreport's "opcodeflg" case; BIND clears it too).
    opcode = flags & 0x7800
    answer_flags = QR | opcode | (flags & RD if opcode == 0 else 0) | rcode
    additional = [wire.opt_record(EDNS_UDP_SIZE, 0, bool(opt.ttl & 0x8000))] if opt is not None else []
    data = HEADER.pack(query_id, answer_flags, 0, 0, 0, len(additional)) + b"".join(additional)
    return Outcome(data, unknown=unknown, rcode=rcode, truncated=data)


def _name_text(name: DNSLabel) -> str:
    """The name as the resolver sent it (case kept); odd bytes escaped."""
    return ".".join(part.decode("ascii", "backslashreplace").replace(".", "\\.") for part in name.label) + "."

