"""RCPT answer times for canary and unknown addresses: can a two-sample test tell them apart?

A careful buyer of a leaked file times RCPT for each address: a canary's answer waits for
its contact to be stored. The listener sends an unknown address's tally through the same
group commit and answers every RCPT the same time after it arrived (smtp.rcpt_answer_ms).
The baseline is the listener as it was: unknown addresses counted in memory and answered
at once, a canary's answer sent as soon as its contact is stored.

Per run, TRIES RCPTs of each kind, in random order over sessions of 8 (an unknown address
is an error, and Postfix's error limits end a session at 20), 32 sessions at a time, from a
client process of its own. Kolmogorov-Smirnov and Mann-Whitney (scipy): p < 0.01 means the
two kinds can be told apart.
Run: .venv/bin/python bench/bench_rcpt_timing.py [--quick] [--tries N]
"""
from __future__ import annotations

import argparse
import pathlib
import random
import statistics
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from scipy import stats  # noqa: E402

from _load import in_processes, rcpt_timing_load  # noqa: E402
from canary.deployment import init_deployment  # noqa: E402
from canary.generation.issuing import Issuer  # noqa: E402
from listeners.recorder import Recorder  # noqa: E402
from listeners.smtp import SmtpServer  # noqa: E402

SESSION = 8
CONCURRENCY = 8


class _ImmediateTallies:
    """The recorder as the old handler used it: unknown names counted in memory, no commit waited for."""

    def __init__(self, recorder):
        self.recorder = recorder

    def __getattr__(self, name):
        return getattr(self.recorder, name)

    async def atally(self, channel, kind):
        self.recorder.count_unknown(channel, kind)


def plan(canaries: list[str], tries: int, rng: random.Random) -> list[list[tuple[str, str]]]:
    """TRIES of each kind shuffled into sessions; unknown addresses share the canaries' domains."""
    steps = [("canary", rng.choice(canaries)) for _ in range(tries)]
    steps += [("unknown", f"{rng.choice('abcdefgh')}{rng.randrange(10**7)}@{rng.choice(canaries).partition('@')[2]}")
              for _ in range(tries)]
    rng.shuffle(steps)
    return [steps[i:i + SESSION] for i in range(0, len(steps), SESSION)]


def measure(recorder, address_plan, answer_seconds: float) -> dict[str, list[float]]:
    server = SmtpServer(recorder, "127.0.0.1", 0, hostname="mx.canary.test", local_domains=["canary.test"],
                        answer_seconds=answer_seconds, max_recipients=SESSION)
    server.start()
    try:
        [times] = in_processes(rcpt_timing_load, [(server.port, address_plan, CONCURRENCY)], timeout=3600)
    finally:
        server.stop()
    return times


def compare(times: dict[str, list[float]]) -> dict:
    canary, unknown = times["canary"], times["unknown"]
    return {"canary_ms": statistics.median(canary) * 1000, "unknown_ms": statistics.median(unknown) * 1000,
            "ks_p": stats.ks_2samp(canary, unknown).pvalue,
            "mw_p": stats.mannwhitneyu(canary, unknown).pvalue,
            "codes": (set(times["canary codes"]), set(times["unknown codes"]))}


def run(tries: int, answer_ms: float, seed: int = 1) -> dict[str, dict]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as home:
        deployment = init_deployment(pathlib.Path(home) / "bench", ["canary.test"])
        issuer = Issuer(deployment.store, deployment.settings, rng=random.Random(seed))
        canaries = [issuer.issue_token("email")["value"] for _ in range(50)]
        recorder = Recorder(deployment.store).start()
        try:
            results = {"baseline (as before)": compare(measure(_ImmediateTallies(recorder),
                                                               plan(canaries, tries, rng), 0)),
                       f"canary ({answer_ms:g} ms answer)": compare(
                           measure(recorder, plan(canaries, tries, rng), answer_ms / 1000))}
        finally:
            recorder.stop()
            deployment.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 tries of each kind instead of 10,000")
    parser.add_argument("--tries", type=int, help="tries of each kind")
    parser.add_argument("--answer-ms", type=float, default=30, help="smtp.rcpt_answer_ms (default 30)")
    args = parser.parse_args()
    tries = args.tries or (1000 if args.quick else 10_000)
    results = run(tries, args.answer_ms)
    print(f"RCPT answer times, {tries} tries of each kind, {CONCURRENCY} sessions at a time")
    for name, r in results.items():
        verdict = "told apart" if min(r["ks_p"], r["mw_p"]) < 0.01 else "cannot be told apart"
        print(f"{name:32} median canary {r['canary_ms']:7.2f} ms  unknown {r['unknown_ms']:7.2f} ms  "
              f"ratio {r['canary_ms'] / r['unknown_ms']:5.2f}  KS p={r['ks_p']:.3g}  MW p={r['mw_p']:.3g}  "
              f"{verdict}  (codes {sorted(r['codes'][0])} / {sorted(r['codes'][1])})")


if __name__ == "__main__":
    main()
