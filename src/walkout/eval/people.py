"""Score the engine's vision tracks against the simulator's body truth (tracking metrics).

Truth position of a person: the mean floor position of their neck and pelvis (the torso centre);
the engine's: the torso centre its locator measured. Truth hands are the simulator's left and
right hand keypoints; predicted hands are the traced (extended) hands, NaN when not extended.
"""

from __future__ import annotations

import numpy as np

from walkout.eval.tracking import TrackingScores, TrackSet, tracking_scores
from walkout.perception.people.vision import VisionPeople
from walkout.sim.body import BodyTruth


def truth_trackset(body: BodyTruth) -> TrackSet:
    """One row per (frame, present shopper); track id = the shopper's index in the truth."""
    k, s = np.nonzero(body.present)
    torso = 0.5 * (body.keypoint("neck") + body.keypoint("pelvis"))
    hands = np.stack([body.keypoint("left_hand"), body.keypoint("right_hand")], axis=2)
    return TrackSet(t_s=body.t_s[k], track_id=s.astype(np.int64), xy_m=torso[k, s, :2], hands_xyz_m=hands[k, s])


def pred_trackset(vision: VisionPeople) -> TrackSet:
    """One row per (frame, track) of the engine's vision output."""
    return TrackSet(
        t_s=vision.observations.t_s,
        track_id=vision.observations.track_id,
        xy_m=vision.body_xy_m.astype(np.float64),
        hands_xyz_m=vision.hands_xyz_m.astype(np.float64),
    )


def score_vision(vision: VisionPeople, body: BodyTruth, match_m: float = 0.5) -> TrackingScores:
    """HOTA / MOTA / IDF1 / ID switches / hand error of one recording's vision tracks.

    Args:
        vision: the engine's tracks (``RunResult.vision``).
        body: the simulator's body truth on the same 15 Hz clock.
        match_m: floor distance within which a track may match a person.
    """
    return tracking_scores(truth_trackset(body), pred_trackset(vision), match_m=match_m)
