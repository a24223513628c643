"""Full replay: simulate + engine + evaluate over the 34 AiFi recordings, seeds 0-4.

Each seed runs :func:`walkout.replay.replay_ground_truth` on ``ground_truth_dev.json`` with an
in-memory SQLite database (what ``walkout demo`` does, minus printing), and reports receipt
precision / recall / F1 (AutoCheckout rule, micro-averaged), shelf-event precision / recall, the
wall time and its split (simulate, engine, evaluate; ``ReplayOutcome.timings_s``). Targets: F1 >=
0.99 for every seed and wall <= 60 s per seed.

Run::

    python benchmarks/bench_replay.py [--seeds 0 1 2 3 4] [--check]

``--check`` exits with status 1 when a target is missed. Writes
``benchmarks/results/bench_replay.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from _common import SCORE_COLUMNS, console, print_machine, progress, score_cells, write_result
from rich.table import Table

from walkout.io import load_embedded_store
from walkout.io.store_file import embedded_store_dir
from walkout.replay import replay_ground_truth
from walkout.sim import parse_aifi_ground_truth

TARGET_F1 = 0.99
TARGET_WALL_S = 60.0


def replay_seed(seed: int, bar: Any, task: Any) -> dict[str, Any]:
    store = load_embedded_store()
    gt = embedded_store_dir() / "ground_truth_dev.json"
    t0 = time.perf_counter()
    out = replay_ground_truth(
        gt,
        store,
        seed=seed,
        db_url="sqlite://",
        on_recording=lambda rec, _t, _r: bar.update(task, advance=1, name=f"seed {seed} {rec.meta.name}"),
    )
    wall = time.perf_counter() - t0
    ov = out.report["overall"]
    return {
        "seed": seed,
        **{k: ov[k] for k in ("f1", "precision", "recall", "event_precision", "event_recall", "tp", "fp", "fn")},
        "review": len(out.report["review"]),
        "wall_s": round(wall, 3),
        **{f"{k}_s": round(v, 3) for k, v in out.timings_s.items()},
        "plate_samples": out.plate_samples,
        "error_units_by_cause": ov["error_units_by_cause"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="batch seeds (default 0-4)")
    ap.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = ap.parse_args()

    print_machine()
    n = len(parse_aifi_ground_truth(embedded_store_dir() / "ground_truth_dev.json"))
    rows = []
    with progress() as bar:
        task = bar.add_task("replaying", total=n * len(args.seeds), name="")
        for seed in args.seeds:
            rows.append(replay_seed(seed, bar, task))

    table = Table(title=f"Full replay, {n} AiFi recordings per seed (in-memory SQLite)")
    for col in (
        *SCORE_COLUMNS,
        "review",
        "wall s",
        "simulate",
        "engine",
        "evaluate",
    ):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            *score_cells(r),
            str(r["review"]),
            f"{r['wall_s']:.2f}",
            f"{r['simulate_s']:.2f}",
            f"{r['engine_s']:.2f}",
            f"{r['evaluate_s']:.2f}",
        )
    console.print(table)
    f1s = [r["f1"] for r in rows]
    summary = {
        "mean_f1": statistics.fmean(f1s),
        "worst_f1": min(f1s),
        "worst_wall_s": max(r["wall_s"] for r in rows),
        "target_f1": TARGET_F1,
        "target_wall_s": TARGET_WALL_S,
    }
    summary["f1_target_met"] = summary["worst_f1"] >= TARGET_F1
    summary["wall_target_met"] = summary["worst_wall_s"] <= TARGET_WALL_S
    mark = {True: "[green]met[/]", False: "[bold red]MISSED[/]"}
    console.print(
        f"mean F1 {summary['mean_f1']:.4f} · worst F1 {summary['worst_f1']:.4f} (target >= {TARGET_F1}: "
        f"{mark[summary['f1_target_met']]}) · worst wall {summary['worst_wall_s']:.2f} s (target <= "
        f"{TARGET_WALL_S:g} s: {mark[summary['wall_target_met']]})"
    )
    causes: dict[str, int] = {}
    for r in rows:
        for cause, units in r["error_units_by_cause"].items():
            causes[cause] = causes.get(cause, 0) + units
    if causes:
        console.print("error units by cause, all seeds: " + ", ".join(f"{c} {u}" for c, u in causes.items()))
    path = write_result("bench_replay", {"seeds": rows, "summary": summary, "error_units_by_cause": causes})
    console.print(f"written {path}")
    if args.check and not (summary["f1_target_met"] and summary["wall_target_met"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
