"""Vision: people from the ceiling depth units in a crowded store (6 shoppers, 180 s, seeds 0-2).

For each seed, ``random_scenario(store, 6, 180.0, seed)`` is simulated and its depth units
(5 real AiFi RGB-D units + 4 wide-angle walkway units, 320x240 at 15 fps) are run through
:func:`walkout.perception.people.vision.see_people` (locator -> arm tracing -> linker). Time spent
inside the simulator's renderer (iterating the source) is measured separately from the
perception, so the report gives:

- depth frames per second through locator + arms + linker (one process, this machine), against
  the 1,500 frames/s target (a 100-camera store at 15 fps), and rendering frames per second;
- tracking accuracy against the simulator's body truth: HOTA, MOTA, IDF1, ID switches, and the
  median / 95th-percentile error of traced hands (cm).

With ``--engine`` it also runs the whole engine with ``people="vision"`` and scores receipts.

Run::

    python benchmarks/bench_vision.py [--seeds 0 1 2] [--shoppers 6] [--duration 180] [--engine]

Writes ``benchmarks/results/bench_vision.json``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from typing import Any

from _common import console, print_machine, progress, write_result
from rich.table import Table

from walkout.core.frames import DepthFrames
from walkout.engine.desk import demo_entry_desk
from walkout.engine.loop import Engine
from walkout.engine.params import EngineParams
from walkout.eval import score_recording
from walkout.eval.people import score_vision
from walkout.io import load_embedded_store
from walkout.perception.people.vision import see_people
from walkout.sim import random_scenario, simulate
from walkout.sim.depth import SimDepthSource


class TimedSource:
    """Wraps a depth source and adds up the seconds spent producing (rendering) frames."""

    def __init__(self, source: SimDepthSource) -> None:
        self.source = source
        self.camera_ids, self.fps = source.camera_ids, source.fps
        self.width_px, self.height_px = source.width_px, source.height_px
        self.render_s = 0.0

    def empty_store(self) -> DepthFrames:
        t0 = time.perf_counter()
        out = self.source.empty_store()
        self.render_s += time.perf_counter() - t0
        return out

    def chunks(self, chunk_s: float) -> Iterator[DepthFrames]:
        it = self.source.chunks(chunk_s)
        while True:
            t0 = time.perf_counter()
            try:
                frames = next(it)
            except StopIteration:
                return
            finally:
                self.render_s += time.perf_counter() - t0
            yield frames


def run_seed(seed: int, shoppers: int, duration_s: float, engine: bool) -> dict[str, Any]:
    store = load_embedded_store()
    rec, truth = simulate(random_scenario(store, shoppers, duration_s, seed), store, seed)
    assert isinstance(rec.depth, SimDepthSource)
    src = TimedSource(rec.depth)
    t0 = time.perf_counter()
    vision = see_people(src, store)
    total = time.perf_counter() - t0
    perception_s = total - src.render_s
    frames = vision.stats["camera_frames"]
    scores = score_vision(vision, rec.depth.body_truth()).to_dict()
    row: dict[str, Any] = {
        "seed": seed,
        "duration_s": round(rec.meta.duration_s, 1),
        "camera_frames": frames,
        "render_s": round(src.render_s, 2),
        "perception_s": round(perception_s, 2),
        "render_fps": round(frames / src.render_s, 1),
        "perception_fps": round(frames / perception_s, 1),
        "tracking": scores,
        "vision_stats": vision.stats,
    }
    if engine:
        result = Engine(demo_entry_desk(), params=EngineParams(people="vision")).run(rec)
        s = score_recording(truth, result, store)
        row["receipts"] = {"f1": s.f1, "precision": s.precision, "recall": s.recall, "tp": s.tp, "fp": s.fp,
                           "fn": s.fn}
    return row


def _num(x: float | None, digits: int) -> str:
    """``x`` with ``digits`` decimals, or "-" when the metric had nothing to measure (None)."""
    return "-" if x is None else f"{x:.{digits}f}"


def _table(rows: list[dict[str, Any]]) -> Table:
    t = Table(title="vision: 9 depth units, locator + arms + linker")
    for c in ("seed", "camera frames", "render fps", "perception fps", "HOTA", "MOTA", "IDF1", "ID sw",
              "hand median cm", "hand p95 cm", "receipt F1"):
        t.add_column(c, justify="right")
    for r in rows:
        tr = r["tracking"]
        t.add_row(str(r["seed"]), str(r["camera_frames"]), f"{r['render_fps']:.0f}", f"{r['perception_fps']:.0f}",
                  f"{tr['hota']:.3f}", f"{tr['mota']:.3f}", f"{tr['idf1']:.3f}", str(tr["id_switches"]),
                  _num(tr["hand_median_cm"], 1), _num(tr["hand_p95_cm"], 1),
                  f"{r['receipts']['f1']:.4f}" if "receipts" in r else "-")
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (default 0-2)")
    ap.add_argument("--shoppers", type=int, default=6, help="shoppers per recording (default 6)")
    ap.add_argument("--duration", type=float, default=180.0, help="recording duration, s (default 180)")
    ap.add_argument("--engine", action="store_true", help="also run the engine on vision and score receipts")
    args = ap.parse_args()
    print_machine()
    rows = []
    with progress() as bar:
        task = bar.add_task("vision", total=len(args.seeds), name="")
        for seed in args.seeds:
            bar.update(task, name=f"seed {seed}")
            rows.append(run_seed(seed, args.shoppers, args.duration, args.engine))
            bar.advance(task)
    console.print(_table(rows))
    frames = sum(r["camera_frames"] for r in rows)
    summary = {
        "perception_fps": round(frames / sum(r["perception_s"] for r in rows), 1),
        "render_fps": round(frames / sum(r["render_s"] for r in rows), 1),
        "idf1_min": min(r["tracking"]["idf1"] for r in rows),
        "idf1_mean": statistics.mean(r["tracking"]["idf1"] for r in rows),
        "hand_median_cm_max": max((r["tracking"]["hand_median_cm"] for r in rows
                                   if r["tracking"]["hand_median_cm"] is not None), default=None),
        "targets": {"perception_fps": 1500, "idf1": 0.95, "hand_median_cm": 8.0},
    }
    console.print(summary)
    path = write_result("bench_vision", {"shoppers": args.shoppers, "duration_s": args.duration, "rows": rows,
                                         "summary": summary})
    console.print(f"written to {path}")


if __name__ == "__main__":
    main()
