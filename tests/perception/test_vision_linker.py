"""The vision linker keeps identities through crossings and re-identifies after tangles."""

from __future__ import annotations

import numpy as np
import pytest

from walkout.perception.people.tracker import Appearance, FrameDetections, Linker, TrackerParams, appearance_distance

RED = np.zeros(36, np.float32)
RED[0] = 1.0
BLUE = np.zeros(36, np.float32)
BLUE[24] = 1.0


def _run(paths: np.ndarray, apps: list[Appearance], params: TrackerParams = TrackerParams(),
         drop: set[tuple[int, int]] = frozenset()) -> tuple[np.ndarray, Linker]:
    """paths (frames, people, 2) -> (frames, people) track ids (0 = unassigned)."""
    n_f, n_p = paths.shape[:2]
    linker = Linker(15.0, params)
    rows = np.full((n_f, n_p), -1)
    r = 0
    for f in range(n_f):
        sel = [i for i in range(n_p) if (f, i) not in drop]
        rows[f, sel] = np.arange(r, r + len(sel))
        det = FrameDetections(paths[f, sel], np.ones(len(sel), bool), [apps[i] for i in sel],
                              np.arange(r, r + len(sel), dtype=np.int64))
        linker.step(f, det)
        r += len(sel)
    assigned, _ = linker.result()
    ids = np.vectorize(lambda x: assigned.get(int(x), 0))(rows)
    return ids, linker


def _walk(a: tuple[float, float], b: tuple[float, float], n: int) -> np.ndarray:
    return np.linspace(a, b, n)


def test_two_walkers_keep_their_ids_when_paths_cross():
    n = 60  # 4 s at 15 fps, crossing at 1.2 m/s
    paths = np.stack([_walk((0, 0), (4.8, 0), n), _walk((4.8, 0.35), (0, 0.35), n)], axis=1)
    same = Appearance(1.75, 0.2, RED)
    ids, _ = _run(paths, [same, same])
    assert (ids[5:, 0] == ids[5, 0]).all() and (ids[5:, 1] == ids[5, 1]).all()
    assert ids[5, 0] != ids[5, 1]


def _meet_and_part(params: TrackerParams) -> tuple[np.ndarray, Linker]:
    """Two people meet at one spot, stand there, and part; while together their detections are
    indistinguishable by position, and are listed in reverse order so that motion alone hands
    each track the wrong person when they part."""
    n_in, n_stay, n_out = 20, 30, 20
    a = np.concatenate([_walk((0, 0), (1.1, 0), n_in), np.full((n_stay, 2), (1.1, 0.0)), _walk((1.1, 0.0), (1.1, 1.5), n_out)])
    b = np.concatenate([_walk((2.2, 0), (1.1, 0), n_in), np.full((n_stay, 2), (1.1, 0.0)), _walk((1.1, 0.0), (1.1, -1.5), n_out)])
    apps = [Appearance(1.90, 0.22, RED), Appearance(1.60, 0.17, BLUE)]
    linker = Linker(15.0, params)
    rows = np.zeros((len(a), 2), dtype=np.int64)
    for f in range(len(a)):
        order = [0, 1] if f < n_in else [1, 0]
        rows[f, order] = [2 * f, 2 * f + 1]
        pts = np.stack([a, b], axis=1)[f, order]
        linker.step(f, FrameDetections(pts, np.ones(2, bool), [apps[i] for i in order], np.array([2 * f, 2 * f + 1])))
    assigned, _ = linker.result()
    return np.vectorize(lambda x: assigned.get(int(x), 0))(rows), linker


def test_tangle_then_swap_is_undone_by_appearance():
    ids, linker = _meet_and_part(TrackerParams())
    assert ids[10, 0] != ids[10, 1]
    assert ids[-1, 0] == ids[10, 0], "the tall person in red keeps the id from before the tangle"
    assert ids[-1, 1] == ids[10, 1]
    assert len(linker.swaps) == 2


def test_without_reidentification_the_ids_would_be_swapped():
    ids, linker = _meet_and_part(TrackerParams(swap_margin=1e9))
    assert ids[-1, 0] == ids[10, 1] and ids[-1, 1] == ids[10, 0]
    assert linker.swaps == []


def test_tangled_rows_are_flagged():
    n = 40
    a = _walk((0, 0), (2.0, 0), n)
    b = _walk((0, 0.4), (2.0, 0.4), n)  # walking side by side 0.4 m apart
    linker = Linker(15.0)
    for f in range(n):
        linker.step(f, FrameDetections(np.stack([a[f], b[f]]), np.ones(2, bool),
                                       [Appearance(1.8, 0.2, RED), Appearance(1.6, 0.2, BLUE)],
                                       np.array([2 * f, 2 * f + 1])))
    assigned, tangled = linker.result()
    confirmed = set(assigned)
    assert len(tangled & confirmed) >= 0.8 * len(confirmed)


def test_lost_track_is_revived_after_a_short_gap():
    n = 60
    path = _walk((0, 0), (3.0, 0), n)[:, None, :]
    drop = {(f, 0) for f in range(25, 40)}  # 1 s unseen
    ids, _ = _run(path, [Appearance(1.7, 0.2, RED)], drop=drop)
    seen = ids[:, 0][ids[:, 0] > 0]
    assert len(set(seen.tolist())) == 1


def test_single_noise_detection_never_becomes_a_track():
    linker = Linker(15.0)
    linker.step(0, FrameDetections(np.array([[1.0, 1.0]]), np.ones(1, bool), [Appearance(1.7, 0.2, RED)], np.array([0])))
    for f in range(1, 20):
        linker.step(f, FrameDetections(np.empty((0, 2)), np.ones(0, bool), [], np.empty(0, np.int64)))
    assert linker.result()[0] == {}


def test_a_second_detection_next_to_a_tracked_person_does_not_take_over_their_track():
    n = 40  # a shopper standing at a shelf; from frame 10 an arm raised high gives a 2nd detection
    linker = Linker(15.0)
    body, arm = np.array([2.0, -0.3]), np.array([2.05, -0.1])
    for f in range(n):
        xy = [body] if f < 10 else [body + np.array([0.01 * (f % 2), 0.0]), arm]
        rows = np.arange(2 * f, 2 * f + len(xy), dtype=np.int64)
        linker.step(f, FrameDetections(np.array(xy), np.ones(len(xy), bool), [Appearance(1.7, 0.2, RED)] * len(xy),
                                       rows))
    assigned, _ = linker.result()
    assert set(assigned.values()) == {1}  # no second id
    assert all(assigned.get(2 * f) == 1 for f in range(n))  # the person keeps their id throughout


@pytest.mark.parametrize(("a", "b", "close"), [
    (Appearance(1.8, 0.2, RED), Appearance(1.8, 0.2, RED), True),
    (Appearance(1.8, 0.2, RED), Appearance(1.6, 0.2, RED), False),
    (Appearance(1.8, 0.2, RED), Appearance(1.8, 0.2, BLUE), False),
])
def test_appearance_distance(a, b, close):
    assert (appearance_distance(a, b) < 1.0) is close
