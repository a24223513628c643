"""The ``walkout`` command line, end to end through Typer's CliRunner.

simulate -> run -> evaluate on a tiny AiFi-format ground-truth file, replay's report and its
determinism, bad input (one ``error:`` line naming the file, exit code 2, never a traceback),
counted rejections of row-level bad data, and a file database left behind by ``run``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import Result
from typer.testing import CliRunner

from walkout.cli import app
from walkout.engine.db import Database
from walkout.engine.serialize import read_result

# Products and plates taken from walkout/data/aifi-nanostore/ground_truth_dev.json.
TACO_FIRE = ("071063437089", "Taco Bell Fire", 105.53, (2, 5, [4, 5]))
FIJI_05 = ("632565000012", "FIJI WATER .5 LTR", 538.0, (1, 5, [10]))
JALAPENO = ("084114115881", "Kettle Chips Jalapeno", 62.3, (2, 6, [8, 9]))
PEACH_RINGS = ("835144008984", "Peach Rings", 270.67, (1, 1, [5, 6]))
GATOR = ("083791126074", "Gator - Tators Potato Chips", 80.1, (2, 4, [5, 6]))
CHILI_MANGO = ("835144009066", "Chili Mango", 244.0, (3, 5, [4, 5]))

# (dataset, [(product, putback, target_id), ...])
TINY = [
    ("tiny-1", [(TACO_FIRE, 0, "111"), (FIJI_05, 0, "111")]),
    ("tiny-2", [(JALAPENO, 0, "222"), (PEACH_RINGS, 0, "333"), (GATOR, 0, "222"), (GATOR, 1, "222")]),
    ("tiny-3", [(CHILI_MANGO, 0, "444")]),
]
NAMES = [name for name, _ in TINY]
REPORT_OVERALL = {"precision", "recall", "f1", "event_precision", "event_recall"}
REPORT_RECORDING = {"name", "precision", "recall", "f1", "receipts"}

runner = CliRunner()


def aifi_ground_truth(recordings: list[tuple[str, list[tuple[Any, int, str]]]]) -> dict[str, Any]:
    """An AiFi AutoCheckout ground-truth document (the ``{"lists": [...]}`` format)."""
    lists = []
    for dataset, events in recordings:
        rows = []
        for k, ((upc, name, weight, (gondola, shelf, plates)), putback, target) in enumerate(events, start=1):
            rows.append(
                {
                    "eventID": k,
                    "putback": putback,
                    "observation": {
                        "position": {"gondola": gondola, "shelf": shelf, "plates": plates},
                        "products": [{"id": upc, "name": name, "weight": weight}],
                        "target_id": target,
                    },
                }
            )
        lists.append({"dataset": dataset, "range": "", "events": rows})
    return {"lists": lists}


def invoke(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def ok(*args: str | Path) -> Result:
    result = invoke(*args)
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.exception!r}\n{result.output}"
    return result


def unwrapped(text: str) -> str:
    """Console output with line breaks removed (Rich wraps long lines at the console width)."""
    return "".join(text.splitlines())


@pytest.fixture(scope="module")
def tiny_gt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gt") / "tiny.json"
    path.write_text(json.dumps(aifi_ground_truth(TINY)))
    return path


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory, tiny_gt: Path) -> Path:
    """``walkout simulate`` of the tiny file (shared, read-only: copy before changing a file)."""
    out = tmp_path_factory.mktemp("sim") / "D"
    ok("simulate", "--out", out, "--ground-truth", tiny_gt, "--seed", "0")
    return out


def copy_recording(simulated: Path, name: str, dest: Path) -> Path:
    return Path(shutil.copytree(simulated / name, dest / name))


# ---------------------------------------------------------------- simulate -> run -> evaluate
def test_simulate_writes_recordings_and_truth_files(simulated: Path) -> None:
    for name in NAMES:
        assert {p.name for p in (simulated / name).iterdir()} == {
            "recording.json",
            "plates.parquet",
            "scans.parquet",
            "people.parquet",
        }
        truth = json.loads((simulated / f"{name}.truth.json").read_text())
        assert truth["recording"] == name
    assert sorted(p.name for p in simulated.glob("*.truth.json")) == [f"{n}.truth.json" for n in NAMES]


def test_simulate_run_evaluate_scores_the_easy_file_perfectly(simulated: Path, tmp_path: Path) -> None:
    results, evaluation = tmp_path / "R", tmp_path / "E"
    run = ok("run", *(simulated / n for n in NAMES), "--out", results)
    for name in NAMES:
        assert (results / f"{name}.result.json").is_file()
    assert "TOTAL" in run.output and "Taco Bell Fire" in run.output and "Chili Mango" in run.output
    assert "Gator" not in run.output  # picked and put back
    ok("evaluate", simulated, results, "--out", evaluation)
    report = json.loads((evaluation / "report.json").read_text())
    assert set(report["overall"]) >= REPORT_OVERALL
    assert report["overall"]["f1"] == 1.0, report["overall"]
    assert [r["name"] for r in report["recordings"]] == NAMES


# ---------------------------------------------------------------- replay
def test_replay_report_shape_and_determinism(tiny_gt: Path, tmp_path: Path) -> None:
    reports = []
    for out in (tmp_path / "O1", tmp_path / "O2"):
        ok("replay", tiny_gt, "--seed", "0", "--out", out)
        reports.append(json.loads((out / "report.json").read_text()))
    first, second = reports
    assert set(first["overall"]) >= REPORT_OVERALL
    assert all(isinstance(first["overall"][k], float) for k in REPORT_OVERALL)
    assert [r["name"] for r in first["recordings"]] == NAMES
    for row in first["recordings"]:
        assert set(row) >= REPORT_RECORDING, row.keys()
        assert isinstance(row["receipts"], list)
    assert isinstance(first["review"], list)
    receipts = [[r["receipts"] for r in rep["recordings"]] for rep in reports]
    assert sum(len(r) for r in receipts[0]) == 4  # one receipt per shopper
    assert receipts[0] == receipts[1]
    assert first["overall"] == second["overall"]


# ---------------------------------------------------------------- bad input
def _missing_gt(tmp: Path, _sim: Path) -> tuple[list[str | Path], str]:
    return ["replay", tmp / "no_such_truth.json", "--out", tmp / "O"], "no_such_truth.json"


def _bad_json_gt(tmp: Path, _sim: Path) -> tuple[list[str | Path], str]:
    (tmp / "broken_truth.json").write_text('{"lists": [{"dataset": ')
    return ["replay", tmp / "broken_truth.json", "--out", tmp / "O"], "broken_truth.json"


def _no_lists_gt(tmp: Path, _sim: Path) -> tuple[list[str | Path], str]:
    (tmp / "listless_truth.json").write_text('{"recordings": []}')
    return ["replay", tmp / "listless_truth.json", "--out", tmp / "O"], "listless_truth.json"


def _bad_json_gt_simulate(tmp: Path, _sim: Path) -> tuple[list[str | Path], str]:
    (tmp / "broken_truth.json").write_text("not json")
    return ["simulate", "--ground-truth", tmp / "broken_truth.json", "--out", tmp / "D"], "broken_truth.json"


def _no_people(tmp: Path, sim: Path) -> tuple[list[str | Path], str]:
    rec = copy_recording(sim, "tiny-1", tmp)
    (rec / "people.parquet").unlink()
    return ["run", rec, "--out", tmp / "R"], "people.parquet"


def _truncated_plates(tmp: Path, sim: Path) -> tuple[list[str | Path], str]:
    rec = copy_recording(sim, "tiny-1", tmp)
    data = (rec / "plates.parquet").read_bytes()
    (rec / "plates.parquet").write_bytes(data[: len(data) // 2])
    return ["run", rec, "--out", tmp / "R"], "plates.parquet"


def _version_99(tmp: Path, sim: Path) -> tuple[list[str | Path], str]:
    rec = copy_recording(sim, "tiny-1", tmp)
    doc = json.loads((rec / "recording.json").read_text())
    doc["version"] = 99
    (rec / "recording.json").write_text(json.dumps(doc))
    return ["run", rec, "--out", tmp / "R"], "recording.json"


def _too_many_shoppers(tmp: Path, _sim: Path) -> tuple[list[str | Path], str]:
    events = [(TACO_FIRE, 0, str(k)) for k in range(61)]  # 60 demo customers
    (tmp / "crowd_truth.json").write_text(json.dumps(aifi_ground_truth([("crowd", events)])))
    return ["replay", tmp / "crowd_truth.json", "--out", tmp / "O"], "crowd_truth.json"


BadInput = Callable[[Path, Path], tuple[list[str | Path], str]]


@pytest.mark.parametrize(
    "make",
    [
        _missing_gt,
        _bad_json_gt,
        _no_lists_gt,
        _bad_json_gt_simulate,
        _no_people,
        _truncated_plates,
        _version_99,
        _too_many_shoppers,
    ],
)
def test_bad_input_exits_2_with_an_error_naming_the_file(make: BadInput, simulated: Path, tmp_path: Path) -> None:
    args, file_name = make(tmp_path, simulated)
    result = invoke(*args)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.output.lstrip().startswith("error:"), result.output
    assert file_name in unwrapped(result.output), result.output


def test_bad_input_error_is_one_line_even_for_a_long_path(tmp_path: Path) -> None:
    path = tmp_path / ("a-rather-long-directory-name-" * 3) / "ground_truth_that_does_not_exist.json"
    result = invoke("replay", path, "--out", tmp_path / "O")
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error:") and str(path) in lines[0]


# ---------------------------------------------------------------- counted rejections
def _rewrite(path: Path, mutate: Callable[[dict[str, np.ndarray]], None]) -> None:
    table = pq.read_table(path)
    cols = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(pa.string())
        cols[name] = col.to_numpy(zero_copy_only=False).copy()
    mutate(cols)
    pq.write_table(pa.table(cols), path)


def test_run_counts_bad_plate_rows_and_still_runs(simulated: Path, tmp_path: Path) -> None:
    rec = copy_recording(simulated, "tiny-1", tmp_path)
    n_plates = len(json.loads((rec / "recording.json").read_text())["store"]["plates"])
    tick = 30 * n_plates  # 0.5 s: before anybody enters; rows are time-major, store plate order

    def spoil(cols: dict[str, np.ndarray]) -> None:
        cols["plate_id"][tick] = "9.9.99"
        cols["mass_g"][tick + 1] = np.nan
        cols["mass_g"][tick + 2] = -400.0
        a, b = tick + 3, tick + 3 + n_plates  # same plate, consecutive ticks: swap their times
        cols["t_s"][a], cols["t_s"][b] = cols["t_s"][b], cols["t_s"][a]

    _rewrite(rec / "plates.parquet", spoil)
    result = ok("run", rec, "--out", tmp_path / "R")
    expected = {
        "plates: unknown plate id": 1,
        "plates: NaN or infinite value": 1,
        "plates: mass below -50 g": 1,
        "plates: timestamp going backwards": 1,
    }
    for reason, n in expected.items():
        assert f"rejected {n} × {reason}" in result.output, result.output
    run = read_result(tmp_path / "R" / "tiny-1.result.json")
    assert {k: run.rejections.get(k) for k in expected} == expected
    assert [r.quantities() for r in run.receipts] == [{TACO_FIRE[0]: 1, FIJI_05[0]: 1}]


def test_run_refuses_a_scan_whose_token_is_forged(simulated: Path, tmp_path: Path) -> None:
    rec = copy_recording(simulated, "tiny-2", tmp_path)
    bad = "not-a-token-of-any-account"
    tokens = pq.read_table(rec / "scans.parquet").column("token").to_pylist()
    assert len(tokens) == 2
    _rewrite(rec / "scans.parquet", lambda c: c["token"].__setitem__(0, bad))
    result = ok("run", rec, "--out", tmp_path / "R")
    assert "scans: refused (forged)" in result.output
    run = read_result(tmp_path / "R" / "tiny-2.result.json")
    assert run.rejections.get("scans: refused (forged)") == 1
    assert [s.token for s in run.sessions] == [tokens[1]]
    assert len(run.receipts) == 1


# ---------------------------------------------------------------- database
def test_run_with_a_file_database_leaves_the_receipts(simulated: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'walkout.db'}"
    ok("run", simulated / "tiny-1", simulated / "tiny-2", "--out", tmp_path / "R", "--db", url)
    receipts = [rc for n in ("tiny-1", "tiny-2") for rc in read_result(tmp_path / "R" / f"{n}.result.json").receipts]
    assert len(receipts) == 3
    db = Database(url)
    try:
        for rc in receipts:  # `walkout run` finalized them: receipt stored, e-mailed to R/mail
            assert db.receipt(rc.session_id) == rc
            assert db.session(rc.session_id).status == "closed"
        assert db.receipt("tiny-9/s1") is None
        assert len(list((tmp_path / "R" / "mail" / "new").iterdir())) == 3
    finally:
        db.dispose()


def test_receipt_verdict_lines() -> None:
    from walkout.cli import _verdict
    from walkout.io import load_embedded_store

    store = load_embedded_store()
    fiji, taco = "632565000012", "071063437089"
    assert "✓" in _verdict({fiji: 1}, {fiji: 1}, store)
    bad = _verdict({fiji: 2}, {fiji: 1, taco: 1}, store)
    assert "✗" in bad and "+1 FIJI WATER .5 LTR" in bad and "-1 Taco Bell Fire" in bad
    assert "no shopper" in _verdict({fiji: 1}, None, store)
