#!/usr/bin/env python3
"""Set up the project's environment and run newswatch or its tests.

    python3 bootstrap.py run      # one monitoring cycle (default feeds, newswatch.duckdb)
    python3 bootstrap.py test     # the whole test suite
    python3 bootstrap.py demo     # a cycle against the built-in demo newsroom
    python3 bootstrap.py bench    # the benchmark on a synthetic news web (bench/benchmark.py)
    python3 bootstrap.py quality  # signal quality on the labelled corpus (bench/quality.py)
    python3 bootstrap.py commands # wall time of the one-shot commands (bench/commands.py)
    python3 bootstrap.py latency  # alerts as they happen: delay under `serve` (bench/latency.py)

Needs only Python 3.11+. The first call creates .venv in the project folder
and installs the locked dependencies (requirements.lock) into it; later calls
reinstall only when the lock file or pyproject.toml changed. Arguments after
the command are passed on (e.g. ``python3 bootstrap.py test -k dedup``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".newswatch-installed"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (LOCK, ROOT / "pyproject.toml"):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_environment() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"newswatch needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"Creating the virtual environment in {VENV} …", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    want = _fingerprint()
    if STAMP.exists() and STAMP.read_text().strip() == want:
        return
    print("Installing the locked dependencies (first run: a few minutes) …", flush=True)
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "--no-input"]
    for step in (["install", "--quiet", "--require-hashes", "--no-deps", "-r", str(LOCK)],
                 ["install", "--quiet", "--no-deps", "-e", str(ROOT)]):
        # pip's and the build backend's chatter is shown only when a step fails.
        done = subprocess.run(pip + step, capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            sys.exit(f"Installing failed: pip {' '.join(step[:2])} exited with {done.returncode} (output above)")
    STAMP.write_text(want + "\n")


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__.strip())
        return 0
    command, rest = argv[0], argv[1:]
    commands = {
        "run": [str(BIN / "newswatch"), "run"],
        "demo": [str(BIN / "newswatch"), "demo"],
        "test": [str(PYTHON), "-m", "pytest"],
        "bench": [str(PYTHON), str(ROOT / "bench" / "benchmark.py")],
        "quality": [str(PYTHON), str(ROOT / "bench" / "quality.py")],
        "commands": [str(PYTHON), str(ROOT / "bench" / "commands.py")],
        "latency": [str(PYTHON), str(ROOT / "bench" / "latency.py")],
    }
    if command not in commands:
        print(f"bootstrap.py: unknown command {command!r}; try: {', '.join(commands)}", file=sys.stderr)
        return 2
    try:
        ensure_environment()
    except subprocess.CalledProcessError as exc:
        print(f"bootstrap.py: installing dependencies failed ({exc}); see the pip output above", file=sys.stderr)
        return 1
    os.chdir(ROOT)
    return subprocess.run(commands[command] + rest).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
