"""Short runs of the fuzz targets in tests/fuzz (atheris): the DNS packet path and the scan's
readers must never raise on any input. A fixed seed keeps the short run the same every time;
`make fuzz` explores at length with random seeds."""
import pathlib
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("atheris")

HERE = pathlib.Path(__file__).parent


def fuzz(target: str, corpus: pathlib.Path, runs: int, tmp_path) -> None:
    result = subprocess.run([sys.executable, str(HERE / "fuzz" / target), str(corpus), f"-runs={runs}", "-seed=1",
                             "-max_total_time=60", f"-artifact_prefix={tmp_path}/", "-print_final_stats=1"],
                            capture_output=True, text=True, timeout=180, cwd=tmp_path)
    crashes = list(tmp_path.glob("crash-*")) + list(tmp_path.glob("timeout-*")) + list(tmp_path.glob("oom-*"))
    assert result.returncode == 0 and not crashes, result.stderr[-3000:]
    assert "Done" in result.stderr


def test_the_dns_packet_path_survives_fuzzing(tmp_path):
    corpus = tmp_path / "dns"
    shutil.copytree(HERE / "data" / "dns", corpus, ignore=shutil.ignore_patterns("*.py"))
    fuzz("fuzz_dns.py", corpus, 2000, tmp_path)


def test_the_scan_readers_survive_fuzzing(tmp_path):
    corpus = tmp_path / "scan"
    subprocess.run([sys.executable, str(HERE / "fuzz" / "make_corpus.py"), str(corpus)], check=True, timeout=60)
    fuzz("fuzz_scan.py", corpus, 300, tmp_path)
