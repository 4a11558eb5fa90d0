"""Packing DNS answers from pre-encoded pieces: dnslib parses queries, this writes the replies.

An authoritative answer here is the query's own question followed by records whose
owner is a compression pointer to the question name (or to its zone, further along
it), so the records' bytes are mostly constants computed once. dnslib's object model
cost about 150 µs a reply; this, a few µs, which is what lets every token hit be
committed before its answer at thousands of queries a second.
"""
from __future__ import annotations

import ipaddress
import struct

RR_FIXED = struct.Struct("!HHIH")      # type, class, TTL, rdata length
HEADER = struct.Struct("!HHHHHH")
QR, AA, TC, RD, CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0010
QUESTION_OFFSET = 12
T_A, T_NS, T_SOA, T_MX, T_AAAA, T_OPT = 1, 2, 6, 15, 28, 41


def encode_name(name: str) -> bytes:
    """'ns1.canary.test' -> wire format, uncompressed."""
    labels = [label for label in name.lower().rstrip(".").split(".") if label]
    return b"".join(bytes([len(label)]) + label.encode("ascii") for label in labels) + b"\x00"


def pointer(offset: int) -> bytes:
    return struct.pack("!H", 0xC000 | offset)


def record(owner: bytes, rtype: int, ttl: int, rdata: bytes) -> bytes:
    return owner + RR_FIXED.pack(rtype, 1, ttl, len(rdata)) + rdata


def a_rdata(address: str) -> bytes:
    return ipaddress.IPv4Address(address).packed


def aaaa_rdata(address: str) -> bytes:
    return ipaddress.IPv6Address(address).packed


def mx_rdata(preference: int, exchange: str) -> bytes:
    return struct.pack("!H", preference) + encode_name(exchange)


def soa_rdata(mname: str, rname: str, serial: int, refresh: int, retry: int, expire: int, minimum: int) -> bytes:
    return encode_name(mname) + encode_name(rname) + struct.pack("!IIIII", serial, refresh, retry, expire, minimum)


def opt_record(udp_size: int, ext_rcode: int = 0, do: bool = False) -> bytes:
    """The OPT pseudo-record of a reply: version 0, our UDP size, the DO bit echoed (RFC 3225)."""
    return b"\x00" + RR_FIXED.pack(T_OPT, udp_size, (ext_rcode << 24) | (0x8000 if do else 0), 0)


def question(labels: tuple[bytes, ...], qtype: int, qclass: int) -> bytes:
    """The question section re-encoded from the parsed labels: the sender's letter case kept."""
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\x00" + struct.pack("!HH", qtype, qclass)


def message(query_id: int, flags: int, question_bytes: bytes, answers=(), authority=(), additional=()) -> bytes:
    return (HEADER.pack(query_id, flags, 1, len(answers), len(authority), len(additional))
            + question_bytes + b"".join(answers) + b"".join(authority) + b"".join(additional))
