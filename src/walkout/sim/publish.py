"""Replay a recording as the store's devices would send it: to MQTT, in real time or faster.

:class:`RecordingPublisher` plays a :class:`~walkout.io.recording.Recording` through any
:class:`~walkout.io.mqtt.Transport` (a Mosquitto connection or the in-process broker) on the
topics of ``docs/mqtt.md``:

* a ``start`` control message (name, duration, planogram, ``start_unix_s``), then ticks: every
  ``batch_s`` of wall time, everything the recording holds before the tick's store-clock
  horizon: one bulk ``walkout/<store>/plates`` message per gondola (a gondola controller), or
  one message per plate with ``per_plate_topics``; one message per gate scan; one people
  message; at the end an ``end`` control message (``complete=False`` when stopped early).
* Time: recording time ``t_s`` is played at wall time ``t0 + t_s / speed`` on a monotonic
  clock; the message rate is set by ``batch_s`` (wall), not by ``speed``: at any speed the
  nanostore's 306 plates make 5 bulk messages per tick. A tick never spans more than
  ``max_batch_rec_s`` of recording time (``speed=inf``: as fast as the transport takes it).
* ``lag_s`` is how late the last tick went out against its schedule (0 at ``speed=inf``).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from walkout.core.frames import PersonObservations
from walkout.core.store import PlateId
from walkout.io.mqtt import (
    PahoTransport,
    Topics,
    Transport,
    encode_control,
    encode_people,
    encode_plate,
    encode_plates,
    encode_scan,
)
from walkout.io.recording import Recording

DEFAULT_DEVICE = "sim-publisher"
_COUNTERS = ("messages", "samples", "scans", "observations")


@dataclass(frozen=True)
class PublishStats:
    """What a publisher sent so far.

    Attributes:
        messages: messages handed to the transport.
        samples: plate samples sent.
        scans: gate scans sent.
        observations: tracker rows sent.
        t_s: store-clock horizon published so far (every row before it went out).
        lag_s: lateness of the last tick against its schedule, wall seconds (>= 0).
        max_lag_s: the largest ``lag_s`` seen.
        wall_s: wall time since the start message.
        done: the end message went out.
        stopped: :meth:`RecordingPublisher.stop` cut the replay short.
    """

    messages: int = 0
    samples: int = 0
    scans: int = 0
    observations: int = 0
    t_s: float = 0.0
    lag_s: float = 0.0
    max_lag_s: float = 0.0
    wall_s: float = 0.0
    done: bool = False
    stopped: bool = False


def _slices(t_s: NDArray[np.float64]) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    order = np.argsort(t_s, kind="stable")
    return order, t_s[order]


class RecordingPublisher:
    """Publishes one recording; :meth:`run` blocks, :meth:`start` runs it in a thread.

    Args:
        rec: the recording.
        transport: where to publish (not closed by the publisher).
        store_name: the topics' store segment (default ``rec.store.name``).
        device: the device id in every payload.
        device_token: the device's token (checked by the ingest's ``verify_device``).
        speed: recording seconds per wall second (> 0; ``math.inf``: no waiting).
        batch_s: wall seconds between ticks.
        max_batch_rec_s: most recording seconds in one tick (bounds message size at high speed).
        per_plate_topics: one message per plate and tick instead of one per gondola.

    Raises:
        ValueError: ``speed``, ``batch_s`` or ``max_batch_rec_s`` not > 0.
    """

    def __init__(
        self,
        rec: Recording,
        transport: Transport,
        store_name: str | None = None,
        *,
        device: str = DEFAULT_DEVICE,
        device_token: str = "",
        speed: float = 1.0,
        batch_s: float = 0.2,
        max_batch_rec_s: float = 5.0,
        per_plate_topics: bool = False,
    ) -> None:
        for name, v in (("speed", speed), ("batch_s", batch_s), ("max_batch_rec_s", max_batch_rec_s)):
            if not v > 0:
                raise ValueError(f"RecordingPublisher.{name}: expected > 0, got {v}")
        self.rec, self.transport, self.device, self.token = rec, transport, device, device_token
        self.topics = Topics(store_name if store_name is not None else rec.store.name)
        self.speed, self.per_plate_topics = speed, per_plate_topics
        self.clock = time.monotonic
        self.tick_rec_s = min(batch_s * speed, max_batch_rec_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stats = PublishStats()
        self._lock = threading.Lock()
        self._plates = _slices(rec.plates.t_s)
        self._scans = _slices(rec.scans.t_s)
        self._people = _slices(rec.people.t_s)
        ids = rec.plates.plate_ids
        self._gondola = np.array([p.gondola for p in ids], np.int64) if ids else np.zeros(0, np.int64)

    # ---- control
    def start(self) -> RecordingPublisher:
        """Run :meth:`run` in a daemon thread; returns self."""
        self._thread = threading.Thread(target=self.run, name=f"publish-{self.rec.meta.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the replay to stop after the current tick (an ``end`` with ``complete=False`` follows)."""
        self._stop.set()

    def join(self, timeout_s: float | None = None) -> PublishStats:
        """Wait for the thread started by :meth:`start`; returns the stats."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        return self.stats

    @property
    def stats(self) -> PublishStats:
        """A snapshot of :class:`PublishStats`."""
        with self._lock:
            return self._stats

    @property
    def lag_s(self) -> float:
        """How late the last tick went out, wall seconds."""
        return self.stats.lag_s

    def _update(self, **kw: Any) -> None:
        """Add to the counters (messages, samples, scans, observations), set the other fields."""
        with self._lock:
            s = self._stats
            self._stats = replace(s, **{k: getattr(s, k) + v if k in _COUNTERS else v for k, v in kw.items()})

    # ---- the replay
    def run(self) -> PublishStats:
        """Publish the whole recording (or until :meth:`stop`); returns the final stats."""
        meta = self.rec.meta
        t0 = self.clock()
        self._send(
            self.topics.control,
            encode_control(
                self.device,
                self.token,
                "start",
                meta.name,
                duration_s=meta.duration_s,
                planogram=meta.planogram,
                start_unix_s=meta.start_unix_s,
                wall_start_unix_s=time.time(),
            ),
        )
        t_end = max(
            [meta.duration_s, *(float(s[1][-1]) for s in (self._plates, self._scans, self._people) if len(s[1]))]
        )
        done_s, k = -math.inf, 0
        while done_s <= t_end and not self._stop.is_set():
            k += 1
            horizon = k * self.tick_rec_s
            due = t0 + horizon / self.speed if math.isfinite(self.speed) else t0
            if self._stop.wait(max(0.0, due - self.clock())):
                break
            lag = max(0.0, self.clock() - due) if math.isfinite(self.speed) else 0.0
            with self._lock:
                max_lag = max(self._stats.max_lag_s, lag)
            self._tick(done_s, horizon if horizon <= t_end else math.inf)
            done_s = horizon
            self._update(t_s=min(horizon, t_end), lag_s=lag, max_lag_s=max_lag, wall_s=self.clock() - t0)
        stopped = self._stop.is_set() and done_s <= t_end
        self._send(self.topics.control, encode_control(self.device, self.token, "end", meta.name, complete=not stopped))
        self.transport.flush()
        self._update(done=True, stopped=stopped, wall_s=self.clock() - t0)
        return self.stats

    def _send(self, topic: str, payload: bytes) -> None:
        self.transport.publish(topic, payload)
        self._update(messages=1)

    @staticmethod
    def _window(sl: tuple[NDArray[np.intp], NDArray[np.float64]], lo: float, hi: float) -> NDArray[np.intp]:
        order, t = sl
        return order[np.searchsorted(t, lo, "left") : np.searchsorted(t, hi, "left")]

    def _tick(self, lo: float, hi: float) -> None:
        """Publish every row with ``lo <= t_s < hi`` (``lo = -inf`` on the first tick)."""
        self._tick_plates(self._window(self._plates, lo, hi))
        scans = self._window(self._scans, lo, hi)
        for i in scans.tolist():
            gate, t, code = self.rec.scans.gate_id[i], float(self.rec.scans.t_s[i]), str(self.rec.scans.token[i])
            self._send(self.topics.scans(str(gate)), encode_scan(self.device, self.token, t, code))
        rows = self._window(self._people, lo, hi)
        if len(rows):
            p = self.rec.people
            obs = PersonObservations(
                p.t_s[rows], p.track_id[rows], p.head_xyz_m[rows], p.left_hand_xyz_m[rows], p.right_hand_xyz_m[rows]
            )
            self._send(self.topics.people, encode_people(self.device, self.token, obs))
        self._update(scans=len(scans), observations=len(rows))

    def _tick_plates(self, rows: NDArray[np.intp]) -> None:
        if not len(rows):
            return
        ps = self.rec.plates
        plate = ps.plate[rows]
        rows = rows[np.lexsort((plate, self._gondola[plate]))]  # by gondola, plate; time order kept per plate
        plate = ps.plate[rows]
        cuts = np.flatnonzero(np.diff(plate)) + 1
        groups = [
            (ps.plate_ids[int(plate[g[0]])], ps.t_s[rows[g]], ps.mass_g[rows[g]])
            for g in np.split(np.arange(len(rows)), cuts)
        ]
        if self.per_plate_topics:
            for pid, t, m in groups:
                self._send(self.topics.plate(pid), encode_plate(self.device, self.token, t, m))
        else:
            by_gondola: dict[int, list[tuple[PlateId, NDArray[np.float64], NDArray[np.float32]]]] = {}
            for g in groups:
                by_gondola.setdefault(g[0].gondola, []).append(g)
            for entries in by_gondola.values():
                self._send(self.topics.plates, encode_plates(self.device, self.token, entries))
        self._update(samples=len(rows))


def publish_recording(
    rec: Recording,
    host: str,
    port: int,
    store_name: str | None = None,
    speed: float = 1.0,
    device_token: str = "",
    *,
    device: str = DEFAULT_DEVICE,
    batch_s: float = 0.2,
    per_plate_topics: bool = False,
) -> PublishStats:
    """Publish ``rec`` to the MQTT broker at ``host:port`` and return when it is all sent.

    Args:
        rec: the recording.
        host, port: the broker.
        store_name: the topics' store segment (default ``rec.store.name``).
        speed: recording seconds per wall second (``math.inf``: no waiting).
        device_token: the token of ``device``.
        device: the device id in every payload.
        batch_s: wall seconds between ticks.
        per_plate_topics: one message per plate and tick instead of one per gondola.

    Returns:
        The final :class:`PublishStats` (every message acknowledged by the broker, QoS 1).

    Raises:
        BrokerUnavailable: the broker cannot be reached.
        ValueError: ``speed`` or ``batch_s`` not > 0.
    """
    transport = PahoTransport(host, port)
    try:
        pub = RecordingPublisher(
            rec,
            transport,
            store_name,
            device=device,
            device_token=device_token,
            speed=speed,
            batch_s=batch_s,
            per_plate_topics=per_plate_topics,
        )
        return pub.run()
    finally:
        transport.close()
