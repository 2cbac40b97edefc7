"""The whole project imports cleanly and every flow loads, with warnings as errors."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["newswatch", "flows", "monitors", "warehouse"]


def modules() -> list[str]:
    names = []
    for package in PACKAGES:
        mod = importlib.import_module(package)
        names.append(package)
        names += [m.name for m in pkgutil.walk_packages(mod.__path__, prefix=f"{package}.")]
    return sorted(names)


@pytest.mark.parametrize("module", modules())
def test_module_imports_without_warnings(module: str) -> None:
    result = subprocess.run([sys.executable, "-W", "error", "-c", f"import {module}"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_every_flow_loads() -> None:
    from prefect import Flow

    found = []
    for name in [m for m in modules() if m.startswith("flows.")]:
        mod = importlib.import_module(name)
        found += [obj for obj in vars(mod).values() if isinstance(obj, Flow)]
    assert {f.name for f in found} >= {"monitor"}


def test_prefect_yaml_points_at_real_flows() -> None:
    import yaml

    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    for deployment in config["deployments"]:
        path, _, func = deployment["entrypoint"].partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert callable(getattr(module, func)), deployment["entrypoint"]
