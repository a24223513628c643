"""Engine throughput: plate samples per second through ``Engine.run`` on the 34 AiFi replays.

Simulates every labelled recording of ``ground_truth_dev.json`` once (batch seed 0), then times
``Engine.run`` over all of them, several repetitions, with the demo accounts and no storage (so
this measures perception, events, fusion and carts, not the database). Reports total plate
samples, engine seconds, samples per second and the share of the engine's time spent in
perception (``RunResult.stats["perception_s"] / stats["total_s"]``).

Run::

    python benchmarks/bench_engine.py [--reps 3] [--seed 0]

Writes ``benchmarks/results/bench_engine.json``.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import console, print_machine, progress, write_result
from rich.table import Table

from walkout.engine.desk import demo_entry_desk
from walkout.engine.loop import Engine
from walkout.io import Recording, load_embedded_store
from walkout.io.store_file import embedded_store_dir
from walkout.sim import parse_aifi_ground_truth, simulate_aifi


def simulate_all(seed: int) -> tuple[list[Recording], float]:
    """The 34 replays as recordings, and the seconds it took to simulate them."""
    store = load_embedded_store()
    gt = embedded_store_dir() / "ground_truth_dev.json"
    total = len(parse_aifi_ground_truth(gt))
    recs = []
    t0 = time.perf_counter()
    with progress() as bar:
        task = bar.add_task("simulating", total=total, name="")
        for rec, _truth in simulate_aifi(gt, store, seed):
            recs.append(rec)
            bar.update(task, advance=1, name=rec.meta.name)
    return recs, time.perf_counter() - t0


def time_engine(recs: list[Recording], reps: int) -> list[dict[str, float]]:
    """One row per repetition: wall seconds of the loop and the engine's own stats, summed."""
    rows = []
    with progress() as bar:
        task = bar.add_task("engine", total=reps * len(recs), name="")
        for rep in range(reps):
            engine = Engine(demo_entry_desk(), storage=None)
            perception = total = 0.0
            t0 = time.perf_counter()
            for rec in recs:
                stats = engine.run(rec).stats
                perception += stats["perception_s"]
                total += stats["total_s"]
                bar.update(task, advance=1, name=f"rep {rep + 1}/{reps} {rec.meta.name}")
            rows.append({"wall_s": time.perf_counter() - t0, "perception_s": perception, "total_s": total})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3, help="repetitions of the timed loop (default 3)")
    ap.add_argument("--seed", type=int, default=0, help="simulation batch seed (default 0)")
    args = ap.parse_args()

    print_machine()
    recs, sim_s = simulate_all(args.seed)
    samples = sum(len(r.plates) for r in recs)
    duration = sum(r.meta.duration_s for r in recs)
    rows = time_engine(recs, args.reps)

    table = Table(title=f"Engine throughput, {len(recs)} AiFi replays (seed {args.seed}), storage None")
    for col in ("rep", "engine s", "plate samples/s", "perception s", "perception share"):
        table.add_column(col, justify="right")
    for i, r in enumerate(rows, start=1):
        table.add_row(
            str(i),
            f"{r['wall_s']:.2f}",
            f"{samples / r['wall_s']:,.0f}",
            f"{r['perception_s']:.2f}",
            f"{r['perception_s'] / r['total_s']:.1%}",
        )
    best = min(rows, key=lambda r: r["wall_s"])
    median_s = statistics.median(r["wall_s"] for r in rows)
    console.print(table)
    console.print(
        f"{samples:,} plate samples ({len(recs)} recordings, {duration:.0f} s of store time at 60 Hz x "
        f"{len(recs[0].store.plates)} plates); simulate {sim_s:.1f} s (once)\n"
        f"[bold]best {best['wall_s']:.2f} s = {samples / best['wall_s']:,.0f} samples/s[/] · median "
        f"{median_s:.2f} s · perception {best['perception_s'] / best['total_s']:.1%} of engine time · "
        f"{duration / best['wall_s']:.0f}x real time"
    )
    path = write_result(
        "bench_engine",
        {
            "seed": args.seed,
            "reps": args.reps,
            "recordings": len(recs),
            "plate_samples": samples,
            "store_time_s": round(duration, 3),
            "simulate_s": round(sim_s, 3),
            "engine_s": [round(r["wall_s"], 3) for r in rows],
            "engine_s_best": round(best["wall_s"], 3),
            "engine_s_median": round(median_s, 3),
            "samples_per_s_best": round(samples / best["wall_s"]),
            "samples_per_s_median": round(samples / median_s),
            "perception_share_best": round(best["perception_s"] / best["total_s"], 4),
            "perception_s": [round(r["perception_s"], 3) for r in rows],
            "realtime_factor_best": round(duration / best["wall_s"], 1),
        },
    )
    console.print(f"written {path}")


if __name__ == "__main__":
    main()
