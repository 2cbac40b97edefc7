"""The built wheel is whole: installed alone in a fresh environment, it runs a cycle.

The wheel is built offline from a copy of the sources (no build isolation, no index),
installed with --no-deps into a new virtual environment that sees the project's installed
dependencies through a .pth file, and its `newswatch` console script runs one cycle on the
demo newsroom from a folder outside the project, with no PYTHONPATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from newswatch.demo.server import DemoNewsroom

from .conftest import FAST_GAP, rows

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
TOP_LEVEL = sorted({name.split(".")[0] for name in PYPROJECT["tool"]["setuptools"]["packages"]})


def _build_wheel(out: Path) -> Path:
    """Build from a copy of what the wheel is made of, so the checkout gets no build/ folder."""
    src = out / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for package in TOP_LEVEL:
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "--disable-pip-version-check", "-w", str(out / "dist"), str(src)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = (out / "dist").glob("newswatch-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_wheel(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_carries_what_a_cycle_needs(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())

    def shipped(folder: Path, pattern: str) -> set[str]:
        found = {str(p.relative_to(ROOT)) for p in folder.glob(pattern)}
        assert found, f"nothing matches {folder}/{pattern} in the checkout"
        return found

    expected = (shipped(ROOT / "monitors" / "rules", "*.toml")
                | shipped(ROOT / "monitors", "topic.toml")
                | shipped(ROOT / "seeds", "*.txt")
                | shipped(ROOT / "seeds", "feeds.opml")
                | shipped(ROOT / "seeds", "manifest.toml")
                | shipped(ROOT / "warehouse" / "migrations", "*.sql")
                | shipped(ROOT / "warehouse" / "queries", "*/*.sql")
                | shipped(ROOT / "newswatch" / "demo" / "articles", "*.md")
                | {str(p.relative_to(ROOT)) for p in (ROOT / "newswatch" / "demo" / "site").rglob("*") if p.is_file()})
    assert expected - names == set()
    assert len([n for n in names if n.startswith("seeds/") and n.endswith(".txt")]) == 5
    assert {"monitors/rules/summit.toml", "monitors/rules/abductees.toml", "seeds/feeds.opml"} <= names
    # Nothing but the packages (and the wheel's metadata) is installed.
    assert {n.split("/")[0] for n in names} == set(TOP_LEVEL) | {"newswatch-0.1.0.dist-info"}


def _clean_venv(where: Path, wheel: Path) -> Path:
    """A new environment with the wheel installed, and the project's dependencies visible."""
    venv.EnvBuilder(with_pip=False).create(where)
    python = where / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # The project environment's pip installs into the new one (pip --python), before the
    # dependencies are made visible: pip then sees no other newswatch.
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check",
                           "install", "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    # The project's dependencies, after the new environment's own site-packages on sys.path.
    (site / "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", "utf-8")
    return where


def test_an_installed_wheel_runs_a_cycle_outside_the_project(
        wheel: Path, prefect_api: str, newsroom: DemoNewsroom, tmp_path: Path) -> None:
    env_dir = _clean_venv(tmp_path / "venv", wheel)
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    work = tmp_path / "work"
    work.mkdir()
    assert ROOT not in work.parents
    feeds = newsroom.write_opml(tmp_path / "feeds.opml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_") and k != "PYTHONPATH"}
    env.update(PREFECT_API_URL=prefect_api, NEWSWATCH_HOST_GAP=str(FAST_GAP))

    # Every package comes from the new environment, and the defaults point where they should.
    where = subprocess.run([str(env_dir / "bin" / "python"), "-c", "\n".join([
        f"import {', '.join(TOP_LEVEL)}",
        *(f"print({name}.__file__)" for name in TOP_LEVEL),
        "from newswatch import settings",
        "print(settings.CHECKOUT_DIR)",
        "print(settings.db_path()); print(settings.outbox_path())",
        "print(settings.feeds_path()); print(settings.rules_path())",
        "from newswatch.demo.server import DemoNewsroom; print(DemoNewsroom().site_dir)",
    ])], capture_output=True, text=True, env=env, cwd=work, timeout=60)
    assert where.returncode == 0, where.stderr
    *modules, checkout, db, outbox, default_feeds, rules, demo_site = where.stdout.splitlines()
    assert all(Path(m).is_relative_to(site) for m in modules), modules
    assert checkout == "None"
    assert (Path(db), Path(outbox)) == (work / "newswatch.duckdb", work / "outbox")
    assert Path(default_feeds) == site / "seeds" / "feeds.opml" and Path(default_feeds).is_file()
    assert Path(rules) == site / "monitors" / "rules"
    assert Path(demo_site).is_relative_to(site) and (Path(demo_site) / "index.json").is_file()

    result = subprocess.run([str(env_dir / "bin" / "newswatch"), "run", "--feeds", str(feeds)],
                            capture_output=True, text=True, env=env, cwd=work, timeout=240)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output and "rule file skipped" not in output
    assert str(ROOT) not in output

    # The warehouse and the outbox are in the folder the cycle ran in, not in site-packages.
    db = work / "newswatch.duckdb"
    assert db.is_file()
    assert not list(site.glob("*.duckdb")) and not (site / "outbox").exists()
    pages = newsroom.index["pages"]
    assert rows(db, "SELECT count(*) FROM articles WHERE is_seed") == [(5,)]
    assert rows(db, "SELECT count(*) FROM articles WHERE NOT is_seed") == [(len(pages),)]
    by_rule = dict(rows(db, "SELECT rule, count(*) FROM alerts a JOIN articles USING (article_id) "
                            "WHERE NOT is_seed GROUP BY rule"))
    assert by_rule.keys() == {"summit", "abductees"}, by_rule
    # The summit rule's alerts are sent as they happen: with no mail set, into ./outbox.
    assert any((work / "outbox").iterdir())
