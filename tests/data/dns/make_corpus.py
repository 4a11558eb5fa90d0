"""Writes the malformed-DNS corpus next to this file: `python tests/data/dns/make_corpus.py`.

Each file is one UDP payload; its name starts with what the listener must do with it:
drop (no answer), formerr, notimp, refused, or any (an answer of some kind). None may be
recorded as a contact, although many carry the known label 'aaaaaaaaaaa.canary.test'.
"""
import pathlib
import struct

HERE = pathlib.Path(__file__).parent
NAME = b"\x0baaaaaaaaaaa\x06canary\x04test\x00"


def header(flags=0x0100, qd=1, an=0, ns=0, ar=0, ident=0x1234):
    return struct.pack("!HHHHHH", ident, flags, qd, an, ns, ar)


def question(name=NAME, qtype=1, qclass=1):
    return name + struct.pack("!HH", qtype, qclass)


def opt(version=0, udp=1232, rdata=b""):
    return b"\x00" + struct.pack("!HHIH", 41, udp, version << 16, len(rdata)) + rdata


CORPUS = {
    "drop-empty": b"",
    "drop-one-byte": b"\x12",
    "drop-eleven-bytes": header()[:11],
    "drop-response-bit": header(flags=0x8100) + question(),
    "drop-response-garbage": header(flags=0x8000) + b"\xff" * 40,
    "formerr-header-only": header(),
    "formerr-no-question": header(qd=0),
    "formerr-two-questions": header(qd=2) + question() + question(),
    "formerr-truncated-question": header() + question()[:-3],
    "formerr-truncated-name": header() + NAME[:7],
    "formerr-label-too-long": header() + b"\x40" + b"a" * 64 + b"\x06canary\x04test\x00" + b"\x00\x01\x00\x01",
    "formerr-pointer-loop": header() + b"\xc0\x0c" + b"\x00\x01\x00\x01",
    "formerr-pointer-forward": header() + b"\xc0\x40" + b"\x00\x01\x00\x01" + b"\x00" * 60,
    "formerr-counts-lie": header(an=5, ns=5, ar=5) + question(),
    "formerr-two-opt": header(ar=2) + question() + opt() + opt(),
    "formerr-opt-in-answer": header(an=1) + question() + opt(),
    "formerr-bad-option-length": header(ar=1) + question() + opt(rdata=struct.pack("!HH", 8, 200) + b"\x00\x01"),
    "formerr-garbage": bytes(range(256)) * 3,
    "refused-opcode-notify": header(flags=(4 << 11)) + question(),     # as NSD answers a NOTIFY
    "notimp-opcode-15": header(flags=(15 << 11)) + question(),
    "notimp-opcode-update": header(flags=(5 << 11), qd=1, ns=1) + question(qtype=6) + b"\xff" * 20,
    "refused-class-chaos": header() + question(b"\x07version\x04bind\x00", qtype=16, qclass=3),
    "refused-axfr": header() + question(qtype=252),
    "refused-lookalike-zone": header() + question(b"\x0baaaaaaaaaaa\x0aevilcanary\x04test\x00"),
    "refused-root": header() + question(b"\x00", qtype=2),
    "any-label-with-nul": header() + question(b"\x0baaaaa\x00aaaaa\x06canary\x04test\x00"),
    "any-label-with-dot": header() + question(b"\x0baaaaaaaaaa.\x06canary\x04test\x00"),
    "any-max-labels": header() + question(b"\x01a" * 100 + b"\x06canary\x04test\x00"),
    "any-ecs-short": header(ar=1) + question(b"\x06canary\x04test\x00", qtype=6) +
                     opt(rdata=struct.pack("!HH", 8, 2) + b"\x00\x01"),
    "any-ecs-family-9": header(ar=1) + question(b"\x06canary\x04test\x00", qtype=6) +
                        opt(rdata=struct.pack("!HHHBB", 8, 8, 9, 32, 0) + b"\x01\x02\x03\x04"),
    "any-edns-version-255": header(ar=1) + question(b"\x06canary\x04test\x00", qtype=6) + opt(version=255),
    "any-tiny-udp-size": header(ar=1) + question(b"\x06canary\x04test\x00", qtype=255) + opt(udp=1),
}

if __name__ == "__main__":
    for name, data in CORPUS.items():
        (HERE / f"{name}.bin").write_bytes(data)
    print(f"wrote {len(CORPUS)} files to {HERE}")
