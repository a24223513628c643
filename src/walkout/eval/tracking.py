"""Multi-object tracking metrics for people tracks: HOTA, CLEAR MOT, IDF1 and hand position error.

The engine's person tracks (floor positions from the ceiling depth cameras) are compared with the
simulator's true positions, frame by frame on the shared 15 Hz clock (frame ``k = round(t_s *
rate_hz)``). Distances are on the floor (world frame, x and y in metres).

- **CLEAR MOT** (Bernardin & Stiefelhagen 2008, "Evaluating Multiple Object Tracking
  Performance: The CLEAR MOT Metrics", EURASIP J. Image and Video Processing 2008:246309) and
  **IDF1 / IDP / IDR** (Ristani et al. 2016, "Performance Measures and a Data Set for
  Multi-Target, Multi-Camera Tracking", ECCV Workshops) come from ``motmetrics`` (py-motmetrics):
  a true and a predicted position may match when their floor distance is below ``match_m``
  (we hand it the distance matrix with NaN for pairs at or beyond ``match_m``). MOTA =
  1 - (misses + false positives + ID switches) / true positions; MOTP = mean floor distance of
  the matches, metres; an ID switch is counted per true person whose matched track id differs
  from the one it was last matched to (two people swapping tracks are 2 switches).
- **HOTA** (Luiten et al. 2021, "HOTA: A Higher Order Metric for Evaluating Multi-Object
  Tracking", IJCV 129:548-578) is computed here, line by line after TrackEval's
  ``trackeval.metrics.HOTA.eval_sequence`` (no HOTA library installs cleanly next to headless
  OpenCV; see ``docs/evaluation.md``), with the floor similarity ``S = max(0, 1 - d / match_m)``:
  for each alpha in 0.05, 0.10, ..., 0.95 a pair matches when ``S >= alpha`` (``d <= (1 - alpha)
  match_m``), and HOTA, DetA, AssA and LocA are means over the 19 alphas of
  ``sqrt(DetA_a * AssA_a)``, ``DetA_a``, ``AssA_a`` and ``LocA_a``. The tests check it against
  TrackEval's numbers on the same data.
- **Hand error**: for each (true, predicted) pair matched by the CLEAR step, each predicted hand
  with finite coordinates is compared with the nearer present hand of that true person (3D
  distance, centimetres); median and 95th percentile (numpy's linear interpolation).

Scores of several recordings are pooled the way the libraries combine sequences (TrackEval's
``combine_sequences``, motmetrics' ``compute_many(..., generate_overall=True)``): every recording
is evaluated on its own (ids never meet across recordings), then counts are summed, AssA and
LocA are averaged weighted by each recording's HOTA true positives, and the ratios are recomputed.

Ratios with nothing to count use the evaluator's 0/0 = 1.0 convention (an empty recording with
no predictions scores 1.0); MOTA with predictions but no true positions, MOTP without matches and
hand statistics without compared hands are NaN (``None`` in JSON).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

#: the shared clock of truth and engine tracks, Hz.
RATE_HZ = 15.0
#: floor distance below which a true and a predicted position may match (CLEAR, IDF1), metres.
MATCH_M = 0.5
#: HOTA's localisation thresholds, exactly TrackEval's ``HOTA.array_labels`` (19 values).
HOTA_ALPHAS: tuple[float, ...] = tuple(float(a) for a in np.arange(0.05, 0.99, 0.05))
_EPS = float(np.finfo(np.float64).eps)
_CLEAR_COUNTS = ("num_switches", "num_misses", "num_false_positives", "idtp", "idfp", "idfn")
_DICT_KEYS = ("hota", "det_a", "ass_a", "loc_a", "mota", "motp_m", "idf1", "idp", "idr", "id_switches")
_DICT_KEYS += ("hands_compared", "hand_median_cm", "hand_p95_cm", "frames", "truth_tracks", "pred_tracks")
_DICT_KEYS += ("truth_dets", "pred_dets", "matches", "misses", "false_positives", "idtp", "idfp", "idfn")
_DICT_KEYS += ("recordings", "rate_hz", "match_m")


def _field(name: str, value: Any, shape: tuple[int, ...], integer: bool) -> NDArray[Any]:
    """A read-only copy of ``value`` as int64 / float64, or ValueError naming the field."""
    arr = np.asarray(value)
    want = "(n,)" if len(shape) == 1 else "(" + ", ".join(["n", *map(str, shape[1:])]) + ")"
    if arr.shape != shape:
        raise ValueError(f"TrackSet.{name} must have shape {want} = {shape}, got {arr.shape}")
    kinds = "iu" if integer else "iuf"
    if arr.dtype.kind not in kinds:
        raise ValueError(f"TrackSet.{name} must be {'integer' if integer else 'numeric'}, got dtype {arr.dtype}")
    arr = arr.astype(np.int64 if integer else np.float64, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class TrackSet:
    """Person tracks of one recording: one row per (frame, track), one array per field.

    Arrays are copied to read-only int64 / float64 on construction.

    Attributes:
        t_s: (n,) float64, frame times in seconds on the recording clock (frames of the shared
            clock, ``t_s = k / rate_hz``; rounded to the nearest frame when scored).
        track_id: (n,) int64, the track: the true person's index for the truth, the engine's
            track id for a prediction. At most one row per (frame, track_id).
        xy_m: (n, 2) float64, floor position, world frame, metres (finite).
        hands_xyz_m: (n, 2, 3) float64, left / right hand position, world frame, metres, z up;
            NaN where the hand is absent (a hand counts as present when all three are finite).

    Raises:
        ValueError: if a field has the wrong shape or dtype (the message names the field and
            quotes the expected and actual shape), or ``t_s`` / ``xy_m`` are not finite.
    """

    t_s: NDArray[np.float64]
    track_id: NDArray[np.int64]
    xy_m: NDArray[np.float64]
    hands_xyz_m: NDArray[np.float64]

    def __post_init__(self) -> None:
        t = np.asarray(self.t_s)
        if t.ndim != 1:
            raise ValueError(f"TrackSet.t_s must have shape (n,), got {t.shape}")
        n = t.shape[0]
        for name, shape, integer in (
            ("t_s", (n,), False),
            ("track_id", (n,), True),
            ("xy_m", (n, 2), False),
            ("hands_xyz_m", (n, 2, 3), False),
        ):
            object.__setattr__(self, name, _field(name, getattr(self, name), shape, integer))
        for name in ("t_s", "xy_m"):
            if not np.isfinite(getattr(self, name)).all():
                raise ValueError(f"TrackSet.{name} must be finite")

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    @classmethod
    def empty(cls) -> TrackSet:
        """A track set with no rows (e.g. an engine that tracked nobody)."""
        return cls(np.zeros(0), np.zeros(0, np.int64), np.zeros((0, 2)), np.zeros((0, 2, 3)))


def _div(num: float, den: float, empty: float = 1.0) -> float:
    """``num / den``; ``empty`` when ``den`` is 0 (the evaluator's 0/0 = 1.0 by default)."""
    return empty if den == 0 else float(num) / float(den)


@dataclass(frozen=True)
class TrackingScores:
    """Tracking scores of one recording, or pooled over several (:func:`combine_tracking_scores`).

    The fields are the raw counts; the metrics are properties computed from them.

    Attributes:
        recordings: number of recordings pooled (1 from :func:`tracking_scores`).
        rate_hz: clock rate used to put times on frames, Hz.
        match_m: floor distance threshold of CLEAR / IDF1 matches and HOTA's similarity, metres.
        frames: frames with at least one true or predicted position.
        truth_tracks, pred_tracks: distinct true people / predicted track ids (summed over
            recordings).
        truth_dets, pred_dets: true / predicted positions (rows).
        matches, misses, false_positives, id_switches: CLEAR MOT counts (matches include the
            matches that are ID switches).
        distance_sum_m: summed floor distance of the CLEAR matches, metres.
        idtp, idfp, idfn: identity true positives, false positives, false negatives (IDF1).
        hota_tp, hota_fn, hota_fp: per alpha of :data:`HOTA_ALPHAS`, HOTA's detection counts.
        hota_ass_sum: per alpha, AssA_alpha times hota_tp (the sum of the association accuracy
            of every true positive).
        hota_loc_sum: per alpha, the summed similarity of the true positives (LocA times TP).
        hand_errors_cm: every compared hand's error, centimetres.
    """

    recordings: int
    rate_hz: float
    match_m: float
    frames: int
    truth_tracks: int
    pred_tracks: int
    truth_dets: int
    pred_dets: int
    matches: int
    misses: int
    false_positives: int
    id_switches: int
    distance_sum_m: float
    idtp: int
    idfp: int
    idfn: int
    hota_tp: tuple[int, ...]
    hota_fn: tuple[int, ...]
    hota_fp: tuple[int, ...]
    hota_ass_sum: tuple[float, ...]
    hota_loc_sum: tuple[float, ...]
    hand_errors_cm: tuple[float, ...]

    @property
    def det_a_per_alpha(self) -> NDArray[np.float64]:
        """(19,) DetA_alpha = TP / (TP + FN + FP)."""
        return np.array([_div(t, t + n + p) for t, n, p in zip(self.hota_tp, self.hota_fn, self.hota_fp, strict=True)])

    @property
    def ass_a_per_alpha(self) -> NDArray[np.float64]:
        """(19,) AssA_alpha: mean association accuracy of the true positives (0 without any)."""
        empty = [
            1.0 if t + n + p == 0 else 0.0 for t, n, p in zip(self.hota_tp, self.hota_fn, self.hota_fp, strict=True)
        ]
        return np.array([_div(s, t, e) for s, t, e in zip(self.hota_ass_sum, self.hota_tp, empty, strict=True)])

    @property
    def hota_per_alpha(self) -> NDArray[np.float64]:
        """(19,) HOTA_alpha = sqrt(DetA_alpha * AssA_alpha)."""
        return np.sqrt(self.det_a_per_alpha * self.ass_a_per_alpha)

    @property
    def hota(self) -> float:
        """HOTA, the mean of HOTA_alpha over the alphas."""
        return float(self.hota_per_alpha.mean())

    @property
    def det_a(self) -> float:
        """DetA, the mean over the alphas."""
        return float(self.det_a_per_alpha.mean())

    @property
    def ass_a(self) -> float:
        """AssA, the mean over the alphas."""
        return float(self.ass_a_per_alpha.mean())

    @property
    def loc_a(self) -> float:
        """LocA, the mean over the alphas of the true positives' mean similarity."""
        return float(np.mean([_div(s, t) for s, t in zip(self.hota_loc_sum, self.hota_tp, strict=True)]))

    @property
    def mota(self) -> float:
        """MOTA = 1 - (misses + false positives + ID switches) / true positions."""
        errors = self.misses + self.false_positives + self.id_switches
        return 1.0 - _div(errors, self.truth_dets, 0.0 if errors == 0 else float("nan"))

    @property
    def motp_m(self) -> float:
        """MOTP: mean floor distance of the CLEAR matches, metres (NaN without matches)."""
        return _div(self.distance_sum_m, self.matches, float("nan"))

    @property
    def idp(self) -> float:
        """IDP = IDTP / (IDTP + IDFP)."""
        return _div(self.idtp, self.idtp + self.idfp)

    @property
    def idr(self) -> float:
        """IDR = IDTP / (IDTP + IDFN)."""
        return _div(self.idtp, self.idtp + self.idfn)

    @property
    def idf1(self) -> float:
        """IDF1 = 2 IDTP / (2 IDTP + IDFP + IDFN)."""
        return _div(2 * self.idtp, 2 * self.idtp + self.idfp + self.idfn)

    @property
    def hand_median_cm(self) -> float:
        """Median hand error, centimetres (NaN if no hand was compared)."""
        return float(np.median(self.hand_errors_cm)) if self.hand_errors_cm else float("nan")

    @property
    def hand_p95_cm(self) -> float:
        """95th-percentile hand error, centimetres, linear interpolation (NaN if none compared)."""
        return float(np.percentile(self.hand_errors_cm, 95.0)) if self.hand_errors_cm else float("nan")

    @property
    def hands_compared(self) -> int:
        """Number of predicted hands compared with a true hand."""
        return len(self.hand_errors_cm)

    def to_dict(self) -> dict[str, Any]:
        """The scores as plain JSON types (``report.json`` ``"tracking"``); NaN becomes None."""
        out = {name: getattr(self, name) for name in _DICT_KEYS}
        return {k: None if isinstance(v, float) and not np.isfinite(v) else v for k, v in out.items()}


class _Frame(NamedTuple):
    """One frame: rows of the truth and of the prediction, and their floor distances."""

    k: int
    gt: NDArray[np.intp]
    pr: NDArray[np.intp]
    dist_m: NDArray[np.float64]


def _frame_index(name: str, tracks: TrackSet, rate_hz: float) -> NDArray[np.int64]:
    """(n,) frame numbers ``round(t_s * rate_hz)``; ValueError if a track is twice in a frame."""
    k = np.rint(tracks.t_s * rate_hz).astype(np.int64)
    keys, counts = np.unique(np.stack([k, tracks.track_id], axis=1), axis=0, return_counts=True)
    if (counts > 1).any():
        k0, i0 = keys[np.argmax(counts > 1)]
        raise ValueError(f"{name} has track_id {i0} more than once in frame {k0} (t_s ~ {k0 / rate_hz:.3f} s)")
    return k


def _group(k: NDArray[np.int64], frames: NDArray[np.int64]) -> list[NDArray[np.intp]]:
    """For each of ``frames`` (sorted), the rows whose frame number is that frame."""
    order = np.argsort(k, kind="stable")
    lo = np.searchsorted(k[order], frames, side="left")
    hi = np.searchsorted(k[order], frames, side="right")
    return [order[a:b] for a, b in zip(lo, hi, strict=True)]


def _frames(truth: TrackSet, pred: TrackSet, rate_hz: float) -> list[_Frame]:
    """Every frame with a true or predicted position, in time order."""
    kt, kp = _frame_index("truth", truth, rate_hz), _frame_index("pred", pred, rate_hz)
    ks = np.union1d(kt, kp)
    out = []
    for k, g, p in zip(ks, _group(kt, ks), _group(kp, ks), strict=True):
        d = np.linalg.norm(truth.xy_m[g][:, None, :] - pred.xy_m[p][None, :, :], axis=2)
        out.append(_Frame(int(k), g, p, d))
    return out


def _clear_identity(
    frames: Sequence[_Frame], gi: NDArray[np.intp], pi: NDArray[np.intp], match_m: float
) -> tuple[dict[str, int], NDArray[np.intp]]:
    """CLEAR MOT and identity counts from motmetrics, and the (m, 2) matched (truth, pred) rows.

    ``gi`` / ``pi`` are dense ids (0..ids-1) of the truth / prediction rows, handed to motmetrics
    instead of the raw track ids so its float-typed event table maps back exactly.
    """
    if not frames:
        return dict.fromkeys(_CLEAR_COUNTS, 0), np.zeros((0, 2), np.intp)
    import motmetrics as mm  # lazy: pandas is slow to import

    acc = mm.MOTAccumulator(auto_id=False)
    for f in frames:
        acc.update(gi[f.gt], pi[f.pr], np.where(f.dist_m < match_m, f.dist_m, np.nan), frameid=f.k)
    raw = mm.metrics.create().compute(acc, metrics=list(_CLEAR_COUNTS), return_dataframe=False)
    events = acc.mot_events
    matched = events[events["Type"].isin(["MATCH", "SWITCH"])]
    truth_row = {(f.k, int(gi[r])): int(r) for f in frames for r in f.gt}
    pred_row = {(f.k, int(pi[r])): int(r) for f in frames for r in f.pr}
    pairs = [
        (truth_row[int(k), int(o)], pred_row[int(k), int(h)])
        for k, o, h in zip(matched.index.get_level_values("FrameId"), matched["OId"], matched["HId"], strict=True)
    ]
    return {name: int(raw[name]) for name in _CLEAR_COUNTS}, np.array(pairs, np.intp).reshape(-1, 2)


def _global_alignment(
    frames: Sequence[_Frame], sims: Sequence[NDArray[np.float64]], gi: NDArray[np.intp], pi: NDArray[np.intp]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """HOTA's global alignment score (n_gt, n_pr) of every id pair, and the per-id det counts."""
    gt_count = np.bincount(gi, minlength=int(gi.max(initial=-1)) + 1).astype(np.float64)
    pr_count = np.bincount(pi, minlength=int(pi.max(initial=-1)) + 1).astype(np.float64)
    potential = np.zeros((gt_count.size, pr_count.size))
    for f, s in zip(frames, sims, strict=True):
        if s.size:
            denom = s.sum(0)[None, :] + s.sum(1)[:, None] - s
            iou = np.divide(s, denom, out=np.zeros_like(s), where=denom > _EPS)
            potential[np.ix_(gi[f.gt], pi[f.pr])] += iou
    return potential / (gt_count[:, None] + pr_count[None, :] - potential), gt_count, pr_count


def _hota(frames: Sequence[_Frame], gi: NDArray[np.intp], pi: NDArray[np.intp], match_m: float) -> dict[str, Any]:
    """HOTA's per-alpha counts, after TrackEval ``HOTA.eval_sequence`` (Luiten et al. 2021)."""
    from scipy.optimize import linear_sum_assignment  # lazy: keeps `import walkout.eval` cheap

    alphas = np.asarray(HOTA_ALPHAS)
    sims = [np.maximum(0.0, 1.0 - f.dist_m / match_m) for f in frames]
    glob, gt_count, pr_count = _global_alignment(frames, sims, gi, pi)
    tp, fn, fp, loc = (np.zeros(alphas.size) for _ in range(4))
    matches = np.zeros((alphas.size, gt_count.size, pr_count.size))
    for f, s in zip(frames, sims, strict=True):
        g, p = gi[f.gt], pi[f.pr]
        if not s.size:
            fn, fp = fn + g.size, fp + p.size
            continue
        rows, cols = linear_sum_assignment(-(glob[np.ix_(g, p)] * s))
        hit = s[rows, cols][:, None] >= alphas[None, :] - _EPS  # (pairs, alphas)
        n = hit.sum(axis=0)
        tp, fn, fp = tp + n, fn + g.size - n, fp + p.size - n
        loc += (s[rows, cols][:, None] * hit).sum(axis=0)
        matches[:, g[rows], p[cols]] += hit.T
    ass = matches / np.maximum(1.0, gt_count[None, :, None] + pr_count[None, None, :] - matches)
    return {
        "hota_tp": tuple(int(x) for x in tp),
        "hota_fn": tuple(int(x) for x in fn),
        "hota_fp": tuple(int(x) for x in fp),
        "hota_ass_sum": tuple(float(x) for x in (matches * ass).sum(axis=(1, 2))),
        "hota_loc_sum": tuple(float(x) for x in loc),
    }


def _hand_errors_cm(truth: TrackSet, pred: TrackSet, pairs: NDArray[np.intp]) -> tuple[float, ...]:
    """Each present predicted hand of each matched pair vs the nearer present true hand, cm."""
    th = truth.hands_xyz_m[pairs[:, 0]]  # (m, 2, 3)
    ph = pred.hands_xyz_m[pairs[:, 1]]
    d = np.linalg.norm(ph[:, :, None, :] - th[:, None, :, :], axis=3)  # (m, pred hand, true hand)
    nearest = np.fmin(d[:, :, 0], d[:, :, 1])  # NaN only when neither true hand is present
    return tuple(float(x) for x in nearest[np.isfinite(nearest)] * 100.0)


def tracking_scores(
    truth: TrackSet, pred: TrackSet, *, rate_hz: float = RATE_HZ, match_m: float = MATCH_M
) -> TrackingScores:
    """Score predicted person tracks against the true ones: HOTA, MOTA/MOTP, IDF1, hand error.

    Args:
        truth: the true people of one recording (``track_id`` = true person index).
        pred: the engine's tracks of the same recording; same clock, world frame, metres.
        rate_hz: the shared clock; row ``i`` is on frame ``round(t_s[i] * rate_hz)``.
        match_m: floor distance (metres): CLEAR / IDF1 pairs match when ``d < match_m``; HOTA's
            similarity is ``max(0, 1 - d / match_m)``.

    Returns:
        The recording's :class:`TrackingScores` (see the module docstring for the definitions;
        sources: Bernardin & Stiefelhagen 2008, Ristani et al. 2016, Luiten et al. 2021).

    Raises:
        ValueError: if ``rate_hz`` or ``match_m`` is not positive, or a track id appears more
            than once in one frame of ``truth`` or ``pred``.
    """
    if not (rate_hz > 0 and match_m > 0):
        raise ValueError(f"rate_hz and match_m must be > 0, got rate_hz={rate_hz}, match_m={match_m}")
    frames = _frames(truth, pred, rate_hz)
    gi = np.unique(truth.track_id, return_inverse=True)[1].astype(np.intp)
    pi = np.unique(pred.track_id, return_inverse=True)[1].astype(np.intp)
    clear, pairs = _clear_identity(frames, gi, pi, match_m)
    return TrackingScores(
        recordings=1,
        rate_hz=float(rate_hz),
        match_m=float(match_m),
        frames=len(frames),
        truth_tracks=int(np.unique(truth.track_id).size),
        pred_tracks=int(np.unique(pred.track_id).size),
        truth_dets=len(truth),
        pred_dets=len(pred),
        matches=len(pairs),
        misses=clear["num_misses"],
        false_positives=clear["num_false_positives"],
        id_switches=clear["num_switches"],
        distance_sum_m=float(np.linalg.norm(truth.xy_m[pairs[:, 0]] - pred.xy_m[pairs[:, 1]], axis=1).sum()),
        idtp=clear["idtp"],
        idfp=clear["idfp"],
        idfn=clear["idfn"],
        **_hota(frames, gi, pi, match_m),
        hand_errors_cm=_hand_errors_cm(truth, pred, pairs),
    )


_SUMMED = ("recordings", "frames", "truth_tracks", "pred_tracks", "truth_dets", "pred_dets", "matches", "misses")
_SUMMED += ("false_positives", "id_switches", "distance_sum_m", "idtp", "idfp", "idfn")
_SUMMED_PER_ALPHA = ("hota_tp", "hota_fn", "hota_fp", "hota_ass_sum", "hota_loc_sum")


def combine_tracking_scores(scores: Iterable[TrackingScores]) -> TrackingScores:
    """Pool the scores of several recordings into one, as the libraries combine sequences.

    Each recording was evaluated on its own, so track ids of different recordings never meet.
    Counts are summed (motmetrics ``compute_overall``; TrackEval ``CLEAR`` / ``Identity`` /
    ``HOTA.combine_sequences``), AssA and LocA are thus averaged weighted by HOTA true positives,
    hand errors are pooled, and every ratio is recomputed from the sums.

    Args:
        scores: per-recording (or already pooled) scores with the same ``rate_hz`` and ``match_m``.

    Returns:
        The pooled :class:`TrackingScores` (``recordings`` = the total).

    Raises:
        ValueError: if ``scores`` is empty or they differ in ``rate_hz`` or ``match_m``.
    """
    scores = tuple(scores)
    if not scores:
        raise ValueError("no tracking scores to combine")
    settings = {(s.rate_hz, s.match_m) for s in scores}
    if len(settings) > 1:
        raise ValueError(f"cannot combine scores made with different (rate_hz, match_m): {sorted(settings)}")
    summed: dict[str, Any] = {name: sum(getattr(s, name) for s in scores) for name in _SUMMED}
    for name in _SUMMED_PER_ALPHA:
        summed[name] = tuple(sum(col) for col in zip(*(getattr(s, name) for s in scores), strict=True))
    hands = tuple(e for s in scores for e in s.hand_errors_cm)
    return TrackingScores(rate_hz=scores[0].rate_hz, match_m=scores[0].match_m, hand_errors_cm=hands, **summed)
