from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from walkout.core.errors import RecordingError
from walkout.core.frames import GateScans, PersonObservations, PlateSamples
from walkout.io import Recording, RecordingMeta, read_recording, write_recording
from walkout.io.recording import monotone_mask


def small_recording(store, n_ticks: int = 30) -> Recording:
    n_pl = len(store.plates)
    plate = np.tile(np.arange(n_pl, dtype=np.int32), n_ticks)
    t = np.repeat(np.arange(n_ticks) / 60.0, n_pl)
    mass = np.full(plate.shape, 100.0, dtype=np.float32)
    samples = PlateSamples(tuple(p.id for p in store.plates), plate, t, mass)
    scans = GateScans(np.array(["entry"], dtype=object), np.array([0.1]), np.array(["tok"], dtype=object))
    k = 4
    head = np.tile(np.array([[0.0, -2.0, 1.6]], np.float32), (k, 1))
    people = PersonObservations(np.arange(k) / 15.0, np.ones(k, np.int64), head, head.copy(), np.full((k, 3), np.nan, np.float32))
    meta = RecordingMeta(name="tiny", duration_s=n_ticks / 60.0, planogram=store.planogram)
    return Recording(store, meta, samples, scans, people)


def test_round_trip(store, tmp_path):
    rec = small_recording(store)
    back = read_recording(write_recording(rec, tmp_path / "r"))
    assert back.meta == rec.meta
    assert back.store == rec.store
    np.testing.assert_array_equal(back.plates.plate, rec.plates.plate)
    np.testing.assert_array_equal(back.plates.mass_g, rec.plates.mass_g)
    np.testing.assert_array_equal(back.people.right_hand_xyz_m, rec.people.right_hand_xyz_m)
    assert list(back.scans.token) == ["tok"]
    assert back.rejections == {}


def _rewrite_plates(path, mutate):
    table = pq.read_table(path / "plates.parquet")
    cols = {
        "plate_id": table.column("plate_id").cast(pa.string()).to_pylist(),
        "t_s": table.column("t_s").to_numpy().copy(),
        "mass_g": table.column("mass_g").to_numpy().copy(),
    }
    mutate(cols)
    pq.write_table(pa.table(cols), path / "plates.parquet")


@pytest.mark.parametrize(
    ("mutate", "reason", "count"),
    [
        (lambda c: c["plate_id"].__setitem__(0, "9.9.9"), "plates: unknown plate id", 1),
        (lambda c: c["mass_g"].__setitem__(slice(0, 3), np.nan), "plates: NaN or infinite value", 3),
        (lambda c: c["mass_g"].__setitem__(5, -400.0), "plates: mass below -50 g", 1),
        (lambda c: c["t_s"].__setitem__(306 * 5 + 2, 0.0), "plates: timestamp going backwards", 1),
    ],
)
def test_bad_rows_are_counted_rejections(store, tmp_path, mutate, reason, count):
    d = write_recording(small_recording(store), tmp_path / "r")
    _rewrite_plates(d, mutate)
    rec = read_recording(d)
    assert rec.rejections == {reason: count}
    assert len(rec.plates) == 306 * 30 - count


def test_truncated_parquet_is_a_clear_error(store, tmp_path):
    d = write_recording(small_recording(store), tmp_path / "r")
    data = (d / "plates.parquet").read_bytes()
    (d / "plates.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(RecordingError, match=r"plates\.parquet: unreadable or truncated"):
        read_recording(d)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda doc: doc.update(version=99), "field version: unsupported version 99"),
        (lambda doc: doc.pop("name"), "field name: Field required"),
        (lambda doc: doc.update(format="x"), "field format"),
    ],
)
def test_bad_metadata_names_field(store, tmp_path, edit, message):
    d = write_recording(small_recording(store), tmp_path / "r")
    doc = json.loads((d / "recording.json").read_text())
    edit(doc)
    (d / "recording.json").write_text(json.dumps(doc))
    with pytest.raises(RecordingError, match=message):
        read_recording(d)


def test_missing_stream_file(store, tmp_path):
    d = write_recording(small_recording(store), tmp_path / "r")
    (d / "people.parquet").unlink()
    with pytest.raises(RecordingError, match=r"people\.parquet: stream file missing"):
        read_recording(d)


def test_not_a_recording(tmp_path):
    with pytest.raises(RecordingError, match="not a recording directory"):
        read_recording(tmp_path / "nope")


def test_monotone_mask_per_group():
    group = np.array([0, 1, 0, 1, 0])
    t = np.array([0.0, 0.0, 1.0, 2.0, 0.5])
    np.testing.assert_array_equal(monotone_mask(group, t), [True, True, True, True, False])
