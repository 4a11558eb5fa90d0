"""Fuzz target (atheris): the DNS listener's packet path, bytes in -> reply bytes or nothing.

Any exception is a finding: every byte a listener receives is hostile. The seed corpus is
tests/data/dns/*.bin. Run by `make fuzz` (long) and tests/test_fuzz.py (short):
    python tests/fuzz/fuzz_dns.py tests/data/dns -runs=20000
"""
import sys

import atheris

with atheris.instrument_imports():
    from listeners.dns import Authority, answer_packet

AUTHORITY = Authority(zones=["canary.test", "mail.canary.test"], addresses=["192.0.2.1"],
                      addresses6=["2001:db8::1"], mail_domains=["mail.canary.test"])
KNOWN = {"abc123.canary.test": {"identifier_id": 1, "value": "abc123.canary.test", "token_id": 1, "token": "abc123"}}


def resolve(values):
    return next((KNOWN[value] for value in values if value in KNOWN), None)


def test_one_input(data: bytes) -> None:
    for transport in ("udp", "tcp"):
        outcome = answer_packet(data, ("198.51.100.7", 5353), transport, AUTHORITY, resolve)
        if outcome.reply is not None:
            assert len(outcome.reply) <= 65535
            if transport == "udp" and outcome.truncated is not None:
                assert len(outcome.truncated) <= 65535


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
