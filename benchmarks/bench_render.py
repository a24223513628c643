"""Depth rendering speed: every frame of every depth unit over the 34 AiFi dev recordings.

Simulates the recordings of ``ground_truth_dev.json`` (seed 0), then iterates each recording's
:class:`walkout.sim.depth.SimDepthSource` in chunks of ``--chunk-s`` seconds, touching nothing
but the frames (no perception). Reports per recording and in total: camera-frames (units x
frames), dropped frames, the share of pixels without a return, the wall seconds of the rendering
alone (simulating plates and tracks is timed separately) and its process CPU seconds (which a
busy machine inflates less), and camera-frames per second. Target: the whole dev set renders in
<= 60 s.

Run::

    python benchmarks/bench_render.py [--seed 0] [--chunk-s 1.0] [--limit N] [--check]

``--check`` exits with status 1 when the target is missed. Writes
``benchmarks/results/render.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np
from _common import console, print_machine, progress, write_result
from rich.table import Table

from walkout.io import load_embedded_store
from walkout.io.store_file import embedded_store_dir
from walkout.sim import SimDepthSource, simulate_aifi

TARGET_WALL_S = 60.0


def render_one(src: SimDepthSource, chunk_s: float) -> dict[str, Any]:
    """Iterate every chunk of one recording, timing the rendering; count frames, drops, missing pixels."""
    frames = dropped = 0
    missing = []
    wall = cpu = 0.0
    chunks = src.chunks(chunk_s)
    while True:
        t0, c0 = time.perf_counter(), time.process_time()
        ch = next(chunks, None)
        wall += time.perf_counter() - t0  # the counting below is not rendering
        cpu += time.process_time() - c0
        if ch is None:
            break
        frames += ch.valid.size
        dropped += int((~ch.valid).sum())
        missing.append(float((ch.depth_mm[:, :, ::4, ::4][ch.valid] == 0).mean()) if ch.valid.any() else 0.0)
    return {
        "camera_frames": frames,
        "dropped": dropped,
        "missing_px": float(np.mean(missing)),
        "render_s": wall,
        "render_cpu_s": cpu,
    }


def render_all(seed: int, chunk_s: float, limit: int | None) -> tuple[list[dict[str, Any]], float, int]:
    """Simulate and render the dev recordings; return the rows, the simulation seconds and the units."""
    store = load_embedded_store()
    runs = simulate_aifi(embedded_store_dir() / "ground_truth_dev.json", store, seed=seed)
    rows: list[dict[str, Any]] = []
    t_sim = 0.0
    with progress() as bar:
        task = bar.add_task("rendering", total=limit or 34, name="")
        while limit is None or len(rows) < limit:
            t0 = time.perf_counter()
            rec, truth = next(runs, (None, None))
            t_sim += time.perf_counter() - t0
            if rec is None or truth is None:
                break
            assert isinstance(rec.depth, SimDepthSource)
            row = {"recording": truth.recording, "duration_s": rec.meta.duration_s, "shoppers": len(truth.shoppers)}
            rows.append(row | render_one(rec.depth, chunk_s))
            bar.update(task, advance=1, name=truth.recording)
    return rows, t_sim, sum(c.kind == "depth" for c in store.cameras)


def summarise(rows: list[dict[str, Any]], t_sim: float, chunk_s: float) -> dict[str, Any]:
    """Totals over the recordings, and whether the target is met."""
    frames = sum(r["camera_frames"] for r in rows)
    wall = sum(r["render_s"] for r in rows)
    return {
        "recordings": len(rows),
        "recording_s": round(sum(r["duration_s"] for r in rows), 2),
        "camera_frames": frames,
        "dropped_frames": sum(r["dropped"] for r in rows),
        "render_s": round(wall, 3),
        "render_cpu_s": round(sum(r["render_cpu_s"] for r in rows), 3),
        "camera_frames_per_s": round(frames / wall, 1),
        "missing_px": round(float(np.mean([r["missing_px"] for r in rows])), 4),
        "simulate_s": round(t_sim, 3),
        "chunk_s": chunk_s,
        "target_render_s": TARGET_WALL_S,
        "target_met": wall <= TARGET_WALL_S,
    }


def print_table(rows: list[dict[str, Any]], summary: dict[str, Any], units: int) -> None:
    table = Table(title=f"Depth rendering, {len(rows)} AiFi dev recordings, {units} depth units")
    for col in ("recording", "duration s", "shoppers", "camera-frames", "missing px", "render s", "frames/s"):
        table.add_column(col, justify="right")
    for r in rows:
        fps = r["camera_frames"] / r["render_s"]
        cells = (f"{r['duration_s']:.1f}", str(r["shoppers"]), str(r["camera_frames"]), f"{r['missing_px']:.3f}")
        table.add_row(r["recording"], *cells, f"{r['render_s']:.2f}", f"{fps:.0f}")
    s = summary
    cells = (f"{s['recording_s']:.1f}", "", str(s["camera_frames"]), f"{s['missing_px']:.3f}", f"{s['render_s']:.2f}")
    table.add_row("[bold]total", *cells, f"{s['camera_frames_per_s']:.0f}")
    console.print(table)
    mark = "[green]met[/]" if s["target_met"] else "[bold red]MISSED[/]"
    console.print(
        f"{s['camera_frames']} camera-frames in {s['render_s']:.2f} s = {s['camera_frames_per_s']:.0f} frames/s "
        f"(target <= {TARGET_WALL_S:g} s: {mark}; CPU {s['render_cpu_s']:.2f} s); "
        f"simulating plates and tracks took {s['simulate_s']:.2f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0, help="batch seed (default 0)")
    ap.add_argument("--chunk-s", type=float, default=1.0, help="chunk length in seconds (default 1.0)")
    ap.add_argument("--limit", type=int, default=None, help="render only the first N recordings")
    ap.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    args = ap.parse_args()

    print_machine()
    rows, t_sim, units = render_all(args.seed, args.chunk_s, args.limit)
    summary = summarise(rows, t_sim, args.chunk_s)
    print_table(rows, summary, units)
    for r in rows:
        r["render_s"], r["render_cpu_s"] = round(r["render_s"], 3), round(r["render_cpu_s"], 3)
    path = write_result("render", {"recordings": rows, "summary": summary})
    console.print(f"written {path}")
    if args.check and not summary["target_met"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
