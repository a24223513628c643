"""The ``walkout`` command line (Typer + Rich).

Commands: ``demo`` (the main job), ``replay``, ``simulate``, ``run``, ``evaluate``,
``calibration-overlay`` (real frames) and ``render`` (the vision debug view); store operations:
``purge`` (retention), ``erase-account`` (GDPR Art. 17) and ``inventory``; ``serve`` (the REST API).
Bad input prints one clear line naming the file or field and exits with code 2; never a traceback.
"""

from __future__ import annotations

import logging
import math
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
                                      mail_dir=_fresh_maildir(out / "mail") if out is not None else None,
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
        f"{len(report['review'])} decisions for review "
        f"({report['sessions_reviewed_share']:.1%} of sessions)  ·  wall {wall:.1f} s "
        f"(simulate {report['timings_s']['simulate']:.1f}, engine {report['timings_s']['engine']:.1f}, "
        f"evaluate {report['timings_s']['evaluate']:.1f})"
    )
    co = report["checkout"]
    mail = co["receipt_emails"]
    console.print(
        f"[bold]checkout[/] {sum(co['sessions'].values())} sessions finalized "
        f"({', '.join(f'{n} {s}' for s, n in sorted(co['sessions'].items()))}), "
        f"{co['charged_cents'] / 100:.2f} {store.currency} charged, receipt e-mails: {mail['sent']} sent"
        + (f" to {out / 'mail'}" if out is not None else "") + f", {mail['queued']} queued"
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


def _fresh_maildir(path: Path) -> Path:
    """``path``, emptied if it is a Maildir from an earlier run (any other existing path is kept)."""
    import shutil

    if path.is_dir() and {p.name for p in path.iterdir()} <= {"cur", "new", "tmp"}:
        shutil.rmtree(path)
    return path


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="simulation seed")] = 0,
    out: Annotated[Path, typer.Option(help="directory for report.json and plots")] = Path("walkout-demo"),
    receipts: Annotated[bool, typer.Option(help="print every shopper's receipt")] = True,
    people: Annotated[PeopleSource, typer.Option(help="where people come from: the ceiling depth units "
                                                 "(vision) or the recording's tracker stream")] = PeopleSource.tracker,
    live: Annotated[bool, typer.Option(help="run the store live: the simulator publishes over MQTT in real time, "
                                       "the engine follows, the apps are served")] = False,
    speed: Annotated[float, typer.Option(min=0.1, help="--live: recording seconds per wall second")] = 1.0,
    host: Annotated[str, typer.Option(help="--live: interface to serve on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="--live: port to serve on")] = 8000,
    mosquitto: Annotated[bool, typer.Option(help="--live: use Mosquitto when installed (else in-process)")] = True,
) -> None:
    """The main job: replay every labelled recording of the real AiFi Nanostore through the engine.

    With --live: serve the manager dashboard and the customer app at http://HOST:PORT while the
    recordings play in real time through MQTT, one store day after the other (Ctrl-C stops).
    """
    from walkout.io.store_file import embedded_store_dir

    if live:
        _live_demo(embedded_store_dir() / "ground_truth_dev.json", seed, out, speed, host, port, mosquitto)
        return
    try:
        _replay(embedded_store_dir() / "ground_truth_dev.json", "aifi-nanostore", seed, out, "sqlite://", receipts,
                people.value)
    except (WalkoutError, ValueError) as exc:
        raise _fail(exc) from None


def _live_demo(gt_path: Path, seed: int, out: Path, speed: float, host: str, port: int, mosquitto: bool) -> None:
    import signal
    import threading

    from walkout.io import load_embedded_store
    from walkout.livedemo import (
        DEMO_MANAGER_EMAIL,
        DEMO_MANAGER_PASSWORD,
        live_recordings,
        publish_days,
        start_live_demo,
    )

    try:
        store = load_embedded_store()
        demo = start_live_demo(store, out, host=host, port=port, use_mosquitto=mosquitto)
    except (WalkoutError, ValueError, OSError) as exc:
        raise _fail(exc) from None
    console.print(f"[bold]walkout live[/] — devices publish through {escape(demo.transport)}")
    console.print(f"  manager dashboard: {demo.url}/dashboard.html  ({DEMO_MANAGER_EMAIL} / {DEMO_MANAGER_PASSWORD})")
    console.print(f"  customer app:      {demo.url}/app.html  (sign up, then watch the shoppers)")
    console.print(f"  API docs:          {demo.url}/docs    receipts e-mailed to {out / 'mail'}")
    stop = threading.Event()
    device, token = demo.device
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))  # stop cleanly
    try:
        days = publish_days(live_recordings(gt_path, store, seed), demo.publisher_transport, device=device, token=token,
                            speed=speed, stop=stop)
        console.print(f"{days} store days played; still serving (Ctrl-C stops)")
        while True:
            time.sleep(1.0)
    except KeyboardInterrupt:
        stop.set()
    finally:
        demo.close()


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
    associates: Annotated[int, typer.Option(min=0, help="random scenario: associates restocking meanwhile")] = 0,
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
            pairs = iter([sim_one(random_scenario(st, shoppers, duration, seed, associates=associates), st, seed)])
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
    from walkout.engine.desk import entry_desk
    from walkout.engine.loop import Engine
    from walkout.engine.serialize import write_result
    from walkout.eval import receipt_panel
    from walkout.io import read_recording
    from walkout.io.mail import MaildirSender
    from walkout.operations.checkout import Checkout
    from walkout.operations.ledger import LedgerProvider
    from walkout.replay import open_database

    try:
        recordings = [read_recording(path) for path in recording]
        with open_database(db) as database:
            engine = Engine(entry_desk(database), storage=database)
            out.mkdir(parents=True, exist_ok=True)
            mailer = MaildirSender(_fresh_maildir(out / "mail"))
            for path, rec in zip(recording, recordings, strict=True):
                result = engine.run(rec)
                Checkout(database, rec.store, LedgerProvider(database), mailer).finalize_due(math.inf)
                console.rule(f"[bold]{escape(rec.meta.name)}")
                for r in result.receipts:
                    account = database.account(r.account_id)
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


# ---------------------------------------------------------------- store operations: privacy and inventory
def _ops_database(url: str):
    """Open an existing walkout database and migrate it to the current schema.

    Raises:
        WalkoutError: a SQLite file that does not exist, or a database without walkout tables.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from walkout.engine.db import Database

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise WalkoutError(f"--db {url!r} is not a database URL: {exc}") from None
    shown = parsed.render_as_string(hide_password=True)
    path = parsed.database
    if parsed.get_backend_name() == "sqlite" and path not in (None, "", ":memory:") and not Path(path).exists():
        raise WalkoutError(f"--db {shown}: no such database file")
    database = Database(url)
    try:
        if database.revision() is None:
            raise WalkoutError(f"--db {shown}: no walkout tables there (an empty or foreign database)")
        database.upgrade()
    except WalkoutError:
        database.dispose()
        raise
    return database


def _parse_now(text: str | None):
    """``--now`` as an aware datetime (default: the current time, UTC)."""
    from datetime import UTC, datetime

    if text is None:
        return datetime.now(UTC)
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise WalkoutError(f"--now {text!r} is not an ISO 8601 time (e.g. 2030-01-01T00:00:00+00:00)") from None
    if t.tzinfo is None:
        raise WalkoutError(f"--now {text!r} has no time zone (add +00:00 or Z)")
    return t


@app.command("purge")
def purge_command(
    db: Annotated[str, typer.Option(help="SQLAlchemy database URL of an existing walkout database")],
    now: Annotated[str | None, typer.Option(help="ISO 8601 time retention is counted back from "
                                            "(default: now)")] = None,
    debug_dir: Annotated[Path | None, typer.Option(help="directory of debug frames (files older than 7 days "
                                                   "are deleted)")] = None,
) -> None:
    """Delete data past its retention (docs/privacy.md) and print how many rows and files went."""
    from rich.table import Table

    from walkout.operations.privacy import purge

    try:
        t = _parse_now(now)
        database = _ops_database(db)
        try:
            report = purge(database, now=t, debug_dir=debug_dir)
        finally:
            database.dispose()
    except (WalkoutError, ValueError) as exc:
        raise _fail(exc) from None
    table = Table(title="Purged")
    table.add_column("table")
    table.add_column("rows deleted", justify="right")
    for name, n in report.deleted.items():
        table.add_row(name, str(n))
    table.add_row("debug files", str(report.debug_files))
    console.print(table)
    console.print(f"{report.total} rows and files deleted; {sum(report.unlinked.values())} references unlinked "
                  f"(retention counted back from {report.now.isoformat(timespec='seconds')})")


@app.command("erase-account")
def erase_account_command(
    account_id: Annotated[str, typer.Argument(help="the account to erase (GDPR Art. 17)")],
    db: Annotated[str, typer.Option(help="SQLAlchemy database URL of an existing walkout database")],
) -> None:
    """Erase an account's personal data; its receipts and payments stay, anonymised (docs/privacy.md)."""
    from walkout.operations.privacy import erase_account

    try:
        database = _ops_database(db)
        try:
            report = erase_account(database, account_id)
        finally:
            database.dispose()
    except (WalkoutError, ValueError) as exc:
        raise _fail(exc) from None
    when = report.erased_at.isoformat(timespec="seconds")
    if report.already_erased:
        console.print(f"account {escape(account_id)} was already erased at {when}; nothing changed")
        return
    deleted = ", ".join(f"{n} {name}" for name, n in report.deleted.items() if n) or "no rows"
    console.print(f"account {escape(account_id)} erased at {when}: deleted {deleted}; "
                  f"{sum(report.anonymised.values())} value(s) anonymised")


@app.command()
def inventory(
    db: Annotated[str, typer.Option(help="SQLAlchemy database URL of an existing walkout database")],
    low: Annotated[bool, typer.Option("--low", help="only products at or below their low-stock threshold")] = False,
    store: Annotated[str, typer.Option(help="store whose catalogue names the products")] = "aifi-nanostore",
) -> None:
    """Live stock per product: units, plates, threshold (a Rich table)."""
    from rich.table import Table

    from walkout.io import load_store
    from walkout.operations import inventory as inv

    try:
        names = {p.upc: p.name for p in load_store(store).products}
        database = _ops_database(db)
        try:
            products = inv.low_stock(database) if low else inv.product_stock(database)
        finally:
            database.dispose()
    except (WalkoutError, ValueError) as exc:
        raise _fail(exc) from None
    table = Table(title="Low stock" if low else "Stock")
    for name in ("UPC", "product", "units", "plates", "threshold", ""):
        table.add_column(name, justify="right" if name in ("units", "threshold") else "left")
    for p in products:
        threshold = "" if p.threshold is None else str(p.threshold)
        table.add_row(p.upc, escape(names.get(p.upc, "?")), str(p.units), " ".join(p.plates), threshold,
                      "[bold red]low[/]" if p.low else "")
    console.print(table)
    console.print(f"{len(products)} product(s)")


# ---------------------------------------------------------------- the REST service
def _serve_database(db: str, manager_email: str | None, manager_password: str | None, manager_name: str,
                    settings) -> str:
    """Migrate the database, seed the demo accounts (once) and create the manager if asked; says what it did."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from walkout.replay import open_database
    from walkout.service.auth import Passwords, account_by_email, create_manager

    try:
        parsed = make_url(db)
    except ArgumentError as exc:
        raise WalkoutError(f"--db {db!r} is not a database URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise WalkoutError("--db: an in-memory SQLite database cannot be shared by the server's threads; "
                           "use a file, e.g. sqlite:///walkout.db")
    if (manager_email is None) != (manager_password is None):
        raise WalkoutError("--manager-email and --manager-password go together")
    with open_database(db) as database:
        if manager_email is None or manager_password is None:
            return "no manager requested"
        existing = account_by_email(database, manager_email)
        if existing is not None:
            if existing.role != "manager":
                raise WalkoutError(f"--manager-email {manager_email}: already registered as {existing.role}")
            return f"manager {existing.account_id} ({manager_email}) already exists"
        made = create_manager(database, Passwords(settings.password_hash), email=manager_email,
                              password=manager_password, name=manager_name)
        return f"manager {made.account_id} ({manager_email}) created"


@app.command()
def serve(
    db: Annotated[str, typer.Option(help="SQLAlchemy database URL (migrated and seeded at start)")] = "sqlite:///walkout.db",
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
    manager_email: Annotated[str | None, typer.Option(help="create a manager account with this e-mail "
                                                      "(once)")] = None,
    manager_password: Annotated[str | None, typer.Option(envvar="WALKOUT_MANAGER_PASSWORD",
                                                         help="the manager's password (8+ characters)")] = None,
    manager_name: Annotated[str, typer.Option(help="the manager's display name")] = "Manager",
    static_dir: Annotated[Path | None, typer.Option(help="frontend directory served at / (default: the "
                                                    "packaged one)")] = None,
    cors_origin: Annotated[list[str] | None, typer.Option(help="an origin allowed to call the API from a "
                                                          "browser (repeatable)")] = None,
    mqtt: Annotated[str | None, typer.Option(help="HOST:PORT of the MQTT broker the store's devices publish to: "
                                             "the live engine subscribes and pushes to /ws/*")] = None,
) -> None:
    """Run the REST API (docs at /docs), the live WebSockets and the frontend with uvicorn.

    At start: migrates the database, seeds the demo accounts and cards and creates the manager (each once).
    With --mqtt, the live engine follows the devices (docs/mqtt.md) and pushes to the apps.
    """
    import uvicorn

    from walkout.service import Settings, create_app
    from walkout.service.live import LiveBus, make_router

    try:
        options: dict = {"db_url": db, "cors_origins": tuple(cors_origin or ())}
        if static_dir is not None:
            if not static_dir.is_dir():
                raise WalkoutError(f"--static-dir {static_dir}: no such directory")
            options["static_dir"] = static_dir
        settings = Settings(**options)
        done = _serve_database(db, manager_email, manager_password, manager_name, settings)
    except (WalkoutError, ValueError) as exc:
        raise _fail(exc) from None
    bus = LiveBus()
    side = None
    if mqtt is not None:
        try:
            side = _live_ingest(mqtt, settings, bus)
        except (WalkoutError, ValueError, OSError) as exc:
            raise _fail(exc) from None
        console.print(f"live engine subscribed to mqtt://{escape(mqtt)} (topics walkout/{escape(settings.store.name)}/#)")
    console.print(f"database ready ({escape(done)}); serving on http://{host}:{port} (API docs at /docs)")
    try:
        uvicorn.run(create_app(settings, extra_routers=[lambda ctx: make_router(bus, ctx.authenticate)]), host=host,
                    port=port, log_level="info")
    finally:
        if side is not None:
            side.stop()


def _live_ingest(mqtt: str, settings, bus):  # noqa: ANN001, ANN202 - lazily imported types
    """The live engine subscribed to the broker at ``mqtt`` ("host:port"), publishing to ``bus``."""
    from walkout.engine.db import Database
    from walkout.io.mqtt.transport import PahoTransport
    from walkout.livedemo import LiveStore
    from walkout.service.auth import verify_device

    host_, _, port_ = mqtt.rpartition(":")
    if not host_ or not port_.isdigit():
        raise ValueError(f"--mqtt {mqtt!r}: expected HOST:PORT")
    db = Database(settings.db_url)
    transport = PahoTransport(host_, int(port_), client_id="walkout-serve")
    return LiveStore(settings.store, db, bus, transport, lambda d, t: verify_device(db, d, t)).start()


def main() -> None:  # pragma: no cover - console entry
    logging.basicConfig(level=logging.ERROR)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
