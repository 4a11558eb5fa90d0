"""`canary scan` against ripgrep and GNU grep, whole process against whole process, in one run.

The leak is the 2021 file's size (491,840 patients) written as old mainframe exports write
it: SHOUTED (upper case, no accents), Latin-1, CSV; 300 canaries of a 30-lab deployment
hidden inside, a third as stored, a third with NIRs spaced or keyless, a third with phones
rewritten. The baselines get what an investigator would feed them: the canonical
identifiers (emails, phones in E.164 and national form, NIRs). Every tool writes its output
to a file (GNU grep stops at the first match when its output is /dev/null).

Prints, per tool: wall time and CPU time (user + system, workers included), peak RSS of its
largest process, and what it found; then the ratios against ripgrep. Targets: `canary scan
--jobs 1` (held to one core with taskset) <= 1.0x ripgrep's time, `canary scan` on every core
faster than ripgrep, peak RSS <= 300 MB whatever the size.

    .venv/bin/python bench/bench_scan.py [--quick] [--rows 491840] [--gigabytes 2] [--runs 3] [--big-runs 1]
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from canary.deployment import Deployment, init_deployment
from canary.generation.issuing import Issuer
from canary.generation.patients import generate_patients
from canary.scan.leakgen import PHONE_STYLES, leak_row, population, shout, write_leak, write_nir, write_phone

TARGET_KINDS = ("lims-prod", "backup-nightly", "vendor-export")


def build_deployment(home: pathlib.Path, labs: int, per_target: int) -> tuple[Deployment, list[dict]]:
    init_deployment(home, ["canary.test"]).close()
    deployment = Deployment.open(home)
    store = deployment.store
    issuer = Issuer(store, deployment.settings, random.Random(30))
    patients = iter(generate_patients(labs * len(TARGET_KINDS) * per_target, 491840))
    leaked = []
    with store.transaction():   # one commit: the bench measures scanning, not set-up
        for lab in range(1, labs + 1):
            site = store.add_site(f"Laboratoire {lab:02d}")
            for kind in TARGET_KINDS:
                target = store.add_target(f"lab{lab:02d}-{kind}", site["name"])
                for n in range(per_target):
                    canary = issuer.register_canary(next(patients), target["id"])
                    store.record_planting(canary["id"], target["id"], [], [],
                                          time=f"2020-{n % 12 + 1:02d}-01T00:00:00.000000Z")
                    if kind == "vendor-export":   # 2021: the vendor's migration copies leaked
                        leaked.append(canary)
    return deployment, leaked


def transformed(rows: list[dict]) -> list[dict]:
    """A third as stored; a third with the NIR spaced or keyless; a third without its email,
    phone and NIR rewritten (only a canary's birth date and name then corroborate its phone)."""
    out = []
    for i, row in enumerate(rows):
        if i % 3 == 0:
            out.append(row)
        elif i % 3 == 1:
            out.append(dict(row, nir=write_nir(row["nir"], ("spaced", "no-key")[i % 2])))
        else:
            out.append(dict(row, email="", phone=write_phone(row["phone"], PHONE_STYLES[i % (len(PHONE_STYLES) - 1)]),
                            nir=write_nir(row["nir"], ("spaced", "no-key")[i % 2])))
    return out


def investigator_values(identifiers: list[dict]) -> list[str]:
    """What one would grep for: emails, NIRs, phones in E.164 and national form."""
    values = []
    for row in identifiers:
        if row["kind"] in ("email", "nir"):
            values.append(row["value"])
        elif row["kind"] == "phone":
            values += [row["value"], "0" + row["value"][3:]] if row["value"].startswith("+33") else [row["value"]]
    return values


def write_seed_leak(path: pathlib.Path, rows: int, leaked: list[dict]) -> None:
    hidden = transformed([leak_row(c["patient"]) for c in leaked])
    population_rows = list(population(rows - len(hidden), seed=2021))
    rng = random.Random(2021)
    for row in hidden:
        population_rows.insert(rng.randrange(len(population_rows) + 1), row)
    write_leak((shout(row) for row in population_rows), path, "csv", encoding="latin-1")


def write_big_leak(seed: pathlib.Path, path: pathlib.Path, size: int) -> None:
    """The seed leak's records over and over up to `size` bytes (each canary ~size/seed times)."""
    data = seed.read_bytes()
    header, _, body = data.partition(b"\n")
    with path.open("wb") as out:
        out.write(header + b"\n")
        written = len(header) + 1
        while written < size:
            out.write(body)
            written += len(body)


def run(command: list[str], output: pathlib.Path, env: dict | None = None) -> dict:
    """One whole process, its output to a file: wall and CPU seconds (its workers included),
    peak RSS of its largest process (VmHWM, sampled: ru_maxrss would report this script's own)."""
    with output.open("wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, env=env)
        peaks: dict[int, int] = {}
        sampler = threading.Thread(target=_sample_peaks, args=(process.pid, peaks), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        sampler.join()
    returncode = os.waitstatus_to_exitcode(status)
    error = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if returncode not in ((0, 1) if command[0] in ("rg", "grep") else (0,)):   # grep, rg: 1 when nothing matched
        raise SystemExit(f"{command[0]} failed ({returncode}): {error[-3000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": max(peaks.values(), default=0) / 1024}


def _sample_peaks(pid: int, peaks: dict[int, int]) -> None:
    """VmHWM (kB) of `pid` and its descendants every 10 ms until it exits."""
    own = pathlib.Path("/proc/self/cmdline").read_bytes()
    while True:
        pids = [pid]
        for p in pids:
            try:
                if pathlib.Path(f"/proc/{p}/cmdline").read_bytes() in (own, b""):
                    continue   # not yet exec'd (this script's memory) or a zombie
                status = pathlib.Path(f"/proc/{p}/status").read_text()
                for task in os.listdir(f"/proc/{p}/task"):
                    pids += map(int, pathlib.Path(f"/proc/{p}/task/{task}/children").read_text().split())
            except (OSError, ValueError):
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks[p] = max(peaks.get(p, 0), int(line.split()[1]))
        try:
            if pathlib.Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] == "Z":
                return
        except (OSError, IndexError):
            return
        time.sleep(0.01)


def best(command, output, runs, env=None) -> dict:
    """The least disturbed of `runs` runs (the machine is shared)."""
    results = [run(command, output, env) for _ in range(runs)]
    return {key: min(r[key] for r in results) for key in results[0]}


def grep_found(output: pathlib.Path, identifiers: list[dict], caseless: bool) -> dict:
    """Canaries a line-matching tool identified, matching its output lines as the tool does (with
    or without case): by email or NIR, or only by a phone number (which strangers share)."""
    owner = {}
    for row in identifiers:
        for value in investigator_values([row]):
            owner[value.encode()] = (row["kind"], row["canary_id"])
    import hyperscan   # to map thousands of values onto output lines quickly; not timed
    keys = list(owner)
    database = hyperscan.Database()
    database.compile(expressions=keys, ids=list(range(len(keys))), elements=len(keys),
                     flags=[hyperscan.HS_FLAG_CASELESS if caseless else 0] * len(keys), literal=True)
    strong, phones, lines = set(), set(), 0
    with output.open("rb") as lines_file:
        for line in lines_file:
            lines += 1
            hits = []
            database.scan(line, match_event_handler=lambda n, start, end, flags, context: hits.append(n))
            for n in hits:
                kind, canary_id = owner[keys[n]]
                (phones if kind == "phone" else strong).add(canary_id)
    return {"lines": lines, "canaries": len(strong), "phone_only": len(phones - strong)}


def scan_found(output: pathlib.Path) -> dict:
    result = json.loads(output.read_text())
    canaries = {m["canary_id"] for m in result["matches"] if m["canary_id"] is not None}
    strong = {m["canary_id"] for m in result["matches"] if m["kind"] != "phone"}
    return {"canaries": len(canaries), "by_email_or_nir": len(strong), "targets": len(result["targets"]),
            "strangers_rows_set_aside": sum(row["records"] for row in result["uncorroborated_records"])}


def compile_bytecode() -> None:
    """An installed package has its bytecode compiled (pip does it); an editable install in an environment
    with PYTHONDONTWRITEBYTECODE would recompile every module of canary on each start. Not timed."""
    import canary
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(pathlib.Path(canary.__file__).parent)],
                   stdout=subprocess.DEVNULL, check=True)


def measure_start_up(home: pathlib.Path, tmp: pathlib.Path, runs: int) -> None:
    """`canary scan` of a two-line file: what every scan pays before its first byte."""
    tiny = tmp / "tiny.csv"
    tiny.write_text("nom;telephone\nMARTIN;0639981234\n")
    command = [sys.executable, "-c", "from canary.cli import main; main()", "scan", "--home", str(home), "--quiet",
               "--json", "--jobs", "1", str(tiny)]
    run(command, tmp / "out-tiny.txt")   # the deployment's first scan compiles the engine: not start-up
    python = best([sys.executable, "-c", "pass"], tmp / "out-python.txt", runs)
    figure = best(command, tmp / "out-tiny.txt", runs)
    print(f"\nstart-up (canary scan of a 2-line file): wall {figure['wall']:.2f} s, cpu {figure['cpu']:.2f} s "
          f"(python alone: cpu {python['cpu']:.2f} s)")


def one_core() -> list[str]:
    """`canary scan --jobs 1` held to one core (its file's SHA-256 is hashed in a thread, which would
    otherwise take a second core where one is free); ripgrep runs as installed (one file: one core)."""
    return ["taskset", "-c", str(min(os.sched_getaffinity(0)))] if shutil.which("taskset") else []


def measure(label: str, leak: pathlib.Path, home: pathlib.Path, values: pathlib.Path, identifiers, hidden: int,
            runs: int, jobs: int, tmp: pathlib.Path) -> None:
    size = leak.stat().st_size
    print(f"\n== {label}: {size / 1e6:,.0f} MB, {hidden} canaries hidden; best of {runs} run(s) each ==")
    subprocess.run(["cat", str(leak)], stdout=subprocess.DEVNULL, check=True)  # same page cache for all
    canary = [sys.executable, "-c", "from canary.cli import main; main()", "scan", "--home", str(home), "--quiet",
              "--json", str(leak)]
    tools = {
        "rg -F -i -f": (["rg", "-F", "-i", "-f", str(values), str(leak)], None),
        "rg -F -f (case-sensitive)": (["rg", "-F", "-f", str(values), str(leak)], None),
        "grep -F -i -f (LC_ALL=C)": (["grep", "-F", "-i", "-f", str(values), str(leak)], {"LC_ALL": "C"}),
        "canary scan --jobs 1": (one_core() + canary + ["--jobs", "1"], None),
        f"canary scan --jobs {jobs}": (canary + ["--jobs", str(jobs)], None),
    }
    figures = {}
    for name, (command, env) in tools.items():
        output = tmp / f"out-{len(figures)}.txt"
        figures[name] = best(command, output, runs, env)
        found = scan_found(output) if name.startswith("canary") else grep_found(output, identifiers, " -i " in name)
        figure = figures[name]
        rate = size / figure["wall"] / 1e6
        print(f"{name:28s} wall {figure['wall']:7.2f} s ({rate:5.0f} MB/s)  cpu {figure['cpu']:7.2f} s  "
              f"peak RSS {figure['rss_mb']:5.0f} MB  found {found}", flush=True)
    rg = figures["rg -F -i -f"]
    for name in (f"canary scan --jobs 1", f"canary scan --jobs {jobs}"):
        figure = figures[name]
        print(f"{name} / rg -F -i -f: wall {figure['wall'] / rg['wall']:.2f}x, cpu {figure['cpu'] / rg['cpu']:.2f}x"
              f"   (targets: jobs 1 <= 1.00x, every core < 1.00x wall)")
    for baseline in ("grep -F -i -f (LC_ALL=C)", "rg -F -f (case-sensitive)"):
        other = figures[baseline]
        print(f"canary scan --jobs 1 / {baseline}: wall {figures['canary scan --jobs 1']['wall'] / other['wall']:.2f}x, "
              f"cpu {figures['canary scan --jobs 1']['cpu'] / other['cpu']:.2f}x; --jobs {jobs}: wall "
              f"{figures[f'canary scan --jobs {jobs}']['wall'] / other['wall']:.2f}x")
    print(f"peak RSS of canary scan: {max(figures[n]['rss_mb'] for n in figures if n.startswith('canary')):.0f} MB "
          "(target <= 300 MB)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 rows, one run, no big file (development).")
    parser.add_argument("--rows", type=int, default=491_840)
    parser.add_argument("--gigabytes", type=float, default=0.0, help="Also a file this big (the seed leak repeated).")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big-runs", type=int, default=1, help="Runs of each tool on the big file (best kept).")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--labs", type=int, default=30)
    parser.add_argument("--per-target", type=int, default=10)
    args = parser.parse_args()
    if args.quick:
        args.rows, args.runs, args.gigabytes = 50_000, 1, 0.0
    for tool in ("rg", "grep"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (.ci/services.sh installs ripgrep)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        home = tmp / "deployment"
        deployment, leaked = build_deployment(home, args.labs, args.per_target)
        identifiers = deployment.store.all_identifiers()
        deployment.close()
        values = tmp / "values.txt"
        values.write_text("".join(value + "\n" for value in investigator_values(identifiers)))
        leak = tmp / "leak.csv"
        write_seed_leak(leak, args.rows, leaked)
        print(f"deployment: {args.labs} labs, {args.labs * len(TARGET_KINDS)} targets, "
              f"{args.labs * len(TARGET_KINDS) * args.per_target} canaries, {len(identifiers)} identifiers; "
              f"baselines get {len(values.read_text().splitlines())} values (emails, NIRs, phones E.164 + national)")
        compile_bytecode()
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start (shared: "
              "wall times are disturbed, CPU times less so)")
        measure_start_up(home, tmp, args.runs)
        measure(f"seed-size leak, {args.rows:,} patients, SHOUT-style Latin-1 CSV", leak, home, values, identifiers,
                len(leaked), args.runs, args.jobs, tmp)
        if args.gigabytes:
            big = tmp / "big.csv"
            write_big_leak(leak, big, int(args.gigabytes * 1e9))
            leak.unlink()
            measure(f"{args.gigabytes:g} GB leak (the seed leak repeated)", big, home, values, identifiers,
                    len(leaked), args.big_runs, args.jobs, tmp)
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
