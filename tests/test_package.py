"""The package as a user gets it: a wheel, installed in a fresh virtual environment outside the
checkout, runs `canary demo` as far as serving the dashboard (the demo lab ships inside it)."""
from __future__ import annotations

import os
import pathlib
import queue
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
import venv

import requests

ROOT = pathlib.Path(__file__).resolve().parent.parent


def build_wheel(into: pathlib.Path) -> pathlib.Path:
    """Build from a copy of the sources, so the checkout gets no build/ or egg-info from the test."""
    source = into / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("canary", "listeners"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(into / "dist"), str(source)], check=True, cwd=into, timeout=300)
    return next((into / "dist").glob("canary-*.whl"))


def fresh_venv(path: pathlib.Path) -> pathlib.Path:
    """A new virtual environment whose only extra is the path to the dependencies this suite already has
    (the registry is not needed): canary itself comes from the wheel, not from the checkout."""
    venv.EnvBuilder(with_pip=False).create(path)
    site = pathlib.Path(sysconfig.get_path("purelib", vars={"base": str(path), "platbase": str(path)}))
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return path / "bin"


def test_the_wheel_runs_the_demo_from_a_fresh_virtual_environment(tmp_path):
    wheel = build_wheel(tmp_path)
    bin_dir = fresh_venv(tmp_path / "venv")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install", "--quiet",
                    "--no-deps", "--no-index", str(wheel)], check=True, timeout=300)
    where = subprocess.run([str(bin_dir / "python"), "-c", "import canary.demo.labdb as m; print(m.DATA)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path).stdout.strip()
    assert where.startswith(str(tmp_path / "venv")) and (pathlib.Path(where) / "lab_mapping.toml").is_file()

    env = {key: value for key, value in os.environ.items() if not key.startswith("CANARY_")}
    env.update(PYTHONUNBUFFERED="1", CANARY_DNS_LISTEN="127.0.0.1:0", CANARY_SMTP_LISTEN="127.0.0.1:0",
               CANARY_HTTP_LISTEN="127.0.0.1:0")
    process = subprocess.Popen([str(bin_dir / "canary"), "demo", "--home", str(tmp_path / "demo"),
                                "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env, cwd=tmp_path)
    lines: queue.Queue = queue.Queue()
    seen: list[str] = []
    reader = threading.Thread(target=lambda: [lines.put(line.rstrip("\n")) for line in process.stdout], daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 300   # the first run builds and seeds the example labs
        while not (seen and seen[-1].startswith("ready")):
            try:
                seen.append(lines.get(timeout=max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"the demo never got ready; its output: {seen}") from None
        dashboard = next(line for line in seen if line.startswith("Dashboard:")).split()[1]
        login = requests.get(dashboard + "login", timeout=10)
        assert login.status_code == 200 and "password" in login.text
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(5)
        process.stdout.close()
    assert (tmp_path / "demo" / "lab" / "lab_mapping.toml").is_file()
