"""Recordings: the boundary between the world (real or simulated) and the engine.

A recording is a directory (format documented in ``docs/recording-format.md``)::

    recording.json     metadata: format, version, name, duration, store, operating planogram
    plates.parquet     plate_id (str), t_s (float64), mass_g (float32)
    scans.parquet      gate_id (str), t_s (float64), token (str)
    people.parquet     t_s, track_id, head_{x,y,z}_m, left_hand_{x,y,z}_m, right_hand_{x,y,z}_m

Ground truth never lives here: the simulator writes it to a separate file that only
:mod:`walkout.eval` reads.

Reading validates every stream. Structural problems (missing file, truncated Parquet, missing
column, wrong format or version) raise :class:`~walkout.core.errors.RecordingError` naming the
file. Row-level problems (unknown plate id, NaN or impossible weights, time going backwards,
non-finite positions) drop the row and are counted in :attr:`Recording.rejections`.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from walkout.core.errors import RecordingError, StoreFileError
from walkout.core.frames import DepthSource, GateScans, PersonObservations, PlateSamples
from walkout.core.store import Facing, PlateId, Store
from walkout.io.store_file import store_document, store_from_document

log = logging.getLogger(__name__)

RECORDING_FORMAT = "walkout-recording"
RECORDING_FORMAT_VERSION = 1
#: samples lighter than this are physically impossible on a tared plate (noise is ~1.5 g)
MIN_VALID_MASS_G = -50.0
_HAND_COLS = ("head", "left_hand", "right_hand")


class RecordingMeta(BaseModel):
    """Metadata of a recording (``recording.json``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    duration_s: float = Field(ge=0)
    plate_rate_hz: float = Field(gt=0, default=60.0)
    people_rate_hz: float = Field(gt=0, default=15.0)
    planogram: tuple[Facing, ...] = Field(description="the store's operating planogram at t_s = 0")
    source: str = ""
    start_unix_s: float = Field(default=0.0, ge=0, description="wall-clock time (Unix seconds, UTC) at t_s = 0")


@dataclass(frozen=True)
class Recording:
    """A recording in memory: store, metadata and the three sensor streams.

    ``rejections`` counts rows dropped while reading, by reason (e.g. ``"plates: unknown plate
    id"``); it is empty for a clean recording. ``depth`` is the store's RGB-D units when they are
    attached (a live store or the simulator); raw frames are never written to a recording
    directory.
    """

    store: Store
    meta: RecordingMeta
    plates: PlateSamples
    scans: GateScans
    people: PersonObservations
    rejections: dict[str, int] = field(default_factory=dict)
    depth: DepthSource | None = None


# ---------------------------------------------------------------- writing
def _atomic_write_table(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)


def write_recording(rec: Recording, directory: str | Path) -> Path:
    """Write a recording directory (created if absent; files replaced atomically).

    Returns:
        The directory path.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    ids = pa.array([str(p) for p in rec.plates.plate_ids], type=pa.string())
    plate_col = pa.DictionaryArray.from_arrays(pa.array(rec.plates.plate, type=pa.int32()), ids)
    _atomic_write_table(
        pa.table({"plate_id": plate_col, "t_s": rec.plates.t_s, "mass_g": rec.plates.mass_g}),
        d / "plates.parquet",
    )
    _atomic_write_table(
        pa.table(
            {
                "gate_id": pa.array(list(rec.scans.gate_id), type=pa.string()),
                "t_s": rec.scans.t_s,
                "token": pa.array(list(rec.scans.token), type=pa.string()),
            }
        ),
        d / "scans.parquet",
    )
    cols: dict[str, Any] = {"t_s": rec.people.t_s, "track_id": rec.people.track_id}
    for name in _HAND_COLS:
        arr = getattr(rec.people, f"{name}_xyz_m")
        for k, axis in enumerate("xyz"):
            cols[f"{name}_{axis}_m"] = np.ascontiguousarray(arr[:, k])
    _atomic_write_table(pa.table(cols), d / "people.parquet")
    doc = {
        "format": RECORDING_FORMAT,
        "version": RECORDING_FORMAT_VERSION,
        **rec.meta.model_dump(mode="json"),
        "store": store_document(rec.store),
        "streams": {"plates": "plates.parquet", "scans": "scans.parquet", "people": "people.parquet"},
    }
    tmp = d / "recording.json.tmp"
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(d / "recording.json")
    return d


# ---------------------------------------------------------------- reading
def _read_table(path: Path, columns: dict[str, tuple[str, ...]]) -> pa.Table:
    if not path.exists():
        raise RecordingError(f"{path}: stream file missing")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise RecordingError(f"{path}: unreadable or truncated Parquet file ({exc})") from exc
    for col, kinds in columns.items():
        if col not in table.column_names:
            raise RecordingError(f"{path}: column {col!r} missing")
        typ = table.schema.field(col).type
        if pa.types.is_dictionary(typ):
            typ = typ.value_type
        if not any(getattr(pa.types, f"is_{k}")(typ) for k in kinds):
            raise RecordingError(f"{path}: column {col!r} has type {typ}, expected {'/'.join(kinds)}")
    return table


def _read_meta(d: Path) -> tuple[Store, RecordingMeta]:
    path = d / "recording.json"
    if not path.exists():
        raise RecordingError(f"{path}: metadata file missing (is {d} a recording directory?)")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordingError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != RECORDING_FORMAT:
        raise RecordingError(f"{path}: field format: expected {RECORDING_FORMAT!r}")
    if doc.get("version") != RECORDING_FORMAT_VERSION:
        raise RecordingError(f"{path}: field version: unsupported version {doc.get('version')!r}")
    if "store" not in doc:
        raise RecordingError(f"{path}: field store: missing")
    try:
        store = store_from_document(doc["store"], f"{path} (field store)")
    except StoreFileError as exc:
        raise RecordingError(str(exc)) from exc
    body = {k: v for k, v in doc.items() if k not in ("format", "version", "store", "streams")}
    try:
        meta = RecordingMeta.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise RecordingError(f"{path}: field {loc}: {err['msg']}") from exc
    known = set(store.plate_index)
    for f in meta.planogram:
        bad = [str(p) for p in f.plates if p not in known]
        if bad or f.upc not in store.product_by_upc:
            raise RecordingError(f"{path}: field planogram: facing of {f.upc} names unknown plate/product {bad}")
    return store, meta


def monotone_mask(group: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """Mask of rows whose time does not go backwards within their group.

    Args:
        group: (n,) integer group per row (e.g. plate index).
        t_s: (n,) float64 times in file order.

    Returns:
        (n,) bool, False for a row whose t_s is earlier than an earlier row of the same group.
    """
    if t_s.size == 0 or np.all(np.diff(t_s) >= 0):
        return np.ones(t_s.shape, dtype=bool)
    order = np.argsort(group, kind="stable")
    g, t = group[order], t_s[order]
    starts = np.r_[True, g[1:] != g[:-1]]
    # running max within each group: offset groups so a global cummax never crosses groups
    span = float(np.nanmax(t) - np.nanmin(t)) + 1.0
    gid = np.cumsum(starts) - 1
    shifted = t + gid * span * 2
    prev_max = np.maximum.accumulate(shifted)
    prev_max = np.r_[-np.inf, prev_max[:-1]]
    prev_max[starts] = -np.inf
    ok_sorted = shifted >= prev_max
    ok = np.empty_like(ok_sorted)
    ok[order] = ok_sorted
    return ok


def _read_plates(path: Path, store: Store, rej: Counter[str]) -> PlateSamples:
    table = _read_table(path, {"plate_id": ("string", "large_string"), "t_s": ("floating",), "mass_g": ("floating", "integer")})
    col = table.column("plate_id").combine_chunks()
    if not pa.types.is_dictionary(col.type):
        col = col.dictionary_encode()
    names = [str(x) for x in col.dictionary.to_pylist()]
    idx = col.indices.to_numpy(zero_copy_only=False)
    idx = np.where(np.isnan(idx.astype(float)), -1, idx).astype(np.int64) if col.null_count else idx.astype(np.int64)
    # map file dictionary -> store plate index; unknown ids -> -1
    lut = np.full(len(names) + 1, -1, dtype=np.int64)
    for i, name in enumerate(names):
        try:
            lut[i] = store.plate_index.get(PlateId.parse(name), -1)
        except ValueError:
            lut[i] = -1
    plate = lut[idx]
    t_s = table.column("t_s").to_numpy(zero_copy_only=False).astype(np.float64)
    mass = table.column("mass_g").to_numpy(zero_copy_only=False).astype(np.float32)
    ok = plate >= 0
    rej["plates: unknown plate id"] += int((~ok).sum())
    finite = np.isfinite(t_s) & np.isfinite(mass)
    rej["plates: NaN or infinite value"] += int((ok & ~finite).sum())
    ok &= finite
    early = t_s < 0
    rej["plates: time before the recording started"] += int((ok & early).sum())
    ok &= ~early
    neg = mass < MIN_VALID_MASS_G
    rej[f"plates: mass below {MIN_VALID_MASS_G:g} g"] += int((ok & neg).sum())
    ok &= ~neg
    plate, t_s, mass = plate[ok], t_s[ok], mass[ok]
    mono = monotone_mask(plate, t_s)
    rej["plates: timestamp going backwards"] += int((~mono).sum())
    return PlateSamples(
        plate_ids=tuple(p.id for p in store.plates),
        plate=plate[mono].astype(np.int32),
        t_s=t_s[mono],
        mass_g=mass[mono],
    )


def _read_scans(path: Path, store: Store, rej: Counter[str]) -> GateScans:
    table = _read_table(path, {"gate_id": ("string", "large_string"), "t_s": ("floating",), "token": ("string", "large_string")})
    gate = np.array(table.column("gate_id").to_pylist(), dtype=object)
    t_s = table.column("t_s").to_numpy().astype(np.float64)
    token = np.array(table.column("token").to_pylist(), dtype=object)
    gates = {g.id for g in store.gates}
    ok = np.array([g in gates for g in gate], dtype=bool) if len(gate) else np.ones(0, bool)
    rej["scans: unknown gate id"] += int((~ok).sum())
    fin = np.isfinite(t_s) & np.array([isinstance(x, str) and bool(x) for x in token], dtype=bool) if len(gate) else ok
    rej["scans: missing time or token"] += int((ok & ~fin).sum())
    ok &= fin
    order = np.argsort(t_s[ok], kind="stable")
    return GateScans(gate[ok][order], t_s[ok][order], token[ok][order])


def _read_people(path: Path, rej: Counter[str]) -> PersonObservations:
    cols: dict[str, tuple[str, ...]] = {"t_s": ("floating",), "track_id": ("integer",)}
    for name in _HAND_COLS:
        for axis in "xyz":
            cols[f"{name}_{axis}_m"] = ("floating",)
    table = _read_table(path, cols)
    t_s = table.column("t_s").to_numpy(zero_copy_only=False).astype(np.float64)
    tid_col = table.column("track_id")
    has_id = ~np.asarray(tid_col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    tid = np.asarray(tid_col.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    arrs = {
        name: np.stack([table.column(f"{name}_{a}_m").to_numpy() for a in "xyz"], axis=1).astype(np.float32)
        if len(t_s) else np.empty((0, 3), np.float32)
        for name in _HAND_COLS
    }
    ok = np.isfinite(t_s) & np.all(np.isfinite(arrs["head"]), axis=1)
    rej["people: missing time or head position"] += int((~ok).sum())
    rej["people: missing track id"] += int((ok & ~has_id).sum())
    ok &= has_id
    mono = monotone_mask(tid[ok], t_s[ok])
    rej["people: timestamp going backwards"] += int((~mono).sum())
    sel = np.flatnonzero(ok)[mono]
    return PersonObservations(t_s[sel], tid[sel], arrs["head"][sel], arrs["left_hand"][sel], arrs["right_hand"][sel])


def read_recording(directory: str | Path) -> Recording:
    """Read and validate a recording directory.

    Raises:
        RecordingError: a file is missing, truncated or structurally wrong (names the file).
    """
    d = Path(directory)
    if not d.is_dir():
        raise RecordingError(f"{d}: not a recording directory")
    store, meta = _read_meta(d)
    rej: Counter[str] = Counter()
    plates = _read_plates(d / "plates.parquet", store, rej)
    scans = _read_scans(d / "scans.parquet", store, rej)
    people = _read_people(d / "people.parquet", rej)
    rejections = {k: v for k, v in sorted(rej.items()) if v}
    for reason, n in rejections.items():
        log.warning("%s: rejected %d rows (%s)", d, n, reason)
    return Recording(store, meta, plates, scans, people, rejections)
