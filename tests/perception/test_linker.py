from __future__ import annotations

import numpy as np

from walkout.core.frames import PersonObservations
from walkout.core.store import Gate
from walkout.perception.people import detect_crossings, link_people


def crossing_paths(swap: bool) -> PersonObservations:
    """Two people walk toward each other along x, pass 0.3 m apart; tracker ids swap mid-way."""
    t = np.arange(0, 6, 1 / 15)
    rows = []
    for k, ti in enumerate(t):
        a = (-1.5 + 0.6 * ti, 0.0, 1.70)
        b = (1.5 - 0.6 * ti, 0.3, 1.50)
        ida, idb = (7, 9) if (not swap or ti < 2.5) else (9, 7)
        rows.append((ti, ida, a))
        rows.append((ti, idb, b))
        del k
    t_s = np.array([r[0] for r in rows])
    tid = np.array([r[1] for r in rows], dtype=np.int64)
    head = np.array([r[2] for r in rows], dtype=np.float32)
    nan = np.full_like(head, np.nan)
    return PersonObservations(t_s, tid, head, nan, nan.copy())


def test_linker_survives_tracker_id_swap():
    people = link_people(crossing_paths(swap=True))
    assert len(people.ids()) == 2
    # each linked person keeps one height for the whole walk
    for pid in people.ids():
        z = people.obs.head_xyz_m[people.person == pid, 2]
        assert np.ptp(z) < 1e-6
    assert people.tangled.any()


def test_gate_crossings_entry_then_exit():
    t = np.arange(0, 12, 1 / 15)
    way_t, way_x, way_y = [0, 3, 9, 12], [-0.5, -0.5, 4.5, 4.5], [-2.8, -1.5, -1.5, -2.8]
    x, y = np.interp(t, way_t, way_x), np.interp(t, way_t, way_y)
    head = np.stack([x, y, np.full_like(t, 1.6)], axis=1).astype(np.float32)
    nan = np.full_like(head, np.nan)
    people = link_people(PersonObservations(t, np.zeros(len(t), np.int64), head, nan, nan.copy()))
    gates = (
        Gate(id="entry", kind="entry", a_xy_m=(-1.4, -2.3), b_xy_m=(0.2, -2.3), inward_xy=(0, 1)),
        Gate(id="exit", kind="exit", a_xy_m=(3.6, -2.3), b_xy_m=(5.6, -2.3), inward_xy=(0, 1)),
    )
    cr = detect_crossings(people, gates)
    assert [(c.kind, c.gate_id) for c in cr] == [("entry", "entry"), ("exit", "exit")]
    assert 1.3 < cr[0].t_s < 1.7
    assert 11.0 < cr[1].t_s < 11.4


def test_a_person_seen_again_after_a_gap_stays_the_same_person():
    """Walking at 1.2 m/s, unseen for 1.7 s (occluded), then seen standing at a shelf 0.45 m from
    where they were lost: the same person (the filter restarts from the new sighting instead of
    being dragged between its old prediction and the new position, which split the person in two)."""
    t = np.r_[np.arange(0.0, 2.0, 1 / 15), np.arange(3.7, 6.0, 1 / 15)]
    x = np.where(t < 2.0, 1.2 * t, 2.2)
    y = np.where(t < 2.0, -0.7, -0.29)
    head = np.stack([x, y, np.full_like(t, 1.68)], axis=1).astype(np.float32)
    nan = np.full_like(head, np.nan)
    people = link_people(PersonObservations(t, np.ones(len(t), np.int64), head, nan, nan.copy()))
    assert len(people.ids()) == 1
