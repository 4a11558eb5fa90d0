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

from dnslib import (AAAA, CLASS, EDNS0, MX, NS, OPCODE, QTYPE, RCODE, RR, SOA, A, DNSHeader, DNSLabel,
                    DNSQuestion, DNSRecord, EDNSOption)

from canary import clock

Labels = tuple[bytes, ...]

EDNS_UDP_SIZE = 1232       # the DNS flag day 2020 value: no IP fragmentation
PLAIN_UDP_SIZE = 512       # RFC 1035 without EDNS
BADVERS = 16
OPTION_CLIENT_SUBNET = 8   # RFC 7871
HEADER = struct.Struct("!HHHHHH")
QR, AA, TC, RD = 0x8000, 0x0400, 0x0200, 0x0100


def _labels(name: str) -> Labels:
    return tuple(part.encode("ascii") for part in name.lower().rstrip(".").split("."))


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
        self.zone_labels = sorted((_labels(zone) for zone in self.zones), key=len, reverse=True)
        self.nameservers = self.nameservers or [f"ns1.{self.zones[0]}"]
        self.mail_host = self.mail_host or f"mx.{self.zones[0]}"
        # Names of our own (name servers, the MX host) resolve to our addresses.
        self.host_names = {_labels(name) for name in [*self.nameservers, self.mail_host]}
        self.mail_domain_labels = {_labels(domain) for domain in self.mail_domains}
        # Names that exist without records of their own (empty non-terminals, RFC 8020):
        # answering NXDOMAIN there would stop a QNAME-minimising resolver before it asks
        # for the canary's name below.
        self.existing = set(self.host_names) | self.mail_domain_labels
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


def candidates(labels: Labels, zone: Labels) -> list[str]:
    """Identifier values a name below `zone` may carry: itself and its parents, then each label + zone.

    'www.AbC.canary.test' -> www.abc.canary.test, abc.canary.test, www.canary.test.
    """
    below = labels[:len(labels) - len(zone)]
    zone_text = b".".join(zone).decode("ascii")
    found: list[str] = []
    for start in range(len(below)):
        parts = below[start:]
        if all(_plain(part) for part in parts):
            found.append(".".join(part.decode("ascii") for part in parts) + "." + zone_text)
    for part in below:
        if _plain(part):
            found.append(part.decode("ascii") + "." + zone_text)
    return list(dict.fromkeys(found))


def _valid_name(name: DNSLabel) -> bool:
    """RFC 1035 2.3.4: labels of 63 bytes or less, 255 bytes in all."""
    return all(len(label) <= 63 for label in name.label) and sum(len(l) + 1 for l in name.label) + 1 <= 255


def _plain(label: bytes) -> bool:
    """A label an identifier can have: letters, digits, hyphen, at most 63 bytes."""
    return 0 < len(label) <= 63 and all(c in b"abcdefghijklmnopqrstuvwxyz0123456789-" for c in label)


@dataclass
class Outcome:
    """What one packet leads to: bytes to send (None: drop), a contact, or an unknown-name tally."""

    reply: bytes | None
    contact: dict | None = None
    unknown: str | None = None
    rcode: int = 0


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
    if opcode != OPCODE.QUERY:
        return _bare(query_id, flags, RCODE.NOTIMP, "opcode")   # before parsing: UPDATE bodies differ
    try:
        request = DNSRecord.parse(data)
    except Exception:  # dnslib raises several kinds on garbage
        return _bare(query_id, flags, RCODE.FORMERR, "malformed")
    if qdcount != 1 or len(request.questions) != 1 or not _valid_name(request.q.qname):
        return _bare(query_id, flags, RCODE.FORMERR, "malformed")
    opts = [rr for rr in request.ar if rr.rtype == QTYPE.OPT]
    if len(opts) > 1 or any(rr.rtype == QTYPE.OPT for rr in (*request.rr, *request.auth)):
        return _bare(query_id, flags, RCODE.FORMERR, "malformed")  # RFC 6891 6.1.1
    opt = opts[0] if opts else None
    edns_version = (opt.ttl >> 16) & 0xFF if opt else None
    reply = DNSRecord(DNSHeader(id=query_id, qr=1, aa=0, ra=0, rd=request.header.rd, opcode=opcode),
                      q=request.q)
    if opt is not None:
        do = "do" if opt.ttl & 0x8000 else ""
        reply.add_ar(EDNS0(udp_len=EDNS_UDP_SIZE, flags=do, ext_rcode=BADVERS >> 4 if edns_version else 0))
        if edns_version:
            return _finish(reply, BADVERS & 0xF, opt, transport, unknown="badvers")
    question = request.q
    if question.qclass != CLASS.IN:
        return _finish(reply, RCODE.REFUSED, opt, transport, unknown="class")
    labels = tuple(label.lower() for label in question.qname.label)
    zone = authority.zone_of(labels)
    if zone is None:
        return _finish(reply, RCODE.REFUSED, opt, transport, unknown="outside")
    if question.qtype in (QTYPE.AXFR, QTYPE.IXFR):
        return _finish(reply, RCODE.REFUSED, opt, transport, unknown="transfer")
    reply.header.aa = 1
    resolved = resolve(candidates(labels, zone)) if len(labels) > len(zone) else None
    contact = None
    if resolved is not None:
        contact = contact_details(request, source, transport, resolved)
    rcode = _fill_answer(reply, question, labels, zone, resolved is not None, authority)
    outcome = _finish(reply, rcode, opt, transport, contact=contact)
    if contact is None and rcode == RCODE.NXDOMAIN:
        outcome.unknown = "nxdomain"
    return outcome


def contact_details(request: DNSRecord, source: tuple[str, int], transport: str, resolved: dict) -> dict:
    """The contact a query for a known name makes: name as sent, type, transport, resolver, ECS."""
    from .recorder import make_contact
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
    return make_contact("dns", resolved, f"{_host_port(source)}", details)


def contact_from_query(data: bytes, source: tuple[str, int], transport: str, authority: Authority,
                       resolve: Callable[[list[str]], dict | None]) -> dict | None:
    """The contact a DNS message carries, or None."""
    return answer_packet(data, source, transport, authority, resolve).contact


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


def _fill_answer(reply: DNSRecord, question: DNSQuestion, labels: Labels, zone: Labels, known: bool,
                 authority: Authority) -> int:
    qname, qtype, ttl = question.qname, question.qtype, authority.ttl
    zone_name = DNSLabel(list(zone))
    records: list[RR] = []
    if labels == zone:
        if qtype in (QTYPE.SOA, QTYPE.ANY):
            records.append(_soa(qname, authority))
        if qtype in (QTYPE.NS, QTYPE.ANY):
            records += [RR(qname, QTYPE.NS, rdata=NS(name), ttl=ttl) for name in authority.nameservers]
        if qtype == QTYPE.MX and labels in authority.mail_domain_labels:
            records.append(RR(qname, QTYPE.MX, rdata=MX(authority.mail_host, 10), ttl=ttl))
        exists = True
    elif known or labels in authority.host_names:
        records += _addresses(qname, qtype, authority)
        if qtype == QTYPE.MX and known:
            # The canary's mail domain: mail and address validation reach our SMTP listener.
            records.append(RR(qname, QTYPE.MX, rdata=MX(authority.mail_host, 10), ttl=ttl))
        exists = True
    else:
        if qtype == QTYPE.MX and labels in authority.mail_domain_labels:
            records.append(RR(qname, QTYPE.MX, rdata=MX(authority.mail_host, 10), ttl=ttl))
        exists = labels in authority.existing
    for record in records:
        reply.add_answer(record)
    if not records:
        # NODATA or NXDOMAIN: the SOA in the authority section gives the negative TTL (RFC 2308).
        reply.add_auth(_soa(zone_name, authority))
        return RCODE.NOERROR if exists else RCODE.NXDOMAIN
    return RCODE.NOERROR


def _addresses(qname: DNSLabel, qtype: int, authority: Authority) -> list[RR]:
    found = []
    if qtype in (QTYPE.A, QTYPE.ANY):
        found += [RR(qname, QTYPE.A, rdata=A(address), ttl=authority.ttl) for address in authority.addresses]
    if qtype in (QTYPE.AAAA, QTYPE.ANY):
        found += [RR(qname, QTYPE.AAAA, rdata=AAAA(address), ttl=authority.ttl) for address in authority.addresses6]
    return found


def _soa(name: DNSLabel, authority: Authority) -> RR:
    zone = ".".join(part.decode("ascii", "replace") for part in name.label).lower()
    times = (authority.serial, 3600, 600, 86400, authority.ttl)
    return RR(name, QTYPE.SOA, rdata=SOA(authority.nameservers[0], f"hostmaster.{zone}", times), ttl=authority.ttl)


def _finish(reply: DNSRecord, rcode: int, opt, transport: str, contact: dict | None = None,
            unknown: str | None = None) -> Outcome:
    reply.header.rcode = rcode
    if rcode in (RCODE.REFUSED, BADVERS & 0xF) and unknown:
        reply.header.aa = 0
    data = bytes(reply.pack())
    limit = 65535 if transport == "tcp" else (max(PLAIN_UDP_SIZE, min(opt.rclass, 65535)) if opt else PLAIN_UDP_SIZE)
    if len(data) > limit:
        data = _truncated(reply)
    return Outcome(data, contact=contact, unknown=unknown, rcode=rcode)


def _truncated(reply: DNSRecord) -> bytes:
    """Header with TC, the question and the OPT record: the client retries over TCP."""
    short = DNSRecord(DNSHeader(id=reply.header.id, bitmap=reply.header.bitmap, tc=1), q=reply.q)
    short.header.tc = 1
    for rr in reply.ar:
        if rr.rtype == QTYPE.OPT:
            short.add_ar(rr)
    return bytes(short.pack())


def _bare(query_id: int, flags: int, rcode: int, unknown: str) -> Outcome:
    """A header-only answer for a message we cannot or will not read: same id, opcode and RD."""
    answer_flags = QR | (flags & 0x7800) | (flags & RD) | rcode
    return Outcome(HEADER.pack(query_id, answer_flags, 0, 0, 0, 0), unknown=unknown, rcode=rcode)


def _name_text(name: DNSLabel) -> str:
    """The name as the resolver sent it (case kept); odd bytes escaped."""
    return ".".join(part.decode("ascii", "backslashreplace").replace(".", "\\.") for part in name.label) + "."


def _host_port(source: tuple[str, int]) -> str:
    host, port = source[0], source[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
