"""Topics, payload models, decoding and encoding of the device messages (format: docs/mqtt.md).

:func:`decode_message` turns one message into a parsed value or a :class:`Rejection`: a pure
function, testable without a broker. Row checks follow the recording reader
(:mod:`walkout.io.recording`): same reasons, same thresholds. The ``encode_*`` functions write
the payloads (the simulator's publisher and device emulators use them); floats are written as
their shortest round-trip representation, so ``t_s`` (float64) and ``mass_g`` (float32) arrive
bit for bit.
"""

from __future__ import annotations

import hmac
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pydantic_core
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from walkout.core.frames import PersonObservations
from walkout.core.store import Facing, PlateId, Store
from walkout.io.recording import MIN_VALID_MASS_G, monotone_mask

VerifyDevice = Callable[[str, str], bool]
_INT64 = (-(2**63), 2**63 - 1)


# ---------------------------------------------------------------- topics and payloads
@dataclass(frozen=True)
class Topics:
    """The topic names of one store (``walkout/<store>/...``)."""

    store: str

    def plate(self, plate_id: PlateId | str) -> str:
        return f"walkout/{self.store}/plates/{plate_id}"

    @property
    def plates(self) -> str:
        return f"walkout/{self.store}/plates"

    def scans(self, gate_id: str) -> str:
        return f"walkout/{self.store}/gates/{gate_id}/scans"

    @property
    def people(self) -> str:
        return f"walkout/{self.store}/people"

    @property
    def control(self) -> str:
        return f"walkout/{self.store}/control"

    @property
    def all(self) -> str:
        return f"walkout/{self.store}/#"


class _Payload(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    device: str = Field(min_length=1, max_length=200)
    token: str = Field(max_length=4096)


class PlatePayload(_Payload):
    """``walkout/<store>/plates/<plate_id>``: samples of one plate, in time order."""

    t_s: list[float]
    mass_g: list[float]


class PlateEntry(BaseModel):
    """One plate's samples inside a bulk plates message."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    plate_id: str
    t_s: list[float]
    mass_g: list[float]


class PlatesPayload(_Payload):
    """``walkout/<store>/plates``: samples of many plates (a gondola controller's tick)."""

    plates: list[PlateEntry]


class ScanPayload(_Payload):
    """``walkout/<store>/gates/<gate_id>/scans``: what the gate's reader decoded at ``t_s``."""

    t_s: float
    code: str


class PeoplePayload(_Payload):
    """``walkout/<store>/people``: tracker rows; positions world frame, metres; null = hand not seen."""

    t_s: list[float]
    track_id: list[int]
    head_xyz_m: list[tuple[float, float, float]]
    left_hand_xyz_m: list[tuple[float, float, float] | None]
    right_hand_xyz_m: list[tuple[float, float, float] | None]


class ControlPayload(_Payload):
    """``walkout/<store>/control``: a store day (a replayed recording) starts or ends."""

    type: Literal["start", "end"]
    recording: str = Field(min_length=1)
    duration_s: float | None = Field(default=None, ge=0)
    planogram: tuple[Facing, ...] | None = None
    start_unix_s: float | None = Field(default=None, ge=0)
    wall_start_unix_s: float | None = Field(default=None, ge=0)
    complete: bool = True


_MODELS: dict[str, type[_Payload]] = {
    "plates/+": PlatePayload,
    "plates": PlatesPayload,
    "scans": ScanPayload,
    "people": PeoplePayload,
    "control": ControlPayload,
}


# ---------------------------------------------------------------- parsed messages
@dataclass(frozen=True)
class Rejection:
    """Why a message was refused: ``reason`` is the counter key, ``detail`` goes to the log."""

    reason: str
    detail: str = ""


@dataclass(frozen=True)
class PlateBatch:
    """Accepted plate samples of one message; ``plate`` indexes ``store.plates``.

    ``dropped`` counts rows (samples) removed by reason; they are already out of the arrays.
    """

    device: str
    plate: NDArray[np.int32]
    t_s: NDArray[np.float64]
    mass_g: NDArray[np.float32]
    dropped: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class ScanMessage:
    """One accepted gate scan (``t_s`` on the store clock)."""

    device: str
    gate_id: str
    t_s: float
    code: str


@dataclass(frozen=True)
class PeopleBatch:
    """Accepted tracker rows of one message, and rows dropped by reason."""

    device: str
    observations: PersonObservations
    dropped: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class ControlMessage:
    """A store day starts (``type="start"``) or ends (``"end"``; ``complete=False``: stopped early)."""

    device: str
    type: Literal["start", "end"]
    recording: str
    duration_s: float | None = None
    planogram: tuple[Facing, ...] | None = None
    start_unix_s: float | None = None
    wall_start_unix_s: float | None = None
    complete: bool = True


Decoded = PlateBatch | ScanMessage | PeopleBatch | ControlMessage


def _topic_kind(topic: str, store_name: str) -> tuple[str, str]:
    """(kind, argument): kind in ``_MODELS`` or ``""`` for an unknown topic."""
    parts = topic.split("/")
    if len(parts) < 3 or parts[0] != "walkout" or parts[1] != store_name:
        return "", ""
    rest = parts[2:]
    if rest[0] == "plates" and len(rest) <= 2:
        return ("plates/+", rest[1]) if len(rest) == 2 else ("plates", "")
    if rest[0] == "gates" and len(rest) == 3 and rest[2] == "scans":
        return "scans", rest[1]
    if len(rest) == 1 and rest[0] in ("people", "control"):
        return rest[0], ""
    return "", ""


def _schema_rejection(kind: str, exc: ValidationError) -> Rejection:
    err = exc.errors()[0]
    name = kind.split("/")[0]
    if err["type"] in ("json_invalid", "json_type"):
        return Rejection(f"{name}: not valid JSON", err["msg"])
    loc = ".".join(str(x) for x in err["loc"] if not isinstance(x, int)) or "(root)"
    return Rejection(f"{name}: bad payload field {loc}", f"{loc}: {err['msg']}")


def _clean_plate_rows(
    plate: NDArray[np.int64], t_s: NDArray[np.float64], mass: NDArray[np.float32], rej: Counter[str]
) -> NDArray[np.bool_]:
    """Mask of valid rows (the recording reader's checks and reasons), counting the rest in ``rej``."""
    ok = np.isfinite(t_s) & np.isfinite(mass)
    rej["plates: NaN or infinite value"] += int((~ok).sum())
    early = ok & (t_s < 0)
    rej["plates: time before the recording started"] += int(early.sum())
    light = ok & ~early & (mass < MIN_VALID_MASS_G)
    rej[f"plates: mass below {MIN_VALID_MASS_G:g} g"] += int(light.sum())
    ok &= ~early & ~light
    mono = np.ones_like(ok)
    mono[ok] = monotone_mask(plate[ok], t_s[ok])
    rej["plates: timestamp going backwards"] += int((~mono).sum())
    return ok & mono


def _plate_batch(msg: PlatePayload | PlatesPayload, kind: str, arg: str, store: Store) -> PlateBatch | Rejection:
    rej: Counter[str] = Counter()
    if isinstance(msg, PlatePayload):
        entries = [(arg, msg.t_s, msg.mass_g)]
    else:
        entries = [(e.plate_id, e.t_s, e.mass_g) for e in msg.plates]
    plates, ts, ms = [], [], []
    for pid_text, t_s, mass_g in entries:
        if len(t_s) != len(mass_g):
            if kind == "plates/+":
                return Rejection("plates: t_s and mass_g lengths differ", f"{len(t_s)} != {len(mass_g)}")
            rej["plates: t_s and mass_g lengths differ"] += len(t_s)
            continue
        try:
            index = store.plate_index.get(PlateId.parse(pid_text), -1)
        except ValueError:
            index = -1
        if index < 0:
            if kind == "plates/+":
                return Rejection("plates: unknown plate id", pid_text)
            rej["plates: unknown plate id"] += len(t_s)
            continue
        plates.append(np.full(len(t_s), index, np.int64))
        ts.append(np.asarray(t_s, np.float64))
        ms.append(_f32(mass_g))  # float32 like a recording
    plate = np.concatenate(plates) if plates else np.zeros(0, np.int64)
    t = np.concatenate(ts) if ts else np.zeros(0)
    m = np.concatenate(ms) if ms else np.zeros(0, np.float32)
    ok = _clean_plate_rows(plate, t, m, rej)
    dropped = tuple((k, v) for k, v in sorted(rej.items()) if v)
    return PlateBatch(msg.device, plate[ok].astype(np.int32), t[ok], m[ok], dropped)


def _f32(values: Any) -> NDArray[np.float32]:
    """float64 JSON numbers -> float32; beyond float32's range -> inf (then refused as non-finite)."""
    with np.errstate(over="ignore"):
        return np.asarray(values, np.float64).astype(np.float32)


def _hands(rows: list[tuple[float, float, float] | None]) -> NDArray[np.float32]:
    return _f32([r if r is not None else (math.nan,) * 3 for r in rows]).reshape(-1, 3)


def _people_batch(msg: PeoplePayload) -> PeopleBatch | Rejection:
    n = len(msg.t_s)
    lengths = [len(msg.track_id), len(msg.head_xyz_m), len(msg.left_hand_xyz_m), len(msg.right_hand_xyz_m)]
    if any(k != n for k in lengths):
        return Rejection("people: field lengths differ", f"t_s has {n} rows, others {lengths}")
    if any(not _INT64[0] <= k <= _INT64[1] for k in msg.track_id):
        return Rejection("people: track id out of int64 range")
    t_s = np.asarray(msg.t_s, np.float64)
    tid = np.asarray(msg.track_id, np.int64)
    head = _f32(msg.head_xyz_m).reshape(n, 3)
    left, right = _hands(msg.left_hand_xyz_m), _hands(msg.right_hand_xyz_m)
    rej: Counter[str] = Counter()
    ok = np.isfinite(t_s) & np.all(np.isfinite(head), axis=1)
    rej["people: missing time or head position"] += int((~ok).sum())
    sel = np.flatnonzero(ok)
    mono = monotone_mask(tid[sel], t_s[sel])
    rej["people: timestamp going backwards"] += int((~mono).sum())
    sel = sel[mono]
    obs = PersonObservations(t_s[sel], tid[sel], head[sel], left[sel], right[sel])
    return PeopleBatch(msg.device, obs, tuple((k, v) for k, v in sorted(rej.items()) if v))


def _control(msg: ControlPayload, store: Store) -> ControlMessage | Rejection:
    for f in msg.planogram or ():
        if f.upc not in store.product_by_upc or any(p not in store.plate_index for p in f.plates):
            return Rejection("control: planogram names an unknown plate or product", f.upc)
    return ControlMessage(
        msg.device,
        msg.type,
        msg.recording,
        msg.duration_s,
        msg.planogram,
        msg.start_unix_s,
        msg.wall_start_unix_s,
        msg.complete,
    )


def decode_message(
    topic: str,
    payload: bytes,
    store: Store,
    *,
    store_name: str | None = None,
    verify_device: VerifyDevice | None = None,
) -> Decoded | Rejection:
    """Parse and validate one MQTT message of ``store``.

    Checks, in order: the topic (``walkout/<store_name>/...``, a known kind), the JSON payload
    against the topic's pydantic model (strict: numbers must be JSON numbers), the device token
    (when ``verify_device`` is given), then the content: known plate or gate, equal array lengths,
    and the recording reader's row checks (finite values, ``t_s >= 0``, mass >= -50 g, time not
    going backwards within the message per plate / per track). Rows failing a row check are
    dropped and counted in the result's ``dropped``; anything else refuses the whole message.

    Args:
        topic: the MQTT topic.
        payload: the message body, UTF-8 JSON.
        store: the store (plate ids, gates, products).
        store_name: the topic's store segment (default ``store.name``).
        verify_device: ``(device_id, token) -> bool``; None skips the token check.

    Returns:
        A :class:`PlateBatch`, :class:`ScanMessage`, :class:`PeopleBatch` or
        :class:`ControlMessage`; or a :class:`Rejection` with a short reason. Never raises for
        bad input (an exception from ``verify_device`` propagates).
    """
    kind, arg = _topic_kind(topic, store_name if store_name is not None else store.name)
    if not kind:
        return Rejection("unknown topic", topic[:200])
    if kind == "scans" and arg not in {g.id for g in store.gates}:
        return Rejection("scans: unknown gate id", arg)
    try:
        msg = _MODELS[kind].model_validate_json(payload)
    except ValidationError as exc:
        return _schema_rejection(kind, exc)
    if verify_device is not None and not verify_device(msg.device, msg.token):
        return Rejection(f"{kind.split('/')[0]}: bad device token", msg.device)
    if isinstance(msg, PlatePayload | PlatesPayload):
        return _plate_batch(msg, kind, arg, store)
    if isinstance(msg, ScanPayload):
        if not (math.isfinite(msg.t_s) and msg.t_s >= 0 and msg.code):
            return Rejection("scans: missing time or token", f"t_s={msg.t_s!r}")
        return ScanMessage(msg.device, arg, msg.t_s, msg.code)
    if isinstance(msg, PeoplePayload):
        return _people_batch(msg)
    assert isinstance(msg, ControlPayload)
    return _control(msg, store)


def static_device_tokens(tokens: Mapping[str, str]) -> VerifyDevice:
    """A ``verify_device`` for a fixed ``{device_id: token}`` table (constant-time comparison)."""
    table = dict(tokens)

    def verify(device: str, token: str) -> bool:
        expected = table.get(device)
        return expected is not None and hmac.compare_digest(expected.encode(), token.encode())

    return verify


# ---------------------------------------------------------------- encoding (devices, publisher)
def _json(doc: dict[str, Any]) -> bytes:
    return pydantic_core.to_json(doc)  # shortest round-trip floats: bit-exact float64 (and float32)


def encode_plate(device: str, token: str, t_s: NDArray[np.float64], mass_g: NDArray[np.float32]) -> bytes:
    """Payload of ``walkout/<store>/plates/<plate_id>`` (``t_s``, ``mass_g``: (n,) arrays)."""
    return _json({"device": device, "token": token, "t_s": t_s.tolist(), "mass_g": mass_g.tolist()})


def encode_plates(
    device: str, token: str, entries: Iterable[tuple[PlateId, NDArray[np.float64], NDArray[np.float32]]]
) -> bytes:
    """Payload of the bulk ``walkout/<store>/plates`` topic: ``(plate_id, t_s, mass_g)`` per plate."""
    plates = [{"plate_id": str(p), "t_s": t.tolist(), "mass_g": m.tolist()} for p, t, m in entries]
    return _json({"device": device, "token": token, "plates": plates})


def encode_scan(device: str, token: str, t_s: float, code: str) -> bytes:
    """Payload of ``walkout/<store>/gates/<gate_id>/scans``."""
    return _json({"device": device, "token": token, "t_s": float(t_s), "code": code})


def encode_people(device: str, token: str, obs: PersonObservations) -> bytes:
    """Payload of ``walkout/<store>/people`` (a hand with any NaN coordinate is sent as null)."""

    def hands(a: NDArray[np.float32]) -> list[Any]:
        seen = np.all(np.isfinite(a), axis=1)
        return [row if ok else None for row, ok in zip(a.tolist(), seen.tolist(), strict=True)]

    return _json(
        {
            "device": device,
            "token": token,
            "t_s": obs.t_s.tolist(),
            "track_id": obs.track_id.tolist(),
            "head_xyz_m": obs.head_xyz_m.tolist(),
            "left_hand_xyz_m": hands(obs.left_hand_xyz_m),
            "right_hand_xyz_m": hands(obs.right_hand_xyz_m),
        }
    )


def encode_control(device: str, token: str, type: Literal["start", "end"], recording: str, **fields: Any) -> bytes:
    """Payload of ``walkout/<store>/control``; ``fields`` are :class:`ControlPayload`'s optional fields."""
    doc = ControlPayload(device=device, token=token, type=type, recording=recording, **fields)
    return doc.model_dump_json(exclude_none=True).encode()
