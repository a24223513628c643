"""The engine layers type-check (mypy, configured in pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[1]


def test_engine_layers_type_check(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the configured files are relative to the repository root
    stdout, stderr, status = api.run(["--config-file", "pyproject.toml", "--cache-dir", str(tmp_path)])
    assert status == 0, stdout + stderr
    assert "Success: no issues found in" in stdout
