"""The benchmarks still run (smallest settings, results written to a temporary directory): a
benchmark that no longer matches the engine's API fails here, not on the next person to run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("script", "args", "result"),
    [
        ("bench_crowded.py", ["--seeds", "0", "--shoppers", "2", "--duration", "40"], "bench_crowded"),
        ("bench_engine.py", ["--reps", "1"], "bench_engine"),
        ("bench_vision.py", ["--seeds", "0", "--shoppers", "1", "--duration", "25", "--engine"], "bench_vision"),
    ],
)
def test_benchmark_runs_and_writes_its_result(tmp_path, script, args, result):
    env = {**os.environ, "WALKOUT_BENCH_RESULTS": str(tmp_path)}
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    doc = json.loads((tmp_path / f"{result}.json").read_text())
    assert doc["benchmark"] == result and doc["machine"]["cores"] >= 1
