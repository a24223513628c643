"""Vision linker: located people, frame by frame, -> tracks with stable ids.

Multi-target tracking by detection. Each track keeps a constant-velocity alpha-beta filter on
its floor position (the steady-state Kalman filter; Benedict & Bordner 1962) and an appearance
(head-top height, build, clothing hue/saturation histogram; never a face). Every frame:

1. **Association in two stages** (ByteTrack, Zhang et al. 2022): confirmed tracks are matched
   first to *strong* detections (a clear head and at least ``strong_points`` points) by optimal
   assignment (``scipy.optimize.linear_sum_assignment``) on predicted-position distance plus a
   small appearance term, gated at ``gate_m``; the tracks left over are then matched to the weak
   detections. Tentative tracks get only the strong detections the confirmed tracks left.
2. **Births**: an unmatched strong detection starts a tentative track, confirmed after
   ``confirm_frames`` hits (its earlier frames are kept) unless a confirmed track is within
   ``duplicate_m`` (then it is a second detection of that person); an unmatched detection that matches a
   recently lost track's appearance and predicted position (within ``reacquire_m``) revives it.
3. **Tangled state**: tracks within ``tangle_m`` of each other are flagged low-confidence and
   their appearance is frozen. When a tangle breaks up, the members' current appearances are
   compared with the ones kept from before; if exchanging identities explains them better, the
   ids are exchanged (re-identification).
4. **Deaths**: a track unmatched for ``max_missed_s`` is lost (kept ``keep_lost_s`` for revival).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import permutations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True)
class TrackerParams:
    """Vision linker parameters (metres, seconds)."""

    gate_m: float = 0.45
    strong_points: int = 60
    appearance_weight_m: float = 0.15
    confirm_frames: int = 3
    duplicate_m: float = 0.35
    max_missed_s: float = 0.7
    keep_lost_s: float = 6.0
    reacquire_m: float = 1.5
    reacquire_cost: float = 1.2
    revive_m: float = 0.5
    tangle_m: float = 0.6
    untangle_m: float = 0.75
    alpha: float = 0.6
    beta: float = 0.2
    appearance_alpha: float = 0.1
    swap_margin: float = 0.5


@dataclass(frozen=True)
class Appearance:
    """Appearance kept for re-identification: head-top height (m), build (m), colour histogram."""

    top_m: float
    build_m: float
    hist: NDArray[np.float32]


def hellinger(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    """Hellinger distance (0 same .. 1 disjoint) between two normalised histograms of one shape."""
    return float(np.sqrt(max(0.0, 1.0 - float(np.sum(np.sqrt(a * b))))))


def appearance_distance(a: Appearance, b: Appearance) -> float:
    """Unitless distance: height difference / 4 cm + build difference / 3 cm + 4 x Hellinger(hist)."""
    hell = hellinger(a.hist, b.hist)
    build = abs(a.build_m - b.build_m) / 0.03 if np.isfinite(a.build_m) and np.isfinite(b.build_m) else 0.0
    return abs(a.top_m - b.top_m) / 0.04 + build + 4.0 * hell


def _blend(a: Appearance, b: Appearance, w: float) -> Appearance:
    build = b.build_m if not np.isfinite(a.build_m) else a.build_m if not np.isfinite(b.build_m) else (1 - w) * a.build_m + w * b.build_m
    return Appearance((1 - w) * a.top_m + w * b.top_m, build, ((1 - w) * a.hist + w * b.hist).astype(np.float32))


@dataclass
class _Track:
    tid: int
    xy: NDArray[np.float64]
    v: NDArray[np.float64]
    app: Appearance
    last_frame: int
    hits: int = 1
    confirmed: bool = False
    tangled_with: set[int] = field(default_factory=set)
    app_before: Appearance | None = None
    last_app: Appearance | None = None
    rows: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class FrameDetections:
    """The detections of one frame, as the linker needs them.

    Attributes:
        xy_m: (d, 2) floor position (torso centre), metres.
        strong: (d,) bool, a clear detection.
        app: d appearances.
        row: (d,) int64 caller's row id of each detection (returned in the assignments).
    """

    xy_m: NDArray[np.float64]
    strong: NDArray[np.bool_]
    app: list[Appearance]
    row: NDArray[np.int64]


class Linker:
    """Stateful frame-by-frame vision linker (see the module docstring).

    Feed frames in time order with :meth:`step`; read the row -> track id assignment and the
    tangled rows with :meth:`result` at any time.
    """

    def __init__(self, fps: float, params: TrackerParams = TrackerParams()) -> None:
        self.p = params
        self.dt = 1.0 / fps
        self.max_missed = max(1, int(round(params.max_missed_s * fps)))
        self.keep_lost = int(round(params.keep_lost_s * fps))
        self.tracks: list[_Track] = []
        self.lost: list[_Track] = []
        self.next_id = 1
        self.assigned: dict[int, int] = {}
        self.tangled_rows: set[int] = set()
        self.swaps: list[tuple[int, int, int]] = []
        self.frame = 0

    # ---------------------------------------------------------------- per frame
    def step(self, frame: int, det: FrameDetections) -> None:
        """Advance to ``frame`` (an increasing integer) with its detections."""
        self.frame = frame
        unmatched = list(range(len(det.row)))
        strong = [i for i in unmatched if det.strong[i]]
        weak = [i for i in unmatched if not det.strong[i]]
        left, used = self._match([t for t in self.tracks if t.confirmed], strong, det, frame)
        _, m2 = self._match(left, weak, det, frame)
        used |= m2
        # tentative tracks only get what the confirmed ones left (a duplicate detection of a
        # person must not take over their track)
        _, m3 = self._match([t for t in self.tracks if not t.confirmed], [i for i in strong if i not in used],
                            det, frame)
        used |= m3
        for i in strong:
            if i not in used:
                self._birth(frame, det, i)
        self._retire(frame)
        self._tangles(frame, det)

    def _pred(self, t: _Track, frame: int) -> NDArray[np.float64]:
        """Predicted floor position of a track at ``frame`` (constant velocity)."""
        return t.xy + t.v * self.dt * (frame - t.last_frame)

    def _cost(self, tracks: list[_Track], idx: list[int], det: FrameDetections) -> NDArray[np.float64]:
        c = np.full((len(tracks), len(idx)), 1e6)
        for a, t in enumerate(tracks):
            d = np.linalg.norm(det.xy_m[idx] - self._pred(t, self.frame), axis=1)
            for b, i in enumerate(idx):
                if d[b] < self.p.gate_m:
                    app = 0.0 if t.tangled_with else appearance_distance(t.app, det.app[i])
                    c[a, b] = d[b] + self.p.appearance_weight_m * min(app, 4.0) / 4.0
        return c

    def _match(self, tracks: list[_Track], idx: list[int], det: FrameDetections, frame: int
               ) -> tuple[list[_Track], set[int]]:
        if not tracks or not idx:
            return tracks, set()
        c = self._cost(tracks, idx, det)
        ra, cb = linear_sum_assignment(c)
        used, done = set(), set()
        for a, b in zip(ra, cb, strict=True):
            if c[a, b] >= 1e6:
                continue
            self._update(tracks[a], frame, det, idx[b])
            used.add(idx[b])
            done.add(a)
        return [t for a, t in enumerate(tracks) if a not in done], used

    def _update(self, t: _Track, frame: int, det: FrameDetections, i: int) -> None:
        gap = max(1, frame - t.last_frame)
        pred = self._pred(t, frame)
        resid = det.xy_m[i] - pred
        t.xy = pred + self.p.alpha * resid
        t.v = t.v + self.p.beta * resid / (self.dt * gap)
        speed = float(np.hypot(*t.v))
        if speed > 2.5:
            t.v *= 2.5 / speed
        if not t.tangled_with:
            t.app = _blend(t.app, det.app[i], self.p.appearance_alpha)
        t.last_app = det.app[i]
        t.last_frame = frame
        t.hits += 1
        t.rows.append(int(det.row[i]))
        if not t.confirmed and t.hits >= self.p.confirm_frames and not self._duplicate(t, frame):
            t.confirmed = True
            if t.tid == 0:
                t.tid = self._revived_id(t) or self._new_id()
            for r in t.rows:
                self.assigned[r] = t.tid
        elif t.confirmed:
            self.assigned[int(det.row[i])] = t.tid

    def _duplicate(self, t: _Track, frame: int) -> bool:
        """A tentative track this close to a confirmed one is a second detection of that person
        (an arm raised above the shoulders), not somebody new: it is not confirmed while it is."""
        return any(o.confirmed and float(np.linalg.norm(self._pred(o, frame) - t.xy)) < self.p.duplicate_m
                   for o in self.tracks)

    def _revived_id(self, t: _Track) -> int | None:
        """The id of a lost track last seen within ``revive_m`` of a newly confirmed one, if any."""
        near = [(float(np.linalg.norm(o.xy - t.xy)), k) for k, o in enumerate(self.lost)]
        near = [x for x in near if x[0] < self.p.revive_m]
        if not near:
            return None
        return self.lost.pop(min(near)[1]).tid

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def _birth(self, frame: int, det: FrameDetections, i: int) -> None:
        best, best_c = None, self.p.reacquire_cost
        for t in self.lost:
            gap_s = (frame - t.last_frame) * self.dt
            d = float(np.linalg.norm(det.xy_m[i] - t.xy))  # last seen position: people stop
            if d < self.p.revive_m:  # back where it was lost a moment ago: the same person
                c = d / self.p.revive_m - 1.0
            elif d < self.p.reacquire_m + 0.5 * gap_s:
                c = appearance_distance(t.app, det.app[i]) / 4.0 + d / (self.p.reacquire_m + 0.5 * gap_s)
            else:
                continue
            if c < best_c:
                best, best_c = t, c
        if best is not None:
            self.lost.remove(best)
            best.xy, best.v = det.xy_m[i].astype(np.float64), np.zeros(2)
            best.last_frame = frame
            best.rows.append(int(det.row[i]))
            self.assigned[int(det.row[i])] = best.tid
            self.tracks.append(best)
            return
        self.tracks.append(_Track(0, det.xy_m[i].astype(np.float64), np.zeros(2), det.app[i], frame,
                                  rows=[int(det.row[i])]))

    def _retire(self, frame: int) -> None:
        keep = []
        for t in self.tracks:
            if frame - t.last_frame <= self.max_missed:
                keep.append(t)
            elif t.confirmed:
                t.tangled_with = set()
                self.lost.append(t)
        self.tracks = keep
        self.lost = [t for t in self.lost if frame - t.last_frame <= self.keep_lost]

    # ---------------------------------------------------------------- tangles
    def _tangles(self, frame: int, det: FrameDetections) -> None:
        live = [t for t in self.tracks if t.confirmed and t.last_frame == frame]
        close: dict[int, set[int]] = {t.tid: set() for t in live}
        for a in range(len(live)):
            for b in range(a + 1, len(live)):
                d = float(np.linalg.norm(live[a].xy - live[b].xy))
                ta, tb = live[a], live[b]
                was = tb.tid in ta.tangled_with
                if d < self.p.tangle_m or (was and d < self.p.untangle_m):
                    close[ta.tid].add(tb.tid)
                    close[tb.tid].add(ta.tid)
        for t in live:
            if close[t.tid] and not t.tangled_with:
                t.app_before = t.app
            if close[t.tid]:
                self.tangled_rows.add(t.rows[-1])
        released = {t.tid: t for t in live if t.tangled_with and not close[t.tid]}
        groups: list[list[_Track]] = []
        seen: set[int] = set()
        for tid, t in released.items():
            if tid not in seen:
                members = [t] + [released[o] for o in sorted(t.tangled_with) if o in released and o not in seen]
                seen.update(m.tid for m in members)
                groups.append(members)
        for t in live:
            t.tangled_with = close[t.tid]
        for g in groups:
            if len(g) >= 2:
                self._reidentify(frame, g)
            for t in g:
                t.app_before = None

    def _reidentify(self, frame: int, group: list[_Track]) -> None:
        """Exchange ids within a tangle that broke up when appearance says they were swapped."""
        group = [t for t in group if t.app_before is not None and t.last_app is not None][:4]
        if len(group) < 2:
            return
        before = [t.app_before for t in group if t.app_before is not None]
        now = [t.last_app for t in group if t.last_app is not None]
        base = float(sum(appearance_distance(b, a) for b, a in zip(before, now, strict=True)))
        best, best_cost = None, base - self.p.swap_margin
        for perm in permutations(range(len(group))):
            if perm == tuple(range(len(group))):
                continue
            cost = float(sum(appearance_distance(before[j], now[i]) for i, j in enumerate(perm)))
            if cost < best_cost:
                best, best_cost = perm, cost
        if best is None:
            return
        old = [(t.tid, t.app_before) for t in group]
        for i, j in enumerate(best):
            t = group[i]
            t.tid, t.app = old[j][0], old[j][1]  # type: ignore[assignment]
            self.swaps.append((frame, old[i][0], t.tid))
            self.assigned[t.rows[-1]] = t.tid

    # ---------------------------------------------------------------- result
    def result(self) -> tuple[dict[int, int], set[int]]:
        """(row -> track id for confirmed tracks, rows flagged tangled)."""
        return dict(self.assigned), set(self.tangled_rows)
