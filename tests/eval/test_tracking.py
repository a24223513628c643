"""Tracking metrics for people tracks: HOTA, CLEAR MOT (MOTA, MOTP), IDF1 and hand error."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from walkout.eval.tracking import (
    HOTA_ALPHAS,
    MATCH_M,
    TrackingScores,
    TrackSet,
    combine_tracking_scores,
    tracking_scores,
)

RATE = 15.0
NO_HANDS = (math.nan,) * 3


def tracks(rows, hands=None) -> TrackSet:
    """A TrackSet from ``(frame k, track_id, x_m, y_m)`` rows; hands ``(n, 2, 3)`` or all NaN."""
    arr = np.array(rows, dtype=np.float64).reshape(-1, 4)
    h = np.full((len(arr), 2, 3), np.nan) if hands is None else np.asarray(hands, dtype=np.float64)
    return TrackSet(arr[:, 0] / RATE, arr[:, 1].astype(np.int64), arr[:, 2:4], h)


def walk(person: int, frames, track_id: int | None = None, dx: float = 0.0) -> list[tuple[float, ...]]:
    """Rows of a person walking along y at x = 2 * person (+ ``dx``), under ``track_id``."""
    tid = person if track_id is None else track_id
    return [(k, tid, 2.0 * person + dx, 0.1 * k) for k in frames]


def offset(ts: TrackSet, dk: int, did: int) -> TrackSet:
    """``ts`` shifted by ``dk`` frames and ``did`` track ids."""
    return TrackSet(ts.t_s + dk / RATE, ts.track_id + did, ts.xy_m, ts.hands_xyz_m)


def concat(*sets: TrackSet) -> TrackSet:
    return TrackSet(
        *(np.concatenate([getattr(s, f) for s in sets]) for f in ("t_s", "track_id", "xy_m", "hands_xyz_m"))
    )


TRUTH_2 = tracks(walk(0, range(10)) + walk(1, range(10)))


# ---------------------------------------------------------------- the basic cases


def test_perfect_tracking_scores_one():
    s = tracking_scores(TRUTH_2, tracks(walk(0, range(10), 7) + walk(1, range(10), 9)))
    assert (s.hota, s.det_a, s.ass_a, s.loc_a, s.mota, s.idf1, s.idp, s.idr) == (1.0,) * 8
    assert (s.id_switches, s.matches, s.misses, s.false_positives) == (0, 20, 0, 0)
    assert s.motp_m == 0.0
    assert (s.frames, s.truth_tracks, s.pred_tracks, s.truth_dets, s.pred_dets) == (10, 2, 2, 20, 20)


def test_fragmented_track_is_one_switch():
    """One person, the engine's id changes after frame 2 of 10: 1 switch; IDTP = 7 of 10."""
    s = tracking_scores(tracks(walk(0, range(10))), tracks(walk(0, range(3), 5) + walk(0, range(3, 10), 6)))
    assert s.id_switches == 1
    assert (s.idtp, s.idfp, s.idfn) == (7, 3, 3)
    assert s.idf1 == pytest.approx(0.7)
    assert s.mota == pytest.approx(1 - 1 / 10)
    # HOTA: every frame detected; association: 7 frames in a 10-long pair, 3 in another.
    assert s.det_a == 1.0
    assert s.ass_a == pytest.approx((7 * 7 / 10 + 3 * 3 / 10) / 10)


def test_two_people_swapping_tracks_are_two_switches():
    """motmetrics counts a switch per true person: a swap midway is 2; IDF1 = 14/20."""
    pred = tracks(walk(0, range(3), 10) + walk(1, range(3), 11) + walk(0, range(3, 10), 11) + walk(1, range(3, 10), 10))
    s = tracking_scores(TRUTH_2, pred)
    assert s.id_switches == 2
    assert (s.idtp, s.idfp, s.idfn) == (14, 6, 6)
    assert s.idf1 == pytest.approx(0.7)
    assert s.mota == pytest.approx(1 - 2 / 20)


def test_missing_detections_lower_mota_by_their_fraction():
    pred = tracks(walk(0, range(10)) + walk(1, range(6)))  # 4 of 20 true positions missed
    s = tracking_scores(TRUTH_2, pred)
    assert (s.misses, s.false_positives, s.id_switches) == (4, 0, 0)
    assert s.mota == pytest.approx(1 - 4 / 20)
    assert s.idr == pytest.approx(16 / 20)
    assert s.idp == 1.0
    assert s.det_a == pytest.approx(16 / 20)


def test_false_track_lowers_mota_and_idp():
    pred = tracks(walk(0, range(10)) + walk(1, range(10)) + walk(3, range(5), 99))  # far from both
    s = tracking_scores(TRUTH_2, pred)
    assert (s.false_positives, s.misses, s.pred_tracks) == (5, 0, 3)
    assert s.mota == pytest.approx(1 - 5 / 20)
    assert s.idp == pytest.approx(20 / 25)
    assert s.idr == 1.0


@pytest.mark.parametrize(
    ("dx", "matched"),
    [
        (0.49, True),  # just inside match_m (HOTA's similarity 0.02 is below every alpha)
        (0.5, False),  # d == match_m does not match (d < match_m)
        (0.8, False),
    ],
)
def test_positions_beyond_match_m_do_not_match(dx, matched):
    s = tracking_scores(tracks(walk(0, range(4))), tracks(walk(0, range(4), dx=dx)))
    assert s.matches == (4 if matched else 0)
    assert (s.misses, s.false_positives) == ((0, 0) if matched else (4, 4))
    assert s.mota == (1.0 if matched else 1 - 8 / 4)
    assert s.idf1 == (1.0 if matched else 0.0)
    assert s.hota == 0.0
    if matched:
        assert s.motp_m == pytest.approx(0.49)


def test_hota_localisation_over_alphas():
    """d = 0.12 m: similarity 0.76 matches for the 15 alphas 0.05 ... 0.75, not above.

    LocA_alpha is 0.76 where there are matches and, as in TrackEval, 1 where there are none."""
    s = tracking_scores(tracks(walk(0, range(5))), tracks(walk(0, range(5), dx=0.12)))
    assert s.hota_tp == (5,) * 15 + (0,) * 4
    assert s.det_a == pytest.approx(15 / 19)
    assert s.hota == pytest.approx(15 / 19)
    assert s.loc_a == pytest.approx((15 * 0.76 + 4) / 19)
    assert len(HOTA_ALPHAS) == 19
    assert s.motp_m == pytest.approx(0.12)


def test_frames_are_matched_by_rounding_time():
    truth = tracks(walk(0, range(5)))
    jittered = TrackSet(truth.t_s + 0.02, truth.track_id, truth.xy_m, truth.hands_xyz_m)  # < half a frame
    assert tracking_scores(truth, jittered).mota == 1.0
    late = TrackSet(truth.t_s + 1 / RATE, truth.track_id, truth.xy_m, truth.hands_xyz_m)
    assert tracking_scores(truth, late).matches == 4  # frames 1..4 overlap, 0.1 m apart


def test_empty_cases():
    nothing = tracking_scores(TrackSet.empty(), TrackSet.empty())
    assert (nothing.hota, nothing.mota, nothing.idf1, nothing.frames) == (1.0, 1.0, 1.0, 0)
    missed = tracking_scores(TRUTH_2, TrackSet.empty())
    assert (missed.hota, missed.ass_a, missed.mota, missed.idf1, missed.misses) == (0.0, 0.0, 0.0, 0.0, 20)
    ghost = tracking_scores(TrackSet.empty(), TRUTH_2)
    assert math.isnan(ghost.mota) and ghost.false_positives == 20 and ghost.to_dict()["mota"] is None


# ---------------------------------------------------------------- hand error


def test_hand_errors_exact():
    """Frame 0: predicted left 3 cm from the true right hand (nearer), right hand absent.
    Frame 1: both predicted hands, 4 cm and 12 cm away. Frame 2: the true hands are absent, so
    nothing is compared. Frame 3: the person is missed (no CLEAR match), nothing compared."""
    th = np.array([[[0, 0, 1], [0.5, 0, 1]]] * 4, dtype=np.float64)
    th[2] = np.nan
    truth = tracks(walk(0, range(4)), th)
    ph = [
        [[0.5, 0.03, 1], NO_HANDS],
        [[0, 0, 1.04], [0.5, 0.12, 1]],
        [[0, 0, 1], [0.5, 0, 1]],
    ]
    s = tracking_scores(truth, tracks(walk(0, range(3)), ph))
    assert s.hand_errors_cm == pytest.approx((3.0, 4.0, 12.0))
    assert s.hand_median_cm == pytest.approx(4.0)
    assert s.hand_p95_cm == pytest.approx(4.0 + 0.9 * (12.0 - 4.0))  # linear interpolation
    assert s.to_dict()["hands_compared"] == 3


def test_hands_follow_the_clear_matching_not_the_track_id():
    """Two people; the engine swaps ids midway: hands are still compared with the matched person."""
    th = [[[2.0 * p, 0.1 * k, 1.0], NO_HANDS] for p in range(2) for k in range(4)]
    truth = tracks(walk(0, range(4)) + walk(1, range(4)), th)
    rows = walk(0, range(2), 10) + walk(0, range(2, 4), 11) + walk(1, range(2), 11) + walk(1, range(2, 4), 10)
    ph = [[[2.0 * p, 0.1 * k + 0.05, 1.0], NO_HANDS] for p in range(2) for k in range(4)]
    s = tracking_scores(truth, tracks(rows, ph))
    assert s.hand_errors_cm == pytest.approx((5.0,) * 8)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("t_s", np.zeros((3, 1)), r"TrackSet\.t_s must have shape \(n,\)"),
        ("track_id", np.zeros(2, np.int64), r"TrackSet\.track_id must have shape \(n,\) = \(3,\), got \(2,\)"),
        ("track_id", np.zeros(3), r"TrackSet\.track_id must be integer, got dtype float64"),
        ("xy_m", np.zeros((3, 3)), r"TrackSet\.xy_m must have shape \(n, 2\) = \(3, 2\), got \(3, 3\)"),
        ("xy_m", np.full((3, 2), np.nan), r"TrackSet\.xy_m must be finite"),
        ("hands_xyz_m", np.zeros((3, 3)), r"TrackSet\.hands_xyz_m must have shape \(n, 2, 3\) = \(3, 2, 3\)"),
        ("hands_xyz_m", np.full((3, 2, 3), "a"), r"TrackSet\.hands_xyz_m must be numeric"),
    ],
)
def test_bad_shapes_raise_naming_the_field(field, value, message):
    good = {"t_s": np.arange(3) / RATE, "track_id": np.zeros(3, np.int64), "xy_m": np.zeros((3, 2))}
    good["hands_xyz_m"] = np.full((3, 2, 3), np.nan)
    with pytest.raises(ValueError, match=message):
        TrackSet(**(good | {field: value}))


def test_trackset_copies_and_freezes_its_arrays():
    xy = np.zeros((1, 2))
    ts = TrackSet(np.zeros(1), np.zeros(1, np.int32), xy, np.zeros((1, 2, 3)))
    xy[0, 0] = 5.0
    assert ts.xy_m[0, 0] == 0.0 and ts.track_id.dtype == np.int64
    with pytest.raises(ValueError):
        ts.xy_m[0, 0] = 1.0


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="track_id 0 more than once in frame 1"):
        tracking_scores(tracks([(1, 0, 0, 0), (1, 0, 1, 1)]), TrackSet.empty())
    with pytest.raises(ValueError, match="match_m"):
        tracking_scores(TRUTH_2, TRUTH_2, match_m=0.0)


# ---------------------------------------------------------------- combining recordings


def test_combining_recordings_keeps_their_ids_apart():
    """Both recordings call their person 0; the engine calls it 5 in one and 6 in the other."""
    truth_a, pred_a = tracks(walk(0, range(10))), tracks(walk(0, range(10), 5))
    truth_b, pred_b = tracks(walk(0, range(10))), tracks(walk(0, range(6), 6))
    a, b = tracking_scores(truth_a, pred_a), tracking_scores(truth_b, pred_b)
    both = combine_tracking_scores([a, b])
    assert (both.id_switches, both.idtp, both.idfn, both.misses, both.recordings) == (0, 16, 4, 4, 2)
    assert both.idf1 == pytest.approx(32 / 36)
    assert both.mota == pytest.approx(1 - 4 / 20)
    # ... exactly what the two sequences give when laid end to end with ids that cannot collide,
    joined = tracking_scores(concat(truth_a, offset(truth_b, 100, 1000)), concat(pred_a, offset(pred_b, 100, 1000)))
    for name in ("hota", "det_a", "ass_a", "loc_a", "mota", "motp_m", "idf1", "id_switches", "frames"):
        assert getattr(both, name) == pytest.approx(getattr(joined, name)), name
    # ... whereas colliding ids would count a switch and halve the identity matches of recording b.
    naive = tracking_scores(concat(truth_a, offset(truth_b, 100, 0)), concat(pred_a, offset(pred_b, 100, 0)))
    assert (naive.id_switches, naive.idtp) == (1, 10)


def test_combine_pools_hota_weighted_by_true_positives():
    a = tracking_scores(TRUTH_2, tracks(walk(0, range(3), 5) + walk(0, range(3, 10), 6) + walk(1, range(10))))
    b = tracking_scores(tracks(walk(0, range(4))), tracks(walk(0, range(4), dx=0.1)))
    both = combine_tracking_scores([a, b])
    tp = np.add(a.hota_tp, b.hota_tp)
    assert both.ass_a_per_alpha == pytest.approx((a.ass_a_per_alpha * a.hota_tp + b.ass_a_per_alpha * b.hota_tp) / tp)
    assert both.det_a_per_alpha == pytest.approx(
        tp / (tp + np.add(a.hota_fn, b.hota_fn) + np.add(a.hota_fp, b.hota_fp))
    )
    assert combine_tracking_scores([both]) == both


def test_combine_rejects_mixed_settings_and_nothing():
    a = tracking_scores(TRUTH_2, TRUTH_2)
    with pytest.raises(ValueError, match="match_m"):
        combine_tracking_scores([a, tracking_scores(TRUTH_2, TRUTH_2, match_m=1.0)])
    with pytest.raises(ValueError, match="no tracking scores"):
        combine_tracking_scores([])


def test_to_dict_is_strict_json():
    s = tracking_scores(TRUTH_2, TrackSet.empty())
    d = s.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["motp_m"] is None and d["hand_median_cm"] is None and d["hota"] == 0.0
    assert {"hota", "det_a", "ass_a", "mota", "motp_m", "idf1", "idp", "idr", "id_switches", "frames"} <= set(d)
    assert isinstance(s, TrackingScores) and d["match_m"] == MATCH_M


# ---------------------------------------------------------------- against the reference libraries


def scenario(crowded: bool = False) -> tuple[TrackSet, TrackSet]:
    """Four people over 60 frames with noise, a fragment, a swap, a gap, a drift and a ghost.

    Apart, nobody comes near anybody else; crowded, the four walk the same way 0.2 m apart and
    their paths cross, so people are within ``match_m`` of each other (ambiguous matches), and
    the ghost shadows person 1 (HOTA's global alignment must prefer person 1's long track).

    Deterministic arithmetic only (no random generator), so the reference numbers below stay
    valid across numpy versions.
    """
    k = np.arange(60)
    truth, pred = [], []
    for p in range(4):
        ks = k[k >= 8] if p == 3 else k  # person 3 enters at frame 8
        x = 1.0 + (0.2 if crowded else 1.5) * p + 0.4 * np.sin(0.11 * ks + p)
        y = 2.0 + 0.03 * ks * (1 if crowded else (-1) ** p) + 0.3 * np.cos(0.07 * ks + 2 * p)
        truth += [(kk, p, xx, yy) for kk, xx, yy in zip(ks, x, y, strict=True)]
        noise_m = 0.08 if crowded else 0.12
        ex, ey = noise_m * np.sin(1.3 * ks + 0.7 * p), noise_m * np.cos(0.9 * ks + 1.1 * p)
        for kk, xx, yy, a, b in zip(ks, x, y, ex, ey, strict=True):
            tid = 100 + p
            if p == 0 and kk >= 25:
                tid = 107  # fragment
            if p in (1, 2) and kk >= 40:
                tid = 103 - p  # 101 <-> 102 swap
            if p == 3 and 10 <= kk < 20:
                continue  # missed
            drift = 0.6 if p == 3 and kk >= 50 else 0.0  # beyond match_m
            pred.append((kk, tid, xx + a + drift, yy + b))
    # a ghost: far away, or (crowded) 0.1 m from person 1, often nearer than person 1's own track
    near = [(kk, 200, x + 0.1, y) for kk, p, x, y in truth if p == 1 and 5 <= kk < 15]
    pred += near if crowded else [(kk, 200, 9.0, 9.0 + 0.05 * kk) for kk in range(5, 15)]
    return tracks(truth), tracks(pred)


# Produced with TrackEval 1.3.0 (the maintained fork on the registry; `pip install --no-deps
# trackeval` in a scratch virtualenv, numpy 2.4.6, scipy 1.17.1): trackeval.metrics.HOTA / CLEAR /
# Identity ``eval_sequence`` on the data dict of each scenario (gt and tracker ids made dense;
# similarity max(0, 1 - d / 0.5) for HOTA; max(0, 1 - d / 1.0) with the default THRESHOLD 0.5,
# i.e. d <= 0.5 m, for CLEAR and Identity; no distance in either scenario is within 1e-5 m of
# 0.5 m, so <= and < agree), and ``combine_sequences`` over both for "combined". HOTA, DetA, AssA
# and LocA are np.mean over the 19 alphas. Our MOTA / IDF1 come from motmetrics 1.4.0 and HOTA
# from our own code; all agree with TrackEval to the last bit. In the crowded scenario a
# similarity-only HOTA matching (no global alignment) would give 0.4932 instead of 0.5223.
TRACKEVAL = {
    "apart": {
        "hota": 0.47049085887093606,
        "det_a": 0.6398113177226774,
        "ass_a": 0.34615853080792475,
        "loc_a": 0.8029791232499227,
        "mota": 0.8318965517241379,
        "id_switches": 3,
        "matches": 214,
        "misses": 18,
        "false_positives": 18,
        "idtp": 149,
        "idfp": 83,
        "idfn": 83,
        "idf1": 0.6422413793103449,
    },
    "crowded": {
        "hota": 0.5223413697207223,
        "det_a": 0.7116077388339663,
        "ass_a": 0.384120513080178,
        "loc_a": 0.8590420339991106,
        "mota": 0.8146551724137931,
        "id_switches": 3,
        "matches": 212,
        "misses": 20,
        "false_positives": 20,
        "idtp": 167,
        "idfp": 65,
        "idfn": 65,
        "idf1": 0.7198275862068966,
    },
    "combined": {
        "hota": 0.49872635411501626,
        "det_a": 0.6712056141131144,
        "ass_a": 0.37234823773477027,
        "loc_a": 0.8304488606940863,
        "mota": 0.8232758620689655,
        "id_switches": 6,
        "matches": 426,
        "misses": 38,
        "false_positives": 38,
        "idtp": 316,
        "idfp": 148,
        "idfn": 148,
        "idf1": 0.6810344827586207,
    },
}


@pytest.mark.parametrize("case", sorted(TRACKEVAL))
def test_scores_agree_with_trackeval_reference(case):
    apart, crowded = tracking_scores(*scenario()), tracking_scores(*scenario(crowded=True))
    s = {"apart": apart, "crowded": crowded, "combined": combine_tracking_scores([apart, crowded])}[case]
    for name, want in TRACKEVAL[case].items():
        assert getattr(s, name) == pytest.approx(want, rel=1e-12, abs=1e-12), name
