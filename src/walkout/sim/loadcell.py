"""Load-cell rendering: a timeline's weight changes -> 60 Hz plate readings (grams).

Model of one plate's reading, tared at the empty plate (all terms in grams):

    reading(t) = items on the plate (with smooth ramps while an item leaves or lands)
               + a resting item's partial load (30-90% of it, fluctuating) before it is lifted
               + damped oscillation after each change: A exp(-4 (t - t1) / T) sin(2 pi f (t - t1)),
                 f in 1-4 Hz, settling time T in 0.3-1.5 s, A up to 40% of the change
               + a leaning hand's pressure (50-800 g, fluctuating) on the plates under it
               + slow drift: a per-plate sinusoid, at most +/- 3 g per 10 minutes
               + white noise, 1.5 g (1 sigma)

Every plate is sampled on one shared clock ``t_k = k / rate_hz``. The whole (ticks x plates)
matrix is built with numpy: weight steps go into a difference array that one cumulative sum
turns into levels, and the short transients are added on their own small windows.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from walkout.core.frames import PlateSamples
from walkout.core.store import Store
from walkout.sim.params import LoadCellParams
from walkout.sim.schedule import Timeline


def smoothstep(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Cubic ease 3x^2 - 2x^3 of x clipped to [0, 1]."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _wobble(t: NDArray[np.float64], rng: np.random.Generator) -> NDArray[np.float64]:
    """A smooth zero-mean fluctuation of roughly unit amplitude (two random sinusoids)."""
    f = rng.uniform(0.3, 2.0, size=2)
    ph = rng.uniform(0.0, 2 * np.pi, size=2)
    return 0.7 * np.sin(2 * np.pi * f[0] * t + ph[0]) + 0.5 * np.sin(2 * np.pi * f[1] * t + ph[1])


class _Signal:
    """The (ticks x plates) reading under construction (private, mutable)."""

    def __init__(self, n_ticks: int, initial_g: NDArray[np.float64], rate_hz: float) -> None:
        self.rate = rate_hz
        self.t = np.arange(n_ticks) / rate_hz
        self.diff = np.zeros((n_ticks + 1, initial_g.shape[0]))
        self.diff[0] = initial_g
        self.windows: list[tuple[int, int, NDArray[np.float64]]] = []

    def tick(self, t_s: float) -> int:
        """Index of the first tick at or after t_s, clipped to [0, n_ticks]."""
        return int(np.clip(np.ceil(t_s * self.rate - 1e-9), 0, self.t.shape[0]))

    def step(self, plate: int, t_s: float, delta_g: float) -> None:
        self.diff[self.tick(t_s), plate] += delta_g

    def window(self, plate: int, t0_s: float, t1_s: float) -> tuple[int, NDArray[np.float64]]:
        k0, k1 = self.tick(t0_s), self.tick(t1_s)
        return k0, self.t[k0:k1]

    def add(self, plate: int, k0: int, values: NDArray[np.float64]) -> None:
        if values.size:
            self.windows.append((plate, k0, values))


def _change(
    sig: _Signal,
    plate: int,
    delta: float,
    t0: float,
    t1: float,
    rest_t0: float,
    rest_frac: float,
    params: LoadCellParams,
    rng: np.random.Generator,
) -> None:
    k0, tt = sig.window(plate, t0, t1)
    s = smoothstep((tt - t0) / max(t1 - t0, 1e-6))
    sig.add(plate, k0, delta * s)
    sig.step(plate, t1, delta)
    if np.isfinite(rest_t0) and delta < 0:
        kr, tr = sig.window(plate, rest_t0, t1)
        ease = np.where(tr < t0, smoothstep((tr - rest_t0) / 0.2), 1.0 - smoothstep((tr - t0) / max(t1 - t0, 1e-6)))
        frac = np.clip(rest_frac + params.rest_fluct * _wobble(tr, rng), 0.05, 1.0)
        sig.add(plate, kr, delta * (1.0 - frac) * ease)


def _ring(
    sig: _Signal,
    level: NDArray[np.float64],
    plate: int,
    delta: float,
    t1: float,
    params: LoadCellParams,
    rng: np.random.Generator,
) -> float:
    """Add the damped oscillation after a change completing at ``t1``; returns its settling time (s)."""
    settle = rng.uniform(*params.ring_settle_s)
    freq = rng.uniform(*params.ring_freq_hz)
    amp = rng.uniform(*params.ring_amp_frac) * abs(delta) * rng.choice([-1.0, 1.0])
    k1 = min(sig.tick(t1), level.shape[0] - 1)
    cap = max(level[k1, plate] - params.min_reading_g, 0.0)
    amp = float(np.clip(amp, -cap, cap))
    k0, tt = sig.window(plate, t1, t1 + 2.0 * settle)
    x = tt - t1
    sig.add(plate, k0, amp * np.exp(-4.0 * x / settle) * np.sin(2 * np.pi * freq * x))
    return float(settle)


def _touch(
    sig: _Signal, plate: int, t0: float, t1: float, mass_g: float, params: LoadCellParams, rng: np.random.Generator
) -> None:
    k0, tt = sig.window(plate, t0, t1)
    edge = max(min(0.1, (t1 - t0) / 3.0), 1e-3)
    env = smoothstep((tt - t0) / edge) * smoothstep((t1 - tt) / edge)
    sig.add(plate, k0, mass_g * env * (1.0 + params.touch_fluct_frac * _wobble(tt, rng)))


def _drift(
    t: NDArray[np.float64], n_plates: int, params: LoadCellParams, rng: np.random.Generator
) -> NDArray[np.float64]:
    """(ticks, plates) drift: A (sin(w t + phi) - sin(phi)), bounded by drift_max_g_per_10min."""
    period = rng.uniform(*params.drift_period_s, size=n_plates)
    phase = rng.uniform(0.0, 2 * np.pi, size=n_plates)
    # the change over 600 s of A sin(w t + phi) is at most min(2 A, A w 600)
    amp = (
        rng.uniform(0.0, 1.0, size=n_plates)
        * params.drift_max_g_per_10min
        / np.minimum(2.0, 2 * np.pi * 600.0 / period)
    )
    return amp * (np.sin(np.outer(t, 2 * np.pi / period) + phase) - np.sin(phase))


def plate_signals(
    initial_g: NDArray[np.float64], timeline: Timeline, params: LoadCellParams, rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.float32], NDArray[np.float64]]:
    """Render every plate's reading for the whole recording.

    Args:
        initial_g: (plates,) float64 weight on each plate at t = 0, grams.
        timeline: the scheduled weight changes and hand touches.
        params: load-cell model parameters.
        rng: random generator (oscillations, fluctuations, drift, noise).

    Returns:
        ``(t_s, mass_g, settled_t_s)``: (ticks,) float64 seconds since the recording's start,
        (ticks, plates) float32 readings in grams, and (changes,) float64 the time each of
        ``timeline``'s weight changes has settled (its oscillation decayed to ~2%; ground truth
        for evaluation, e.g. the live latency benchmark).
    """
    n_ticks = int(np.floor(timeline.duration_s * params.rate_hz)) + 1
    sig = _Signal(n_ticks, np.asarray(initial_g, dtype=np.float64), params.rate_hz)
    rows = zip(
        timeline.change_plate,
        timeline.change_delta_g,
        timeline.change_t_s,
        timeline.change_rest_t0_s,
        timeline.change_rest_frac,
        strict=True,
    )
    for plate, delta, (t0, t1), rest_t0, rest_frac in rows:
        _change(sig, int(plate), float(delta), float(t0), float(t1), float(rest_t0), float(rest_frac), params, rng)
    level = np.cumsum(sig.diff[:n_ticks], axis=0)
    settled = np.array([t1 + _ring(sig, level, int(plate), float(delta), float(t1), params, rng) for plate, delta, (_, t1)
                        in zip(timeline.change_plate, timeline.change_delta_g, timeline.change_t_s, strict=True)],
                       dtype=np.float64).reshape(-1)
    for plate, (t0, t1), mass in zip(timeline.touch_plate, timeline.touch_t_s, timeline.touch_g, strict=True):
        _touch(sig, int(plate), float(t0), float(t1), float(mass), params, rng)
    for plate, k0, values in sig.windows:
        level[k0 : k0 + values.shape[0], plate] += values
    level += _drift(sig.t, level.shape[1], params, rng)
    out = level.astype(np.float32)
    out += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(params.noise_sigma_g)
    return sig.t, out, settled


def plate_samples(store: Store, t_s: NDArray[np.float64], mass_g: NDArray[np.float32]) -> PlateSamples:
    """Flatten (ticks, plates) readings into time-major :class:`PlateSamples` (store plate order)."""
    n_ticks, n_plates = mass_g.shape
    return PlateSamples(
        plate_ids=tuple(p.id for p in store.plates),
        plate=np.tile(np.arange(n_plates, dtype=np.int32), n_ticks),
        t_s=np.repeat(t_s, n_plates),
        mass_g=np.ascontiguousarray(mass_g).reshape(-1),
    )
