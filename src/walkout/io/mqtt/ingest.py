"""The ingest: validated device messages -> a thread-safe buffer of core sensor batches.

:class:`MqttIngest` subscribes to ``walkout/<store>/#`` through a transport, decodes every
message with :func:`~walkout.io.mqtt.messages.decode_message`, adds the checks that need memory
(time going backwards across messages, per plate and per track; reset by a ``start`` control
message), counts every refusal in ``rejections`` and appends the rest to an
:class:`IngestBuffer`. Nothing it does raises into the transport's thread.

The consumer (the live engine) calls :meth:`IngestBuffer.take` and gets an :class:`Increment`:
control messages first, then the data that arrived after them and before the next control
message, so a store day's data never mixes with the next day's.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from walkout.core.frames import GateScans, PersonObservations, PlateSamples, empty_people, empty_scans
from walkout.core.store import PlateId, Store
from walkout.io.mqtt.messages import (
    ControlMessage,
    Decoded,
    PeopleBatch,
    PlateBatch,
    Rejection,
    ScanMessage,
    Topics,
    VerifyDevice,
    _topic_kind,
    decode_message,
)
from walkout.io.mqtt.transport import PahoTransport, Transport

log = logging.getLogger(__name__)

#: a reason is logged at most once per this many seconds (with its running count)
LOG_EVERY_S = 10.0


@dataclass(frozen=True)
class Increment:
    """What arrived since the last :meth:`IngestBuffer.take`: apply ``control`` first, then the data.

    Attributes:
        control: store-day messages, in arrival order, that precede the data below.
        plates: samples, time-major (sorted by ``t_s`` then plate), ``plate_ids`` = the store's plates.
        scans: gate scans sorted by ``t_s``.
        people: tracker rows sorted by ``t_s`` then track.
    """

    control: tuple[ControlMessage, ...]
    plates: PlateSamples
    scans: GateScans
    people: PersonObservations

    @property
    def empty(self) -> bool:
        """True when there is neither a control message nor a data row."""
        return not self.control and not len(self.plates) and not len(self.scans) and not len(self.people)


@dataclass
class _Segment:
    control: list[ControlMessage] = field(default_factory=list)
    plates: list[PlateBatch] = field(default_factory=list)
    scans: list[ScanMessage] = field(default_factory=list)
    people: list[PersonObservations] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return bool(self.plates or self.scans or self.people)


class IngestBuffer:
    """Thread-safe queue of arrived data, cut into segments at control messages.

    Args:
        plate_ids: the store's plates (``PlateBatch.plate`` indexes them).
        max_pending_rows: above this many rows waiting for :meth:`take`, new data is refused
            (:meth:`add` returns False) instead of growing without bound.
    """

    def __init__(self, plate_ids: tuple[PlateId, ...], max_pending_rows: int = 20_000_000) -> None:
        self.plate_ids = plate_ids
        self.max_pending_rows = max_pending_rows
        self._segments = [_Segment()]
        self._rows = 0
        self._cond = threading.Condition()

    def add(self, item: PlateBatch | ScanMessage | PersonObservations | ControlMessage) -> bool:
        """Append one accepted item; False (nothing added) when the buffer is full."""
        with self._cond:
            if isinstance(item, ControlMessage):
                if self._segments[-1].has_data:
                    self._segments.append(_Segment())
                self._segments[-1].control.append(item)
            else:
                rows = 1 if isinstance(item, ScanMessage) else len(item.t_s)
                if self._rows + rows > self.max_pending_rows:
                    return False
                self._rows += rows
                seg = self._segments[-1]
                getattr(seg, {PlateBatch: "plates", ScanMessage: "scans"}.get(type(item), "people")).append(item)
            self._cond.notify_all()
        return True

    @property
    def pending_rows(self) -> int:
        """Data rows waiting for :meth:`take`."""
        with self._cond:
            return self._rows

    def wait(self, timeout_s: float) -> bool:
        """Block until something is waiting for :meth:`take` (True) or ``timeout_s`` passed (False)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._rows > 0 or len(self._segments) > 1 or bool(self._segments[0].control), timeout_s
            )

    def take(self) -> Increment:
        """Remove and return the oldest segment (empty when nothing arrived); call again until ``empty``."""
        with self._cond:
            seg = self._segments.pop(0)
            if not self._segments:
                self._segments.append(_Segment())
            self._rows -= sum(len(p.t_s) for p in seg.plates) + len(seg.scans) + sum(len(p) for p in seg.people)
        return Increment(tuple(seg.control), self._plates(seg.plates), _scans(seg.scans), _people(seg.people))

    def _plates(self, parts: list[PlateBatch]) -> PlateSamples:
        plate = np.concatenate([p.plate for p in parts]) if parts else np.zeros(0, np.int32)
        t_s = np.concatenate([p.t_s for p in parts]) if parts else np.zeros(0)
        mass = np.concatenate([p.mass_g for p in parts]) if parts else np.zeros(0, np.float32)
        order = np.lexsort((plate, t_s))
        return PlateSamples(self.plate_ids, plate[order], t_s[order], mass[order])


def _scans(parts: list[ScanMessage]) -> GateScans:
    if not parts:
        return empty_scans()
    parts = sorted(parts, key=lambda s: s.t_s)
    n = len(parts)
    return GateScans(
        np.array([s.gate_id for s in parts], object).reshape(n),
        np.array([s.t_s for s in parts]),
        np.array([s.code for s in parts], object).reshape(n),
    )


def _people(parts: list[PersonObservations]) -> PersonObservations:
    if not parts:
        return empty_people()
    t_s = np.concatenate([p.t_s for p in parts])
    tid = np.concatenate([p.track_id for p in parts])
    order = np.lexsort((tid, t_s))
    cols = [
        np.concatenate([getattr(p, f) for p in parts])[order]
        for f in ("head_xyz_m", "left_hand_xyz_m", "right_hand_xyz_m")
    ]
    return PersonObservations(t_s[order], tid[order], *cols)


# ---------------------------------------------------------------- health
@dataclass(frozen=True)
class HealthParams:
    """When a plate counts as silent, noisy or stuck.

    Attributes:
        silent_after_s: no accepted sample for this long (ingest's clock) -> silent.
        noisy_sigma_g: a noise estimate above this -> noisy (the load cells' white noise is
            ~1.5 g; 4x that is a loose connector or a vibrating gondola).
        window: samples kept per plate for the noise estimate (256 ~ 4 s at 60 Hz).
        min_samples: fewer samples in the window -> no estimate (NaN).
    """

    silent_after_s: float = 2.0
    noisy_sigma_g: float = 6.0
    window: int = 256
    min_samples: int = 32


@dataclass(frozen=True)
class IngestHealth:
    """A snapshot for the dashboard: which plates are silent, noisy or stuck, and message counts.

    The noise estimate is 1.4826 * median(|first differences|) / sqrt(2) over the plate's recent
    window (the MAD of differences: white noise of sigma gives sigma, while a pick's step and
    ringing, a minority of the window, hardly move it). A plate whose median difference is 0 is
    stuck (a real load cell is never that quiet).

    Attributes:
        plate_ids: the store's plates; the arrays below are (P,) in this order.
        silent_s: float64 seconds since the plate's last accepted sample (since the ingest
            started when none arrived yet).
        samples: int64 accepted samples since the ingest started.
        last_t_s: float64 store-clock time of the newest accepted sample, NaN if none.
        noise_g: float64 noise estimate in grams, NaN with fewer than ``min_samples``.
        silent, noisy, stuck: the flagged plates.
        messages: messages received per topic (plate ids as ``+``; unknown topics as ``(unknown)``).
        rejections: refused messages or rows per reason.
    """

    plate_ids: tuple[PlateId, ...]
    silent_s: NDArray[np.float64]
    samples: NDArray[np.int64]
    last_t_s: NDArray[np.float64]
    noise_g: NDArray[np.float64]
    silent: tuple[PlateId, ...]
    noisy: tuple[PlateId, ...]
    stuck: tuple[PlateId, ...]
    messages: dict[str, int]
    rejections: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (flagged plates as ``"G.S.P"`` strings, totals)."""
        return {
            "plates": len(self.plate_ids),
            "samples": int(self.samples.sum()),
            "silent": [str(p) for p in self.silent],
            "noisy": [str(p) for p in self.noisy],
            "stuck": [str(p) for p in self.stuck],
            "messages": dict(self.messages),
            "rejections": dict(self.rejections),
        }


class _PlateStats:
    """Per-plate last-heard time, counts and a ring of recent masses (caller holds the lock)."""

    def __init__(self, n_plates: int, params: HealthParams, now: float) -> None:
        self.params, self.started = params, now
        self.heard = np.full(n_plates, np.nan)
        self.last_t_s = np.full(n_plates, np.nan)
        self.count = np.zeros(n_plates, np.int64)
        self.ring = np.zeros((n_plates, params.window), np.float32)
        self.pos = np.zeros(n_plates, np.int64)

    def add(self, plate: NDArray[np.int32], t_s: NDArray[np.float64], mass: NDArray[np.float32], now: float) -> None:
        if not len(plate):
            return
        k = self.params.window
        order = np.argsort(plate, kind="stable")
        p, m = plate[order], mass[order]
        n = len(p)
        starts = np.r_[True, p[1:] != p[:-1]]
        rank = np.arange(n) - np.maximum.accumulate(np.where(starts, np.arange(n), 0))
        counts = np.bincount(p, minlength=len(self.count))
        keep = rank >= counts[p] - k  # only the newest `window` samples of a plate can land
        self.ring[p[keep], (self.pos[p] + rank)[keep] % k] = m[keep]
        self.pos = (self.pos + counts) % k
        self.count += counts
        self.heard[counts > 0] = now
        np.fmax.at(self.last_t_s, plate, t_s)

    def noise_g(self) -> NDArray[np.float64]:
        k, c = self.params.window, np.minimum(self.count, self.params.window)
        j = np.arange(k)
        vals = np.take_along_axis(self.ring, (self.pos[:, None] - k + j) % k, axis=1).astype(np.float64)
        valid = j[None, :] >= (k - c)[:, None]
        diffs = np.where(valid[:, 1:], np.abs(np.diff(vals, axis=1)), np.nan)
        out = np.full(len(c), np.nan)
        rows = c >= max(self.params.min_samples, 2)
        if rows.any():
            out[rows] = 1.4826 * np.nanmedian(diffs[rows], axis=1) / math.sqrt(2.0)
        return out


# ---------------------------------------------------------------- the ingest
class MqttIngest:
    """Validates device messages of one store and buffers the accepted data.

    Args:
        store: the store (plates, gates, products).
        transport: where to subscribe (``walkout/<store_name>/#``); a :class:`PahoTransport`
            or a :class:`~walkout.io.mqtt.transport.LocalTransport`.
        verify_device: ``(device_id, token) -> bool``, called for every message in the
            transport's thread: make it fast and thread-safe (cache a database lookup). An
            exception from it counts as a bad token.
        store_name: the topics' store segment (default ``store.name``).
        health: thresholds of :meth:`health`.
        clock: monotonic seconds (injectable for tests).
        max_pending_rows: the buffer's bound (see :class:`IngestBuffer`).

    Attributes:
        buffer: the :class:`IngestBuffer` to :meth:`take` from.
        rejections: ``Counter`` of refusals by reason: whole messages for message-level
            reasons, rows (samples, scans, observations) for row-level ones (docs/mqtt.md).
        messages: ``Counter`` of received messages per topic.
    """

    def __init__(
        self,
        store: Store,
        transport: Transport,
        verify_device: VerifyDevice,
        *,
        store_name: str | None = None,
        health: HealthParams = HealthParams(),
        clock: Callable[[], float] = time.monotonic,
        max_pending_rows: int = 20_000_000,
    ) -> None:
        self.store, self.transport, self.verify_device = store, transport, verify_device
        self.topics = Topics(store_name if store_name is not None else store.name)
        self.buffer = IngestBuffer(tuple(p.id for p in store.plates), max_pending_rows)
        self.rejections: Counter[str] = Counter()
        self.messages: Counter[str] = Counter()
        self.clock = clock
        self._gates = {g.id for g in store.gates}
        self._lock = threading.Lock()
        self._last_t = np.full(len(store.plates), -np.inf)
        self._track_last: dict[int, float] = {}
        self._stats = _PlateStats(len(store.plates), health, clock())
        self._logged: dict[str, float] = {}
        self._owns_transport = False
        transport.subscribe(self.topics.all, self.handle)

    @classmethod
    def connect(cls, store: Store, host: str, port: int, verify_device: VerifyDevice, **kwargs: Any) -> MqttIngest:
        """An ingest on its own :class:`PahoTransport` to ``host:port`` (closed by :meth:`close`).

        Raises:
            BrokerUnavailable: the broker cannot be reached or refused the subscription.
        """
        transport = PahoTransport(host, port, client_id=f"walkout-ingest-{uuid.uuid4().hex[:12]}")
        try:
            ingest = cls(store, transport, verify_device, **kwargs)
        except BaseException:
            transport.close()
            raise
        ingest._owns_transport = True
        return ingest

    def close(self) -> None:
        """Close the transport if :meth:`connect` opened it."""
        if self._owns_transport:
            self.transport.close()

    def take(self) -> Increment:
        """The oldest pending :class:`Increment` (see :meth:`IngestBuffer.take`)."""
        return self.buffer.take()

    # ---- the transport's callback
    def handle(self, topic: str, payload: bytes) -> None:
        """Process one message; counts and logs every problem, never raises."""
        try:
            self._handle(topic, payload)
        except Exception as exc:  # a bug here must not kill the network thread
            log.exception("MQTT ingest: unexpected error on %s", topic)
            with self._lock:
                self._reject("ingest: internal error", 1, topic, repr(exc))

    def _verify(self, device: str, token: str) -> bool:
        try:
            return bool(self.verify_device(device, token))
        except Exception:
            log.exception("MQTT ingest: verify_device(%r) failed; refusing the message", device)
            return False

    def _handle(self, topic: str, payload: bytes) -> None:
        kind, arg = _topic_kind(topic, self.topics.store)
        key = {"": "(unknown)", "scans": f"gates/{arg if arg in self._gates else '+'}/scans"}.get(kind, kind)
        out = decode_message(topic, payload, self.store, store_name=self.topics.store, verify_device=self._verify)
        with self._lock:
            self.messages[key] += 1
            if isinstance(out, Rejection):
                self._reject(out.reason, 1, topic, out.detail)
                return
            for reason, n in getattr(out, "dropped", ()):
                self._reject(reason, n, topic, "rows dropped")
            item = self._accept(out, topic)
            if item is not None and not self.buffer.add(item):  # under our lock: buffer order = arrival order
                rows = 1 if isinstance(item, ScanMessage | ControlMessage) else len(item.t_s)
                self._reject("ingest: buffer full (consumer too slow)", rows, topic, "")

    def _accept(
        self, out: Decoded, topic: str
    ) -> PlateBatch | ScanMessage | PersonObservations | ControlMessage | None:
        """Cross-message checks and health bookkeeping (lock held); the item to buffer."""
        if isinstance(out, ControlMessage):
            if out.type == "start":  # a new store day: its clock starts again at 0
                self._last_t[:] = -np.inf
                self._track_last.clear()
            return out
        if isinstance(out, ScanMessage):
            return out
        if isinstance(out, PeopleBatch):
            return self._accept_people(out.observations, topic)
        ok = out.t_s >= self._last_t[out.plate]
        if not ok.all():
            self._reject(
                "plates: timestamp going backwards", int((~ok).sum()), topic, "earlier than a previous message"
            )
            out = PlateBatch(out.device, out.plate[ok], out.t_s[ok], out.mass_g[ok])
        np.maximum.at(self._last_t, out.plate, out.t_s)
        self._stats.add(out.plate, out.t_s, out.mass_g, self.clock())
        return out if len(out.t_s) else None

    def _accept_people(self, obs: PersonObservations, topic: str) -> PersonObservations | None:
        last = np.array([self._track_last.get(int(k), -np.inf) for k in obs.track_id.tolist()])
        ok = obs.t_s >= last
        if not ok.all():
            self._reject(
                "people: timestamp going backwards", int((~ok).sum()), topic, "earlier than a previous message"
            )
            obs = PersonObservations(
                obs.t_s[ok], obs.track_id[ok], obs.head_xyz_m[ok], obs.left_hand_xyz_m[ok], obs.right_hand_xyz_m[ok]
            )
        for k, t in zip(obs.track_id.tolist(), obs.t_s.tolist(), strict=True):
            self._track_last[k] = max(t, self._track_last.get(k, -math.inf))
        return obs if len(obs) else None

    def _reject(self, reason: str, n: int, topic: str, detail: str) -> None:
        self.rejections[reason] += n
        now = self.clock()
        if now - self._logged.get(reason, -math.inf) >= LOG_EVERY_S:
            self._logged[reason] = now
            log.warning(
                "MQTT %s: rejected %d (%s) %s [%d so far]",
                topic[:200],
                n,
                reason,
                detail[:200],
                self.rejections[reason],
            )

    # ---- health
    def health(self) -> IngestHealth:
        """A snapshot of plate health, message counts and rejections (see :class:`IngestHealth`)."""
        with self._lock:
            s, now = self._stats, self.clock()
            silent_s = now - np.where(np.isnan(s.heard), s.started, s.heard)
            noise = s.noise_g()
            samples, last_t = s.count.copy(), s.last_t_s.copy()
            messages, rejections = dict(self.messages), {k: v for k, v in self.rejections.items() if v}
        ids, p = self.buffer.plate_ids, s.params

        def pick(mask: NDArray[np.bool_]) -> tuple[PlateId, ...]:
            return tuple(ids[i] for i in np.flatnonzero(mask))

        with np.errstate(invalid="ignore"):
            return IngestHealth(
                ids,
                silent_s,
                samples,
                last_t,
                noise,
                pick(silent_s > p.silent_after_s),
                pick(noise > p.noisy_sigma_g),
                pick(noise == 0.0),
                messages,
                rejections,
            )
