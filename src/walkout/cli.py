"""The ``walkout`` command line (Typer + Rich).

Commands: ``demo`` (the main job), ``replay``, ``simulate``, ``run``, ``evaluate``,
``calibration-overlay`` (real frames) and ``render`` (the vision debug view).
Bad input prints one clear line naming the file or field and exits with code 2; never a traceback.
"""

from __future__ import annotations

import logging
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from walkout.core.errors import WalkoutError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="walkout: a Just Walk Out engine.")
console = Console()
err = Console(stderr=True)


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
    return typer.Exit(code=2)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[name]}"), console=console, transient=False,
    )


def _count_recordings(gt_path: Path, store_name: str = "aifi-nanostore") -> int:
    """Validate an AiFi ground-truth file up front (before any progress bar) and count its recordings."""
    from walkout.io import load_store
    from walkout.sim import load_aifi_scenarios

    return len(load_aifi_scenarios(gt_path, load_store(store_name)))


def _replay(gt_path: Path, store_name: str, seed: int, out: Path | None, db_url: str, show_receipts: bool,
            people: str = "tracker") -> dict:
    from walkout.engine.params import EngineParams
    from walkout.eval import f1_table, receipt_panel
    from walkout.eval.scoring import expected_items
    from walkout.io import load_store
    from walkout.replay import replay_ground_truth

    store = load_store(store_name)
    total = _count_recordings(gt_path, store_name)
    receipts_to_show = []
    with _progress() as progress:
        task = progress.add_task("replaying", total=total, name="")

        def tick(rec, truth, result) -> None:
            progress.update(task, advance=1, name=rec.meta.name)
            if show_receipts:
                keys = {s.token: s.key for s in truth.shoppers}
                tokens = {s.session_id: s.token for s in result.sessions}
                for r in result.receipts:
                    key = keys.get(tokens.get(r.session_id, ""))
                    expected = expected_items(truth, key) if key is not None else None
                    receipts_to_show.append((rec.meta.name, r, key, expected))

        t0 = time.perf_counter()
        outcome = replay_ground_truth(gt_path, store, seed=seed, db_url=db_url, on_recording=tick,
                                      trace_dir=out / "traces" if out is not None else None,
                                      params=EngineParams(people=people))  # type: ignore[arg-type]
        wall = time.perf_counter() - t0
    report = outcome.report
    report["timings_s"]["wall"] = round(wall, 3)
    if show_receipts:
        current = None
        for name, r, key, expected in receipts_to_show:
            if name != current:
                console.rule(f"[bold]{escape(name)}")
                current = name
            console.print(receipt_panel(r, store, key))
            console.print(_verdict(r.quantities(), expected, store))
    console.print(f1_table(outcome.score))
    ov = report["overall"]
    console.print(
        f"[bold]overall[/] precision {ov['precision']:.4f}  recall {ov['recall']:.4f}  [bold]F1 {ov['f1']:.4f}[/]  "
        f"events P {ov['event_precision']:.4f} R {ov['event_recall']:.4f}  ·  "
        f"{len(report['review'])} decisions for review  ·  wall {wall:.1f} s "
        f"(simulate {report['timings_s']['simulate']:.1f}, engine {report['timings_s']['engine']:.1f}, "
        f"evaluate {report['timings_s']['evaluate']:.1f})"
    )
    if "tracking" in report:
        tr = report["tracking"]
        console.print(
            f"[bold]people (vision)[/] HOTA {tr['hota']:.3f}  MOTA {tr['mota']:.3f}  IDF1 {tr['idf1']:.3f}  "
            f"ID switches {tr['id_switches']}  hand error median {_cm(tr['hand_median_cm'])} "
            f"p95 {_cm(tr['hand_p95_cm'])} ({tr['hands_compared']} hands)"
        )
    if report["errors"]:
        from walkout.eval import errors_table
        from walkout.eval.diagnosis import ReceiptError

        console.print(errors_table([ReceiptError(**e) for e in report["errors"]]))
    if out is not None:
        from walkout.eval import write_report

        path = write_report(report, out)
        console.print(f"report written to [bold]{path}[/] (and {out / 'f1_per_recording.png'})")
        if outcome.traces:
            console.print(f"{len(outcome.traces)} weight trace(s) of wrong receipt lines in {out / 'traces'}")
    return report


class PeopleSource(StrEnum):
    """Where the engine gets people from."""

    vision = "vision"
    tracker = "tracker"


def _cm(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1f} cm"


def _verdict(charged: dict[str, int], expected: dict[str, int] | None, store) -> str:
    """One line under a receipt: does it match what the shopper really left with?"""
    if expected is None:
        return "[yellow]? no shopper in the ground truth for this receipt[/]"
    if charged == expected:
        return "[green]✓ matches what the shopper took[/]"
    names = store.product_by_upc
    diff = []
    for upc in sorted(set(charged) | set(expected)):
        d = charged.get(upc, 0) - expected.get(upc, 0)
        if d:
            diff.append(f"{'+' if d > 0 else ''}{d} {escape(names[upc].name if upc in names else upc)}")
    return "[red]✗ differs from what the shopper took: " + ", ".join(diff) + "[/]"


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="simulation seed")] = 0,
    out: Annotated[Path, typer.Option(help="directory for report.json and plots")] = Path("walkout-demo"),
    receipts: Annotated[bool, typer.Option(help="print every shopper's receipt")] = True,
    people: Annotated[PeopleSource, typer.Option(help="where people come from: the ceiling depth units "
                                                 "(vision) or the recording's tracker stream")] = PeopleSource.tracker,
) -> None:
    """The main job: replay every labelled recording of the real AiFi Nanostore through the engine."""
    from walkout.io.store_file import embedded_store_dir

    try:
        _replay(embedded_store_dir() / "ground_truth_dev.json", "aifi-nanostore", seed, out, "sqlite://", receipts,
                people.value)
    except (WalkoutError, ValueError) as exc:
        raise _fail(exc) from None


@app.command()
def replay(
    ground_truth: Annotated[Path, typer.Argument(help="AiFi-format ground-truth JSON file")],
    seed: Annotated[int, typer.Option(help="simulation seed")] = 0,
    out: Annotated[Path, typer.Option(help="directory for report.json")] = Path("walkout-replay"),
    store: Annotated[str, typer.Option(help="embedded store name, AiFi store dir or walkout store file")] = "aifi-nanostore",
    db: Annotated[str, typer.Option(help="SQLAlchemy database URL")] = "sqlite://",
    receipts: Annotated[bool, typer.Option(help="print every shopper's receipt")] = False,
    people: Annotated[PeopleSource, typer.Option(help="where people come from: the ceiling depth units "
                                                 "(vision) or the recording's tracker stream")] = PeopleSource.tracker,
) -> None:
    """Replay an AiFi-format ground-truth file: simulate, run the engine, score; writes OUT/report.json."""
    try:
        _replay(ground_truth, store, seed, out, db, receipts, people.value)
    except (WalkoutError, ValueError) as exc:
        raise _fail(exc) from None


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="output directory for recordings and truth files")],
    ground_truth: Annotated[Path | None, typer.Option(help="AiFi-format ground truth to replay")] = None,
    shoppers: Annotated[int, typer.Option(min=0, help="random scenario: number of shoppers")] = 0,
    duration: Annotated[float, typer.Option(min=0.0, help="random scenario: duration, seconds")] = 180.0,
    seed: Annotated[int, typer.Option(help="simulation seed")] = 0,
    store: Annotated[str, typer.Option(help="store")] = "aifi-nanostore",
) -> None:
    """Simulate recordings (AiFi label replays, or a random scenario with --shoppers N).

    Writes OUT/<name>/ (the recording) and OUT/<name>.truth.json (ground truth, for evaluate only).
    """
    from walkout.eval.truth import write_truth
    from walkout.io import load_store, write_recording
    from walkout.sim import random_scenario, simulate_aifi
    from walkout.sim import simulate as sim_one

    try:
        st = load_store(store)
        if shoppers > 0:
            pairs = iter([sim_one(random_scenario(st, shoppers, duration, seed), st, seed)])
            total = 1
        else:
            from walkout.io.store_file import embedded_store_dir

            gt = ground_truth or embedded_store_dir() / "ground_truth_dev.json"
            total = _count_recordings(gt, store)
            pairs = simulate_aifi(gt, st, seed)
        out.mkdir(parents=True, exist_ok=True)
        with _progress() as progress:
            task = progress.add_task("simulating", total=total, name="")
            for rec, truth in pairs:
                safe = rec.meta.name.replace("/", "_").replace("#", "_")
                write_recording(rec, out / safe)
                write_truth(truth, out / f"{safe}.truth.json")
                progress.update(task, advance=1, name=rec.meta.name)
        console.print(f"wrote {total} recording(s) to [bold]{out}[/]")
    except (WalkoutError, ValueError) as exc:
        raise _fail(exc) from None


@app.command()
def run(
    recording: Annotated[list[Path], typer.Argument(help="recording directories")],
    out: Annotated[Path, typer.Option(help="directory for <name>.result.json")] = Path("walkout-run"),
    db: Annotated[str, typer.Option(help="SQLAlchemy database URL")] = "sqlite://",
) -> None:
    """Run the engine on recordings; prints receipts and rejections, writes results."""
    from walkout.engine.loop import Engine
    from walkout.engine.serialize import write_result
    from walkout.eval import receipt_panel
    from walkout.io import read_recording
    from walkout.replay import DbAccounts, open_database

    try:
        recordings = [read_recording(path) for path in recording]
        with open_database(db) as database:
            engine = Engine(DbAccounts(database), storage=database)
            out.mkdir(parents=True, exist_ok=True)
            for path, rec in zip(recording, recordings, strict=True):
                result = engine.run(rec)
                console.rule(f"[bold]{escape(rec.meta.name)}")
                tokens = {x.session_id: x.token for x in result.sessions}
                for r in result.receipts:
                    account = database.account_by_token(tokens.get(r.session_id, ""))
                    console.print(receipt_panel(r, rec.store, account.name if account else r.account_id))
                for reason, n in result.rejections.items():
                    console.print(f"[yellow]rejected[/] {n} × {escape(reason)}")
                dest = write_result(result, out / f"{path.name}.result.json")
                console.print(f"result written to {dest}")
    except (WalkoutError, ValueError) as exc:
        raise _fail(exc) from None


@app.command()
def evaluate(
    recordings: Annotated[Path, typer.Argument(help="directory with <name>.truth.json files (from simulate)")],
    results: Annotated[Path, typer.Argument(help="directory with <name>.result.json files (from run)")],
    out: Annotated[Path, typer.Option(help="directory for report.json")] = Path("walkout-eval"),
    store: Annotated[str, typer.Option(help="store")] = "aifi-nanostore",
) -> None:
    """Score engine results against ground truth; prints the F1 table and writes OUT/report.json."""
    from walkout.engine.serialize import read_result
    from walkout.eval import build_report, f1_table, score_run, write_report
    from walkout.eval.truth import read_truth
    from walkout.io import load_store

    try:
        st = load_store(store)
        pairs = []
        for tp in sorted(recordings.glob("*.truth.json")):
            rp = results / tp.name.replace(".truth.json", ".result.json")
            if not rp.exists():
                raise WalkoutError(f"{rp}: no result for {tp.name} (run `walkout run` first)")
            pairs.append((read_truth(tp), read_result(rp)))
        if not pairs:
            raise WalkoutError(f"{recordings}: no *.truth.json files")
        score = score_run(pairs, st)
        report = build_report(score, [r for _, r in pairs], [t for t, _ in pairs], st)
        console.print(f1_table(score))
        console.print(f"report written to {write_report(report, out)}")
    except (WalkoutError, ValueError) as exc:
        raise _fail(exc) from None


DEFAULT_FRAMES_DIR = Path("../shared/data/aifi-nanostore/camera_frames")


def _parse_camera_map(entries: list[str] | None) -> dict[str, str]:
    """``["3=5", "4=6"]`` -> ``{"3": "5", "4": "6"}``; ``["aifi"]`` -> the measured AiFi frame map."""
    from walkout.eval.calibration import AIFI_FRAME_CAMERAS

    out: dict[str, str] = {}
    for entry in entries or []:
        if entry.strip().lower() == "aifi":
            out.update(AIFI_FRAME_CAMERAS)
            continue
        frame, sep, camera = entry.partition("=")
        if not sep or not frame.strip() or not camera.strip():
            raise WalkoutError(f"--camera-map {entry!r}: expected FRAME=CAMERA (e.g. 4=6) or 'aifi'")
        out[frame.strip()] = camera.strip()
    return out


@app.command("calibration-overlay")
def calibration_overlay(
    frames: Annotated[Path, typer.Option(help="directory with camera_<id>.png frames")] = DEFAULT_FRAMES_DIR,
    out: Annotated[Path, typer.Option(help="directory for camera_<id>_overlay.png")] = Path("walkout-calibration"),
    store: Annotated[str, typer.Option(help="embedded store name, AiFi store dir or walkout store file")] = "aifi-nanostore",
    camera_map: Annotated[
        list[str] | None,
        typer.Option(help="FRAME=CAMERA: frame camera_FRAME.png was taken by camera CAMERA (repeatable); "
                     "'aifi' = the measured map of the AiFi frames (3..8 -> 5..10)"),
    ] = None,
    plates: Annotated[bool, typer.Option(help="draw the plate rectangles")] = True,
) -> None:
    """Project the store's gondolas, shelves and plates into real camera frames (checks the calibration)."""
    from rich.table import Table

    from walkout.eval.calibration import write_overlays
    from walkout.io import load_store

    try:
        mapping = _parse_camera_map(camera_map)
        results = write_overlays(frames, out, load_store(store), mapping, plates)
    except (WalkoutError, ValueError) as exc:
        raise _fail(exc) from None
    table = Table(title=f"Calibration overlays ({escape(store)})")
    for name in ("frame", "camera", "size", "lines", "shelves in view", "overlay"):
        table.add_column(name, justify="right" if name in ("lines", "shelves in view") else "left",
                         overflow="fold" if name == "overlay" else "ellipsis")
    for r in results:
        table.add_row(escape(r.frame.path.name), r.frame.camera_id, f"{r.size_px[0]}x{r.size_px[1]}",
                      str(r.stats.segments_drawn), str(len(r.stats.shelves_in_view)), escape(str(r.out_path)))
    console.print(table)
    console.print(f"wrote {len(results)} overlay(s) to [bold]{escape(str(out))}[/]")


@app.command()
def render(
    recording: Annotated[str, typer.Argument(help="name of a recording in the ground-truth file, e.g. BASELINE-8")],
    out: Annotated[Path, typer.Option(help="output directory: OUT/<camera>/<frame>.png or OUT/<camera>.mp4")],
    ground_truth: Annotated[Path | None, typer.Option(help="AiFi-format ground truth (default: the embedded "
                                                      "AiFi dev file)")] = None,
    seed: Annotated[int, typer.Option(help="simulation seed (as for replay)")] = 0,
    camera: Annotated[list[str] | None, typer.Option(help="depth camera id, e.g. 25-depth or 25 (repeatable; "
                                                     "default: every depth camera)")] = None,
    start: Annotated[float, typer.Option(help="window start, seconds into the recording")] = 0.0,
    duration: Annotated[float, typer.Option(help="window length, seconds")] = 5.0,
    fmt: Annotated[str, typer.Option("--format", help="png (one file per frame) or mp4 (one video per camera)")] = "png",
) -> None:
    """Vision debug view: depth and colour frames with blobs, track ids, stick figures and hands drawn on."""
    import dataclasses

    from rich.table import Table

    from walkout.eval.debug_view import mp4_supported, plan_debug_view, write_debug_view
    from walkout.io import load_store
    from walkout.io.store_file import embedded_store_dir

    try:
        gt = ground_truth or embedded_store_dir() / "ground_truth_dev.json"
        job = plan_debug_view(gt, recording, load_store("aifi-nanostore"), seed, camera or [], start, duration, fmt, out)
        if job.fmt == "mp4" and not mp4_supported():
            err.print("[yellow]warning:[/] this OpenCV build cannot write mp4v video; writing PNG frames instead")
            job = dataclasses.replace(job, fmt="png")
        with _progress() as progress:
            seen = progress.add_task("vision", total=job.recording_frames, name=escape(recording))
            drawn = progress.add_task("rendering", total=job.n_frames * len(job.cameras), name="")
            results = write_debug_view(
                job, out, on_vision=lambda t: progress.update(seen, completed=round(t * job.source.fps) + 1),
                on_frame=lambda n: progress.update(drawn, advance=n))
    except (WalkoutError, ValueError) as exc:
        raise _fail(exc) from None
    table = Table(title=f"Vision debug view: {escape(recording)} (seed {seed})")
    for name in ("camera", "frames written", "path"):
        table.add_column(name, justify="right" if name == "frames written" else "left", overflow="fold")
    for r in results:
        table.add_row(escape(r.camera_id), str(r.frames), escape(str(r.path)))
    console.print(table)


def main() -> None:  # pragma: no cover - console entry
    logging.basicConfig(level=logging.ERROR)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
