"""Review-queue benchmark: how well the shopper confidence predicts a right attribution, and
the share of sessions that need review.

1. Calibration on random crowded scenarios (6 shoppers x 180 s in the Nanostore; NOT the dev
   recordings): every attributed shelf event matched to a true event, bucketed by the engine's
   shopper confidence, with the share that went to the right shopper (the group's payer).
2. ``sessions_reviewed_share`` and receipt F1 of the dev replays (seeds 0-4) at the engine's
   review threshold.

    python benchmarks/bench_review.py [--seeds 8] [--dev-seeds 5]

Writes ``benchmarks/results/review.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from walkout.engine.desk import demo_entry_desk
from walkout.engine.loop import Engine
from walkout.engine.params import EngineParams
from walkout.eval.matching import match_events
from walkout.eval.scoring import link_sessions
from walkout.io import load_embedded_store
from walkout.replay import replay_ground_truth
from walkout.sim import random_scenario, simulate

BINS = [(0.0, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.99), (0.99, 1.01)]
DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "aifi-nanostore" / "ground_truth_dev.json"


def calibration_rows(seeds: int) -> list[tuple[float, bool]]:
    """(shopper confidence, right shopper?) for every matched attribution of the crowded seeds."""
    store = load_embedded_store()
    rows: list[tuple[float, bool]] = []
    with Progress() as progress:
        task = progress.add_task("crowded scenarios", total=seeds)
        for seed in range(seeds):
            rec, truth = simulate(random_scenario(store, 6, 180.0, seed), store, seed)
            result = Engine(demo_entry_desk()).run(rec)
            links = link_sessions(truth, result.sessions)
            truth_of = dict(match_events(result.shelf_events, truth.events).pairs)  # engine event id -> truth index
            payer = {s.key: s.payer or s.key for s in truth.shoppers}
            for a in result.attributions:
                j = truth_of.get(a.event_id)
                if a.session_id is None or j is None:
                    continue
                rows.append((a.shopper_confidence, links.get(a.session_id) == payer[truth.events[j].shopper]))
            progress.advance(task)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8, help="crowded scenarios (seeds 0..N-1)")
    ap.add_argument("--dev-seeds", type=int, default=5, help="dev replays (seeds 0..N-1)")
    args = ap.parse_args()
    console = Console()
    t0 = time.perf_counter()
    rows = np.array(calibration_rows(args.seeds), dtype=float).reshape(-1, 2)
    table = Table(title=f"shopper confidence vs. accuracy, crowded seeds 0-{args.seeds - 1}")
    for col in ("confidence", "n", "right"):
        table.add_column(col, justify="right")
    bins = []
    for lo, hi in BINS:
        sel = (rows[:, 0] >= lo) & (rows[:, 0] < hi)
        acc = float(rows[sel, 1].mean()) if sel.any() else None
        bins.append({"lo": lo, "hi": min(hi, 1.0), "n": int(sel.sum()), "right": acc})
        table.add_row(f"[{lo:.2f}, {min(hi, 1.0):.2f})", str(int(sel.sum())), "—" if acc is None else f"{acc:.3f}")
    console.print(table)
    store = load_embedded_store()
    dev = []
    for seed in range(args.dev_seeds):
        out = replay_ground_truth(DEV, store, seed=seed)
        dev.append({"seed": seed, "f1": out.report["overall"]["f1"],
                    "sessions_reviewed_share": out.report["sessions_reviewed_share"],
                    "review_tasks": len(out.report["review"])})
        console.print(f"dev seed {seed}: F1 {dev[-1]['f1']:.4f}, sessions reviewed "
                      f"{dev[-1]['sessions_reviewed_share']:.1%} ({dev[-1]['review_tasks']} tasks)")
    result = {"review_threshold": EngineParams().review_threshold, "calibration": bins, "dev": dev,
              "wall_s": round(time.perf_counter() - t0, 1)}
    dest = Path(__file__).parent / "results" / "review.json"
    dest.parent.mkdir(exist_ok=True)
    dest.write_text(json.dumps(result, indent=1))
    console.print(f"written to {dest}")


if __name__ == "__main__":
    main()
