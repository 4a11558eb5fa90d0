"""ISC's EDNS compliance tester (`genreport -f`, the dnsflagday battery) reproduced in Python.

Each case builds the same query genreport sends and checks the reply as its `process()`
does, giving the same tags ("ok", or e.g. "rd", "noaa", "badversion"). Building the C tool
needs its source and libbind; the cases are small enough to carry here.
"""
from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

import dns.message
import dns.rdatatype

T_SOA, T_DNSKEY, T_OPT = 6, 48, 41
COOKIE = b"\x00\x0a\x00\x08\x01\x02\x03\x04\x05\x06\x07\x08"
NSID, ECS, EXPIRE = b"\x00\x03\x00\x00", b"\x00\x08\x00\x04\x00\x01\x00\x00", b"\x00\x09\x00\x00"


@dataclass(frozen=True)
class Case:
    name: str
    udpsize: int = 0
    flags: int = 0            # EDNS flags (0x8000: DO)
    version: int = 0
    tcp: bool = False
    cookie: bool = False
    ignore: bool = False      # ignore TC (do not retry over TCP)
    tc: bool = False
    rd: bool = False
    ra: bool = False
    cd: bool = False
    ad: bool = False
    aa: bool = False
    z: bool = False
    opcode: int = 0
    type: int = T_SOA
    options: bytes = b""


CASES = [
    Case("dns"), Case("aa", aa=True), Case("ad", ad=True), Case("cd", cd=True), Case("ra", ra=True),
    Case("rd", rd=True), Case("tc", tc=True), Case("zflag", z=True), Case("opcode", opcode=15, type=0),
    Case("opcodeflg", tc=True, rd=True, ra=True, cd=True, ad=True, aa=True, z=True, opcode=15, type=0),
    Case("type666", type=666), Case("tcp", tcp=True),
    Case("edns", udpsize=4096), Case("edns1", udpsize=4096, version=1),
    Case("edns@512", udpsize=512, ignore=True, type=T_DNSKEY),
    Case("ednsopt", udpsize=4096, options=b"\x00\x64\x00\x00"),
    Case("edns1opt", udpsize=4096, version=1, options=b"\x00\x64\x00\x00"),
    Case("do", udpsize=4096, flags=0x8000), Case("edns1do", udpsize=4096, flags=0x8000, version=1),
    Case("ednsflags", udpsize=4096, flags=0x0080),
    Case("optlist", udpsize=4096, cookie=True, options=NSID + ECS + EXPIRE + COOKIE),
    Case("ednsnsid", udpsize=4096, options=NSID), Case("ednscookie", udpsize=4096, cookie=True, options=COOKIE),
    Case("ednsexpire", udpsize=4096, options=EXPIRE), Case("ednssubnet", udpsize=4096, options=ECS),
    Case("edns1nsid", udpsize=4096, version=1, options=NSID),
    Case("edns1cookie", udpsize=4096, version=1, cookie=True, options=COOKIE),
    Case("edns1expire", udpsize=4096, version=1, options=EXPIRE),
    Case("edns1subnet", udpsize=4096, version=1, options=ECS),
    Case("ednstcp", udpsize=512, flags=0x8000, tcp=True, type=T_DNSKEY),
    Case("bind11", udpsize=4096, flags=0x8000, cookie=True, options=COOKIE),
    Case("dig11", udpsize=4096, cookie=True, rd=True, ad=True, options=COOKIE),
]


def _name(zone: str) -> bytes:
    return b"".join(bytes([len(part)]) + part.encode() for part in zone.rstrip(".").split(".") if part) + b"\0"


def query(case: Case, zone: str, query_id: int = 0x1234) -> bytes:
    """The bytes genreport sends for `case`: opcode cases are header-only."""
    byte2 = (case.opcode << 3) | (case.aa << 2) | (case.tc << 1) | case.rd
    byte3 = (case.ra << 7) | (case.z << 6) | (case.ad << 5) | (case.cd << 4)
    question = b"" if case.opcode else _name(zone) + struct.pack("!HH", case.type, 1)
    additional = b""
    if case.udpsize:
        additional = b"\0" + struct.pack("!HHIH", T_OPT, case.udpsize, (case.version << 16) | case.flags,
                                         len(case.options)) + case.options
    return (struct.pack("!HBBHHHH", query_id, byte2, byte3, 1 if question else 0, 0, 0, 1 if additional else 0)
            + question + additional)


def exchange(data: bytes, port: int, tcp: bool, timeout: float = 3) -> bytes | None:
    """One query to 127.0.0.1:port; None when no answer comes."""
    kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(("127.0.0.1", port))
            if tcp:
                sock.sendall(struct.pack("!H", len(data)) + data)
                length = struct.unpack("!H", _read(sock, 2))[0]
                return _read(sock, length)
            sock.send(data)
            return sock.recv(65535)
        except (TimeoutError, ConnectionError, struct.error):
            return None


def _read(sock, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def run_case(case: Case, zone: str, port: int) -> list[str]:
    """genreport's tags for one case against the server on 127.0.0.1:port."""
    data = query(case, zone)
    reply = exchange(data, port, case.tcp)
    if reply is not None and not case.tcp and reply[2] & 0x02 and not case.ignore:
        reply = exchange(data, port, True)      # truncated: genreport retries over TCP
    if reply is None:
        return ["timeout"]
    return check(case, zone, reply)


def check(case: Case, zone: str, buf: bytes) -> list[str]:
    """genreport's process(): the tags a reply earns."""
    tags = []
    qr_opcode = (buf[2] >> 3) & 0xF
    aa, rd = (buf[2] >> 2) & 1, buf[2] & 1
    ra, z, ad, cd = (buf[3] >> 7) & 1, (buf[3] >> 6) & 1, (buf[3] >> 5) & 1, (buf[3] >> 4) & 1
    qd, an, au, ar = struct.unpack("!HHHH", buf[4:12])
    try:
        message = dns.message.from_wire(buf, ignore_trailing=False, one_rr_per_rrset=True)
    except Exception:
        return ["malformed"]
    if case.opcode and qd:
        tags.append("non-empty-question-section")
    if case.opcode and an:
        tags.append("non-empty-answer-section")
    if case.opcode and au:
        tags.append("non-empty-authority-section")
    if case.opcode and ar:
        tags.append("non-empty-additional-section")
    seensoa = any(rrset.rdtype == T_SOA and rrset.name.to_text().lower() == zone.lower().rstrip(".") + "."
                  for rrset in message.answer)
    seenopt = message.edns >= 0
    ednsttl = ((message.rcode() >> 4) << 24 | (message.edns << 16) | message.ednsflags) if seenopt else 0
    rcode = message.rcode()
    options = {option.otype for option in message.options} if seenopt else set()
    seencookie = any(option.otype == 10 and 16 <= len(option.to_wire()) <= 40 for option in message.options)
    if case.opcode != qr_opcode:
        tags.append(f"opcode{qr_opcode}")
    if case.version == 0:
        if case.opcode == 0 and ((rcode != 0 and not case.cookie)
                                 or (rcode != 0 and (rcode != 23 or not seencookie) and case.cookie)):
            tags.append(f"rcode{rcode}")
        if case.opcode != 0 and rcode != 4:
            tags.append(f"rcode{rcode}")
    if case.version != 0 and rcode != 16:
        tags.append(f"rcode{rcode}")
    ednsvers = (ednsttl >> 16) & 0xFF
    if seenopt and ednsvers != 0:
        tags.append("version-not-zero")
    if seenopt and ((ednsvers < case.version and rcode != 16) or (ednsvers >= case.version and rcode == 16)):
        tags.append("badversion")
    if not seenopt and case.udpsize:
        tags.append("noopt")
    if seenopt and case.udpsize == 0:
        tags.append("opt")
    if case.type == T_SOA and case.version == 0 and not case.ignore and not seensoa and rcode == 0:
        tags.append("nosoa")
    if case.type == T_SOA and seensoa and (case.version != 0 or rcode != 0):
        tags.append("soa")
    if 100 in options:
        tags.append("echoed")
    if seenopt and case.flags & 0x8000 and not ednsttl & 0x8000:
        tags.append("nodo")
    if not aa and case.version == 0 and rcode == 0 and case.opcode == 0:
        tags.append("noaa")
    if aa and case.opcode:
        tags.append("aa")
    if ra and case.opcode:
        tags.append("ra")
    if rd and (case.opcode or not case.rd):
        tags.append("rd")
    if not rd and case.rd and case.opcode == 0:
        tags.append("nord")
    if ad and (case.opcode or (not case.ad and not case.flags & 0x8000)):
        tags.append("ad")
    if cd and (case.opcode or not case.cd):
        tags.append("cd")
    if z:
        tags.append("z")
    if ednsttl & 0x7FFF:
        tags.append("mbz")
    if case.ignore and len(buf) > (case.udpsize or 512):
        tags.append("toobig")
    return tags or ["ok"]


def genreport(zone: str, port: int) -> dict[str, list[str]]:
    """Every case: {name: tags}; a compliant server has ["ok"] everywhere."""
    return {case.name: run_case(case, zone, port) for case in CASES}
