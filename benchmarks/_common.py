"""Shared helpers of the benchmark scripts: machine description, result files, progress bars.

Not a benchmark itself. The scripts import it as a sibling module (``python benchmarks/<name>.py``
puts this directory on ``sys.path``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

HERE = Path(__file__).resolve().parent
#: where results go (``WALKOUT_BENCH_RESULTS`` overrides it, e.g. for the benchmarks' smoke test)
RESULTS = Path(os.environ["WALKOUT_BENCH_RESULTS"]) if os.environ.get("WALKOUT_BENCH_RESULTS") else HERE / "results"
console = Console()
if not console.is_terminal:  # piped to a file: do not squeeze the tables into 80 columns
    console = Console(width=132)


def cpu_model() -> str:
    """The CPU model named in /proc/cpuinfo ("unknown" where there is none, e.g. macOS)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True, text=True, check=True).stdout


def git_revision() -> str:
    """``<short sha>`` of the checkout, plus ``+dirty.<sha1 of the diff, 8 hex>`` when src/ has changes.

    The diff hash tells apart runs made on different uncommitted states of the engine.
    """
    try:
        sha = _git("rev-parse", "--short", "HEAD").strip()
        diff = _git("diff", "HEAD", "--", "src")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + (f"+dirty.{hashlib.sha1(diff.encode()).hexdigest()[:8]}" if diff else "")


@functools.cache
def machine() -> dict[str, Any]:
    """Where a benchmark ran: platform, CPU model, cores, Python and numpy versions, git revision.

    Cached: the first call (at the start of a run, when walkout has been imported) is what a
    result file records, even if src/ changes while the benchmark runs.
    """
    return {
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "walkout_git": git_revision(),
    }


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/<name>.json`` (with the machine and a UTC timestamp)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    doc = {
        "benchmark": name,
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": dict(machine()),
        **payload,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return path


def print_machine() -> None:
    m = machine()
    console.print(
        f"[dim]{m['cpu']} · {m['cores']} cores · {m['platform']} · Python {m['python']} · "
        f"numpy {m['numpy']} · walkout {m['walkout_git']}[/]"
    )


def progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[name]}"),
        console=console,
    )


#: the leading columns every accuracy table shares, and their cells for one result row
SCORE_COLUMNS = ("seed", "F1", "precision", "recall", "event P", "event R", "TP/FP/FN")


def score_cells(r: dict[str, Any]) -> list[str]:
    """Cells for :data:`SCORE_COLUMNS` from a row with seed, f1, precision, recall, event_*, tp/fp/fn."""
    return [
        str(r["seed"]),
        f"{r['f1']:.4f}",
        f"{r['precision']:.4f}",
        f"{r['recall']:.4f}",
        f"{r['event_precision']:.4f}",
        f"{r['event_recall']:.4f}",
        f"{r['tp']}/{r['fp']}/{r['fn']}",
    ]
