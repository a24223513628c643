"""The layer boundaries are enforced, not promised."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import walkout

ROOT = Path(__file__).resolve().parents[1]
ENGINE_LAYERS = {"core", "io", "perception", "events", "fusion", "carts", "inventory", "engine", "operations", "service"}


def _lint(cwd: Path, config: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    return subprocess.run([exe, "--config", str(config)], cwd=cwd, capture_output=True, text=True, check=False)


def test_contract_covers_every_engine_layer():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]
    assert {m.split(".")[1] for m in cfg["source_modules"]} == ENGINE_LAYERS
    assert set(cfg["forbidden_modules"]) == {"walkout.sim", "walkout.eval"}
    src = Path(walkout.__file__).parent
    present = {p.name for p in src.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert present - {"sim", "eval", "data"} <= ENGINE_LAYERS


def test_import_contracts_hold():
    res = _lint(ROOT, ROOT / "pyproject.toml")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


def test_import_contract_catches_a_violation(tmp_path):
    """Copy the package, add an engine module importing the simulator: the linter must fail."""
    pkg = tmp_path / "src"
    shutil.copytree(Path(walkout.__file__).parent, pkg / "walkout", ignore=shutil.ignore_patterns("data", "__pycache__"))
    (pkg / "walkout" / "fusion" / "cheat.py").write_text("import walkout.sim\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env_path = str(pkg)
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    res = subprocess.run([exe, "--config", str(tmp_path / "pyproject.toml")], cwd=tmp_path, capture_output=True,
                         text=True, check=False, env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})
    if "could not find" in (res.stdout + res.stderr).lower():
        pytest.fail(res.stdout + res.stderr)
    assert res.returncode != 0
    assert "walkout.fusion.cheat -> walkout.sim" in res.stdout


def test_public_api_matches_all():
    for mod in (walkout, walkout.core, walkout.io):
        exported = set(mod.__all__) - {"__version__"}
        public = {n for n in dir(mod) if not n.startswith("_") and not isinstance(getattr(mod, n), type(sys))}
        assert exported == public, (mod.__name__, exported ^ public)
