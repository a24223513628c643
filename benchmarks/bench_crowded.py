"""A crowded store: 6 shoppers for 180 s, random scenarios, seeds 0-4.

Each seed simulates ``random_scenario(store, 6, 180.0, seed)`` with ``simulate(..., seed)``,
runs a fresh :class:`~walkout.engine.loop.Engine` on it (demo accounts, no storage) and scores
the receipts with the AutoCheckout rule (:func:`walkout.eval.score_recording`). Random scenarios
are harder than the AiFi replays: shoppers overlap at the same shelf, pick several units or two
products at once, put items back on the wrong plate and pick up units others misplaced.

Run::

    python benchmarks/bench_crowded.py [--seeds 0 1 2 3 4] [--shoppers 6] [--duration 180]

Writes ``benchmarks/results/bench_crowded.json``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from typing import Any

from _common import SCORE_COLUMNS, console, print_machine, progress, score_cells, write_result
from rich.table import Table

from walkout.engine.desk import demo_entry_desk
from walkout.engine.loop import Engine
from walkout.eval import score_recording
from walkout.eval.scoring import combine_scores
from walkout.io import load_embedded_store
from walkout.sim import random_scenario, simulate


def run_seed(seed: int, shoppers: int, duration_s: float) -> tuple[dict[str, Any], Any]:
    store = load_embedded_store()
    t0 = time.perf_counter()
    rec, truth = simulate(random_scenario(store, shoppers, duration_s, seed), store, seed)
    t1 = time.perf_counter()
    result = Engine(demo_entry_desk(), storage=None).run(rec)
    t2 = time.perf_counter()
    score = score_recording(truth, result, store)
    causes: Counter[str] = Counter()
    for e in score.errors:
        causes[e.cause.split(" (")[0]] += e.quantity
    return {
        "seed": seed,
        "f1": score.f1,
        "precision": score.precision,
        "recall": score.recall,
        "event_precision": score.event_precision,
        "event_recall": score.event_recall,
        "tp": score.tp,
        "fp": score.fp,
        "fn": score.fn,
        "true_events": len(truth.events),
        "receipts": len(result.receipts),
        "review": len(result.review),
        "duration_s": round(rec.meta.duration_s, 1),
        "plate_samples": len(rec.plates),
        "simulate_s": round(t1 - t0, 3),
        "engine_s": round(t2 - t1, 3),
        "error_units_by_cause": dict(causes.most_common()),
    }, score


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="seeds (default 0-4)")
    ap.add_argument("--shoppers", type=int, default=6, help="shoppers per recording (default 6)")
    ap.add_argument("--duration", type=float, default=180.0, help="recording duration, s (default 180)")
    args = ap.parse_args()

    print_machine()
    rows, scores = [], []
    with progress() as bar:
        task = bar.add_task("crowded", total=len(args.seeds), name="")
        for seed in args.seeds:
            bar.update(task, name=f"seed {seed}")
            row, score = run_seed(seed, args.shoppers, args.duration)
            rows.append(row)
            scores.append(score)
            bar.update(task, advance=1)

    table = Table(title=f"Crowded store: {args.shoppers} shoppers, {args.duration:g} s, random scenarios")
    for col in (
        *SCORE_COLUMNS,
        "true events",
        "receipts",
        "review",
        "simulate s",
        "engine s",
    ):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            *score_cells(r),
            str(r["true_events"]),
            str(r["receipts"]),
            str(r["review"]),
            f"{r['simulate_s']:.2f}",
            f"{r['engine_s']:.2f}",
        )
    console.print(table)
    micro = combine_scores(scores)
    causes: Counter[str] = Counter()
    for r in rows:
        causes.update(r["error_units_by_cause"])
    summary = {
        "mean_f1": statistics.fmean(r["f1"] for r in rows),
        "worst_f1": min(r["f1"] for r in rows),
        "micro_f1": micro.f1,
        "micro_precision": micro.precision,
        "micro_recall": micro.recall,
        "engine_s_total": round(sum(r["engine_s"] for r in rows), 3),
        "engine_s_mean": round(statistics.fmean(r["engine_s"] for r in rows), 3),
        "engine_s_median": round(statistics.median(r["engine_s"] for r in rows), 3),
    }
    console.print(
        f"mean F1 {summary['mean_f1']:.4f} · worst {summary['worst_f1']:.4f} · micro F1 {micro.f1:.4f} "
        f"(P {micro.precision:.4f} R {micro.recall:.4f}) · engine {summary['engine_s_median']:.2f} s (median; "
        f"mean {summary['engine_s_mean']:.2f} s, first run includes warm-up) per {args.duration:g} s recording"
    )
    if causes:
        console.print("error units by cause: " + ", ".join(f"{c} {u}" for c, u in causes.most_common()))
    path = write_result(
        "bench_crowded",
        {
            "shoppers": args.shoppers,
            "duration_s": args.duration,
            "seeds": rows,
            "summary": summary,
            "error_units_by_cause": dict(causes.most_common()),
        },
    )
    console.print(f"written {path}")


if __name__ == "__main__":
    main()
